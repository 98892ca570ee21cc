import { useEffect, useState } from "react";

/**
 * The current time, refreshed every `intervalMs` while `enabled`. Used for countdowns; the
 * timer lives in the component that needs it, never in a store.
 */
export function useNow(intervalMs: number, enabled = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, enabled]);
  return now;
}
