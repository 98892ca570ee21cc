import { useEffect } from "react";
import type { RollingSample } from "../store/rollingWindow";
import { useServerListStore } from "../store/serverListStore";

const NO_SAMPLES: readonly RollingSample[] = [];

/**
 * The rolling window of `serverId` for its live charts. Only servers on screen keep one: this
 * watches the server while the calling component is mounted and releases it when it goes.
 */
export function useLiveWindow(serverId: number): readonly RollingSample[] {
  const watchServer = useServerListStore((state) => state.watchServer);
  useEffect(() => watchServer(serverId), [serverId, watchServer]);
  return useServerListStore((state) => state.history.get(serverId)) ?? NO_SAMPLES;
}
