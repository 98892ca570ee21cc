/**
 * A TCP proxy in front of the daemon that can make a live feed go silent: it forwards every
 * connection as is, except that the next `count` WebSocket connections to `/ws/servers` get
 * the daemon's real handshake and first list, and then nothing at all. Their sockets stay open
 * and nothing is closed towards the browser, which is what a dead path (a dropped NAT entry, a
 * proxy that stopped forwarding) looks like from the page.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

const HEAD_END = "\r\n\r\n";

/**
 * Passes on the daemon's bytes up to the end of its first text frame (the first list; a ping
 * may come before it), then swallows the rest.
 */
function untilFirstList(client: Socket): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let headDone = false;
  let quiet = false;
  return (chunk) => {
    if (quiet) return;
    pending = Buffer.concat([pending, chunk]);
    if (!headDone) {
      const end = pending.indexOf(HEAD_END);
      if (end < 0) return;
      client.write(pending.subarray(0, end + HEAD_END.length));
      pending = pending.subarray(end + HEAD_END.length);
      headDone = true;
    }
    // Server frames: 2 header bytes, then a 16- or 64-bit length when the 7-bit one is 126 or 127.
    while (!quiet && pending.length >= 2) {
      const opcode = pending[0]! & 0x0f;
      const short = pending[1]! & 0x7f;
      const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
      if (pending.length < 2 + lengthBytes) return;
      const payload =
        short === 126 ? pending.readUInt16BE(2) : short === 127 ? Number(pending.readBigUInt64BE(2)) : short;
      const frameEnd = 2 + lengthBytes + payload;
      if (pending.length < frameEnd) return;
      client.write(pending.subarray(0, frameEnd));
      pending = pending.subarray(frameEnd);
      quiet = opcode === 0x1;
    }
  };
}

export class QuietProxy {
  /** WebSocket connections that went quiet so far. */
  quieted = 0;
  private quietLeft = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<QuietProxy> {
    let proxy: QuietProxy | null = null;
    const server = createServer((client) => proxy!.handle(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy got no port");
    proxy = new QuietProxy(server, address.port);
    return proxy;
  }

  /** The dashboard's origin through this proxy (the daemon accepts IP-literal hosts). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` live-feed connections go quiet after their first list. */
  quietNext(count: number): void {
    this.quietLeft = count;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    // Resets from either side end that connection only, never the test.
    socket.on("error", () => socket.destroy());
  }

  private handle(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, "127.0.0.1");
    this.track(client);
    this.track(upstream);
    let head: Buffer | null = Buffer.alloc(0);
    let quiet = false;
    client.on("data", (chunk) => {
      if (head === null) {
        upstream.write(chunk);
        return;
      }
      // The request line decides what this connection is.
      head = Buffer.concat([head, chunk]);
      if (!head.includes("\r\n")) return;
      quiet = head.toString("latin1").startsWith("GET /ws/servers") && this.quietLeft > 0;
      if (quiet) {
        this.quietLeft -= 1;
        this.quieted += 1;
        upstream.on("data", untilFirstList(client));
      } else {
        upstream.on("data", (data) => client.write(data));
      }
      upstream.write(head);
      head = null;
    });
    client.on("close", () => upstream.destroy());
    // A quiet path never tells the browser that the far end went away.
    upstream.on("close", () => {
      if (!quiet) client.destroy();
    });
  }
}
