import { useMemo } from "react";
import { useNow } from "./useNow";

/**
 * "Now" on the daemon's clock, ticking every `intervalMs`. "Last seen" compares daemon
 * timestamps, so a browser whose clock is off by a minute must not report every server as a
 * minute stale. The offset is re-measured on each push; it includes the push's transit time,
 * which is well under the 10 s granularity of the labels.
 */
export function useDaemonNow(generatedAt: string | null, intervalMs = 5000): number {
  const now = useNow(intervalMs);
  const offsetMs = useMemo(() => {
    if (generatedAt === null) return 0;
    const daemonTime = Date.parse(generatedAt);
    return Number.isNaN(daemonTime) ? 0 : Date.now() - daemonTime;
  }, [generatedAt]);
  return now - offsetMs;
}
