import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export type Outage = 'reset' | 'silent' | 'mute';

/**
 * A TCP proxy in front of the test database, to stage outages with real
 * sockets. `reset`: every open connection and every new one is reset (what a
 * restart or failover looks like to pg). `silent`: nothing flows any more and
 * new connections are accepted but never answered (a partition, a load
 * balancer dropping packets): only timeouts notice. `mute`: requests still
 * reach the database but its answers are lost, so writes commit without
 * Warbler knowing; new connections are held as in `silent`. restore() lets
 * new connections through again; the ones held during the outage are dropped.
 */
export async function startDbProxy(target: { host: string; port: number }): Promise<{
  port: number;
  fail: (outage: Outage) => void;
  restore: () => void;
  close: () => Promise<void>;
}> {
  let outage: Outage | undefined;
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  /** Each database-side socket and the Warbler-side one it answers to. */
  const answers = new Map<Socket, Socket>();
  const server = createServer((client) => {
    if (outage === 'reset') return client.resetAndDestroy();
    client.on('error', () => {});
    if (outage === 'silent' || outage === 'mute') {
      held.add(client);
      return;
    }
    const upstream = connect(target.port, target.host);
    answers.set(upstream, client);
    upstream.on('close', () => answers.delete(upstream));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      open.add(a);
      a.on('close', () => {
        open.delete(a);
        b.destroy();
      });
      a.on('error', () => b.destroy());
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    fail(kind) {
      outage = kind;
      if (kind === 'mute') {
        for (const [upstream, client] of answers) {
          upstream.unpipe(client);
          upstream.on('data', () => {});
          held.add(client);
          held.add(upstream);
        }
        return;
      }
      for (const socket of open) {
        if (kind === 'reset') {
          socket.resetAndDestroy();
        } else {
          socket.unpipe();
          socket.pause();
          held.add(socket);
        }
      }
      if (kind === 'silent') open.clear();
    },
    restore() {
      outage = undefined;
      for (const socket of held) socket.destroy();
      held.clear();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of [...open, ...held]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
