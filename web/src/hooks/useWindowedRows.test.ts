// @vitest-environment node
import { describe, expect, it } from "vitest";
import { computeRowWindow } from "./useWindowedRows";

const base = { count: 1000, rowHeight: 50, viewportHeight: 500, overscan: 5, chunk: 5 };

describe("computeRowWindow", () => {
  it("at the top renders the visible rows plus overscan, padding the rest", () => {
    expect(computeRowWindow({ ...base, viewportTop: 0 })).toEqual({
      start: 0,
      end: 15,
      padTop: 0,
      padBottom: 985 * 50,
    });
  });

  it("while the list is still below the viewport top, starts at 0", () => {
    expect(computeRowWindow({ ...base, viewportTop: -300 }).start).toBe(0);
  });

  it("in the middle renders around the viewport and pads both sides", () => {
    const window = computeRowWindow({ ...base, viewportTop: 10_000 });
    expect(window.start).toBe(195);
    expect(window.end).toBe(215);
    expect(window.padTop).toBe(195 * 50);
    expect(window.padBottom).toBe((1000 - 215) * 50);
  });

  it("keeps total height constant: rendered rows plus padding cover the whole list", () => {
    for (const viewportTop of [0, 777, 12_345, 49_000, 80_000]) {
      const w = computeRowWindow({ ...base, viewportTop });
      expect(w.padTop + (w.end - w.start) * 50 + w.padBottom).toBe(1000 * 50);
    }
  });

  it("snaps to chunks so that a small scroll does not move the window", () => {
    const a = computeRowWindow({ ...base, viewportTop: 10_010 });
    const b = computeRowWindow({ ...base, viewportTop: 10_040 });
    expect(b).toEqual(a);
    expect(computeRowWindow({ ...base, viewportTop: 10_300 })).not.toEqual(a);
  });

  it("past the end renders nothing and pads the whole list", () => {
    const w = computeRowWindow({ ...base, count: 10, viewportTop: 100_000 });
    expect(w.end - w.start).toBe(0);
    expect(w.padTop + w.padBottom).toBe(500);
  });

  it("falls back to an estimate when no height could be measured", () => {
    const w = computeRowWindow({ ...base, rowHeight: 0, viewportTop: 0 });
    expect(w.end).toBeGreaterThan(0);
    expect(w.end).toBeLessThan(100);
  });
});
