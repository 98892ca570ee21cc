/** The live-list frames a page receives over its WebSocket, as the page itself sees them. */
import type { Page } from "playwright-core";
import { isV2Message, V2ListState } from "../../src/services/v2Feed";
import type { FullServerListPushType, LatestPerformanceMetric } from "../../src/types";

export class PushLog {
  readonly pushes: FullServerListPushType[] = [];

  /**
   * Starts recording every list `page` receives from now on: each `fullServerList` frame
   * (monitord.v1), or the list each monitord.v2 snapshot and delta make, as the page builds it.
   */
  static attach(page: Page): PushLog {
    const log = new PushLog();
    page.on("websocket", (socket) => {
      const v2 = new V2ListState();
      socket.on("framereceived", ({ payload }) => {
        const message = JSON.parse(payload.toString()) as unknown;
        if (isV2Message(message)) {
          const list = v2.apply(message, new Date().toISOString());
          if (typeof list !== "string") log.pushes.push(list);
        } else if ((message as FullServerListPushType).type === "fullServerList") {
          log.pushes.push(message as FullServerListPushType);
        }
      });
    });
    return log;
  }

  /** Server `id`'s newest sample in each push received since push number `from`, oldest first. */
  samples(id: number, from = 0): LatestPerformanceMetric[] {
    return this.pushes
      .slice(from)
      .map((push) => push.servers.find((server) => server.id === id)?.latestMetrics ?? null)
      .filter((sample): sample is LatestPerformanceMetric => sample !== null);
  }
}

/** `values` without consecutive repeats: [a, a, b, a] → [a, b, a]. */
export function changes<T>(values: readonly T[]): T[] {
  return values.filter((value, index) => index === 0 || value !== values[index - 1]);
}
