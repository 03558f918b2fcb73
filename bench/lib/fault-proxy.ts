import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of one client, through which the chaos run hurts its network without
 * touching the client's code: every connection it accepts goes to a server port chosen then
 * (so a reconnect may land on any process), and it can cut every connection, stall what the
 * server sends, or refuse every connection for a while.
 *
 * @example
 * const proxy = await startFaultProxy(() => pick(serverPorts));
 * new ChatClient({ url: `http://127.0.0.1:${proxy.port}`, room, … });
 * proxy.cut();          // like a network cut: both ends see the connection die
 * proxy.stall(2000);    // the client reads nothing for 2 s; the server's buffer fills
 * proxy.refuse(5000);   // down for 5 s: every attempt fails, then it catches up
 */
export interface FaultProxy {
  readonly port: number;
  /** Destroys every connection through the proxy. */
  cut(): void;
  /** Stops forwarding what the servers send for `ms` (TCP backpressure reaches the server). */
  stall(ms: number): void;
  /** Cuts every connection and refuses new ones for `ms`. */
  refuse(ms: number): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** True while what the server sends flows on to the client. */
  flowing: boolean;
}

function flow(link: Link, on: boolean): void {
  if (on === link.flowing || link.client.destroyed) return;
  link.flowing = on;
  if (on) {
    link.upstream.pipe(link.client);
  } else {
    link.upstream.unpipe(link.client);
    link.upstream.pause();
  }
}

/** Starts a proxy on a free port of 127.0.0.1; `target()` names the server port of each new connection. */
export async function startFaultProxy(target: () => number): Promise<FaultProxy> {
  const links = new Set<Link>();
  let refusingUntil = 0;
  let stalledUntil = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const server: Server = createServer((client) => {
    if (Date.now() < refusingUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(target(), '127.0.0.1');
    const link: Link = { client, upstream, flowing: false };
    links.add(link);
    const done = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    if (Date.now() < stalledUntil) upstream.pause();
    else flow(link, true);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  const resumeAll = () => {
    if (Date.now() < stalledUntil) return;
    for (const link of links) flow(link, true);
  };

  const cut = () => {
    for (const { client, upstream } of [...links]) {
      client.destroy();
      upstream.destroy();
    }
  };

  return {
    port: (server.address() as AddressInfo).port,
    cut,
    stall(ms) {
      stalledUntil = Math.max(stalledUntil, Date.now() + ms);
      for (const link of links) flow(link, false);
      later(ms + 1, resumeAll);
    },
    refuse(ms) {
      refusingUntil = Math.max(refusingUntil, Date.now() + ms);
      cut();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
