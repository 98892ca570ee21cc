/** A scriptable stand-in for the browser WebSocket: tests fire its events by hand. */
import type { WebSocketLike } from "../services/websocketService";

export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];

  static reset(): void {
    FakeWebSocket.instances = [];
  }

  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (socket === undefined) throw new Error("no FakeWebSocket was created");
    return socket;
  }

  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  readonly closeCalls: Array<{ code: number | undefined; reason: string | undefined }> = [];

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWebSocket.instances.push(this);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
  }

  open(): void {
    this.onopen?.(new Event("open"));
  }

  receive(data: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The peer (or the network) closed the connection. */
  closeWith(code: number, reason = ""): void {
    this.onclose?.(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
  }

  /** What a browser does when the connection attempt fails: error, then close 1006. */
  fail(): void {
    this.onerror?.(new Event("error"));
    this.closeWith(1006);
  }
}

export const fakeWebSocketFactory = (url: string, protocols: string[]): FakeWebSocket =>
  new FakeWebSocket(url, protocols);
