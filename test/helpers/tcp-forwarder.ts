/**
 * A TCP forwarder on a port of the test's own to a real server (the run's Temporal dev server): `stop()` makes the
 * server look down to whoever dials the port (listener closed, open sockets cut), `start()` brings it back on the
 * same port. Cheaper than a second Temporal server, and the protocol on the wire is the real one.
 */
import net from 'node:net';

export class TcpForwarder {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private accepted = 0;

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections accepted since the forwarder was made (over every start), e.g. to check a client opened none. */
  get connections(): number {
    return this.accepted;
  }

  static toAddress(port: number, address: string): TcpForwarder {
    const [host, targetPort] = address.split(':');
    return new TcpForwarder(port, { host: host!, port: Number(targetPort) });
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      this.accepted += 1;
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
