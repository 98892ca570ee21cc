/** The live-list frames a page receives over its WebSocket, as the page itself sees them. */
import type { Page } from "playwright-core";
import type { FullServerListPushType, LatestPerformanceMetric } from "../../src/types";

export class PushLog {
  readonly pushes: FullServerListPushType[] = [];

  /** Starts recording every `fullServerList` frame `page` receives from now on. */
  static attach(page: Page): PushLog {
    const log = new PushLog();
    page.on("websocket", (socket) => {
      socket.on("framereceived", ({ payload }) => {
        const message = JSON.parse(payload.toString()) as FullServerListPushType;
        if (message.type === "fullServerList") log.pushes.push(message);
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
