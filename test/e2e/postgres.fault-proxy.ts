/**
 * A TCP proxy in front of the test's PostgreSQL that can lose one reply: the
 * statement reaches the server and is committed, and the connection breaks
 * before its answer comes back — what a client sees when the network or the
 * server's host fails at the wrong moment.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class FaultProxy {
  private marker?: Buffer;
  private readonly sockets = new Set<Socket>();
  /** Replies lost so far. */
  lost = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    const pending: Socket[] = [];
    const proxy: { current?: FaultProxy } = {};
    const server = createServer((client) =>
      proxy.current ? proxy.current.pipe(client, targetPort) : pending.push(client),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.current = new FaultProxy(server, (server.address() as { port: number }).port);
    for (const client of pending) proxy.current.pipe(client, targetPort);
    return proxy.current;
  }

  /** The next statement whose text contains `marker` runs, and its reply is lost with its connection. */
  loseReplyTo(marker: string): void {
    this.marker = Buffer.from(marker);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let doomed = false;
    client.on('data', (chunk: Buffer) => {
      if (this.marker && chunk.includes(this.marker)) {
        this.marker = undefined;
        doomed = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!doomed) {
        client.write(chunk);
        return;
      }
      // The server answered, so it has run (and committed) the statement.
      this.lost++;
      client.destroy();
      upstream.destroy();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
