import { useEffect, useRef, useState, type RefObject } from "react";

/**
 * Row windowing for long lists: only the rows near the viewport are rendered, with spacers
 * standing in for the rest.
 *
 * Measured on the 1000-server list in headless Chromium: rendering every row made each push
 * cost ~100 ms of React work (every online server's row changes on every push), blocking
 * scrolling and typing. Windowing keeps that to the ~40 rows on screen. Lists up to
 * {@link WINDOWING_THRESHOLD} rows are rendered whole, so browser find (Ctrl+F) still works
 * for small fleets.
 *
 * The page itself scrolls (no inner scroll box), so the visible part of the list is derived
 * from the list body's position in the viewport. Rows are assumed equally tall (the CSS keeps
 * them to fixed lines); the height is measured from two rendered rows, so the wide table and
 * the phone card layout both work.
 */

export const WINDOWING_THRESHOLD = 150;
/** Before anything is measured (and in jsdom, which has no layout). */
export const ESTIMATED_ROW_HEIGHT = 53;
const OVERSCAN_ROWS = 12;
/** Window edges snap to multiples of this, so small scrolls do not re-render. */
const CHUNK_ROWS = 8;

export interface RowWindow {
  /** First rendered index. */
  start: number;
  /** One past the last rendered index. */
  end: number;
  /** Height standing in for the rows before `start`, and after `end`. */
  padTop: number;
  padBottom: number;
}

export interface WindowInput {
  count: number;
  rowHeight: number;
  /** How far the list's top edge is above the viewport's top (negative: below it). */
  viewportTop: number;
  viewportHeight: number;
  overscan?: number;
  chunk?: number;
}

export function computeRowWindow({
  count,
  rowHeight,
  viewportTop,
  viewportHeight,
  overscan = OVERSCAN_ROWS,
  chunk = CHUNK_ROWS,
}: WindowInput): RowWindow {
  const height = rowHeight > 0 ? rowHeight : ESTIMATED_ROW_HEIGHT;
  const firstVisible = Math.floor(Math.max(0, viewportTop) / height);
  const lastVisible = Math.ceil(Math.max(0, viewportTop + viewportHeight) / height);
  let start = Math.max(0, firstVisible - overscan);
  start -= start % chunk;
  start = Math.min(start, count);
  let end = Math.min(count, Math.ceil((lastVisible + overscan) / chunk) * chunk);
  end = Math.max(end, start);
  return { start, end, padTop: start * height, padBottom: (count - end) * height };
}

interface Measurements {
  viewportTop: number;
  viewportHeight: number;
  rowHeight: number;
}

function sameWindow(a: RowWindow, b: RowWindow): boolean {
  return a.start === b.start && a.end === b.end && a.padTop === b.padTop && a.padBottom === b.padBottom;
}

/**
 * The slice of `count` rows to render inside `bodyRef` (a tbody whose rows carry
 * `rowSelector`). Re-measures on scroll and resize, at most once per animation frame, and
 * re-renders only when the window actually moves.
 */
export function useWindowedRows(
  count: number,
  bodyRef: RefObject<HTMLElement | null>,
  rowSelector: string,
): RowWindow {
  const enabled = count > WINDOWING_THRESHOLD;
  const [measurements, setMeasurements] = useState<Measurements>(() => ({
    viewportTop: 0,
    viewportHeight: typeof window === "undefined" ? 800 : window.innerHeight,
    rowHeight: ESTIMATED_ROW_HEIGHT,
  }));
  const latest = useRef({ count, measurements });
  latest.current = { count, measurements };

  useEffect(() => {
    if (!enabled) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const body = bodyRef.current;
      if (body === null) return;
      const previous = latest.current.measurements;
      let rowHeight = previous.rowHeight;
      const rows = body.querySelectorAll<HTMLElement>(rowSelector);
      if (rows.length >= 2) {
        const measured = rows[1]!.getBoundingClientRect().top - rows[0]!.getBoundingClientRect().top;
        if (measured > 0) rowHeight = measured;
      }
      const next: Measurements = {
        viewportTop: -body.getBoundingClientRect().top,
        viewportHeight: window.innerHeight,
        rowHeight,
      };
      const currentCount = latest.current.count;
      if (
        next.rowHeight !== previous.rowHeight ||
        !sameWindow(
          computeRowWindow({ count: currentCount, ...previous }),
          computeRowWindow({ count: currentCount, ...next }),
        )
      ) {
        setMeasurements(next);
      }
    };
    const schedule = () => {
      if (frame === 0) frame = requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    return () => {
      if (frame !== 0) cancelAnimationFrame(frame);
      window.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", schedule);
    };
    // Re-measure when the list length changes (filtering can move the list under the viewport).
  }, [enabled, bodyRef, rowSelector, count]);

  if (!enabled) return { start: 0, end: count, padTop: 0, padBottom: 0 };
  return computeRowWindow({ count, ...measurements });
}
