import type { AddressInfo } from 'node:net';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { remoteExecutor } from '../../src/gateway/executors.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * The gateway's subscriptions to a subgraph service over graphql-ws, when the socket between them
 * drops (a subgraph restarting, a network cut: here a TCP proxy that cuts every connection): the
 * gateway's side of the stream goes on with each event once, the ones committed while the socket
 * was down included. The subgraph is a graphql-ws server with the resume contract of the real
 * ones: `after` replays the events since that eventId, and without it a stream starts at the
 * newest event.
 */

interface Tick {
  eventId: string;
  n: number;
}

/** A subgraph service's events and its graphql-ws endpoint. */
async function startSubgraph() {
  const events: Tick[] = [];
  const wakers = new Set<() => void>();
  let subscribes = 0;
  let sockets = 0;
  const schema = buildSchema(`
    type Tick { eventId: ID! n: Int! }
    type Query { ok: Boolean }
    type Subscription { ticks(after: ID): Tick! }
  `);
  async function* ticks({ after }: { after?: string | null }): AsyncGenerator<{ ticks: Tick }> {
    // Ids are positions in the log, from 1; without `after`, from the newest on.
    let next = after == null ? events.length : Number(after);
    let wake!: () => void;
    const waker = () => wake?.();
    wakers.add(waker);
    try {
      for (;;) {
        while (next < events.length) yield { ticks: events[next++]! };
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      wakers.delete(waker);
    }
  }
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (socket) => {
    sockets++;
    socket.once('close', () => sockets--);
  });
  const server = useServer(
    {
      schema,
      roots: { subscription: { ticks } },
      onSubscribe: () => {
        subscribes++;
      },
    },
    wss,
  );
  return {
    port: (wss.address() as AddressInfo).port,
    get subscribes() {
      return subscribes;
    },
    get sockets() {
      return sockets;
    },
    commit(n: number): void {
      events.push({ eventId: String(events.length + 1), n });
      for (const w of [...wakers]) w();
    },
    /** What a subgraph service does when it drains to restart: each socket closes with 1001. */
    goingAway(): void {
      for (const socket of wss.clients) socket.close(1001, 'Going away');
    },
    async close() {
      await server.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** Resolves once `predicate` holds (checked every 20 ms); rejects after `ms` with `what()`. */
async function until(predicate: () => boolean, what: () => string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Subgraph = Awaited<ReturnType<typeof startSubgraph>>;
/** A subgraph service restarting (its sockets close with 1001), or the network between them failing. */
type Drop = 'restart' | 'network';
const DROPS: [string, Drop][] = [
  ['the subgraph restarts', 'restart'],
  ['the network drops the connection', 'network'],
];
/** A live stream asked for with `after` unset, and with no `after` at all (the gateway adds it to resume). */
const LIVE: [string, string, string, Drop][] = DROPS.flatMap(
  ([said, how]): [string, string, string, Drop][] => [
    ['after unset', said, 'subscription ($after: ID) { ticks(after: $after) { eventId n } }', how],
    ['no after', said, 'subscription { ticks { n } }', how],
  ],
);

describe('a gateway subscription to a subgraph whose socket drops', () => {
  let subgraph: Subgraph;
  let proxy: TcpProxy;
  let remote: ReturnType<typeof remoteExecutor>;

  beforeEach(async () => {
    subgraph = await startSubgraph();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: subgraph.port });
    remote = remoteExecutor('communications', `http://127.0.0.1:${proxy.port}/graphql`);
  });
  afterEach(async () => {
    await remote.dispose();
    await proxy.close();
    await subgraph.close();
  });

  /** Subscribes through the gateway's executor; what comes is collected, as the gateway would pass it on. */
  async function subscribe(
    variables: Record<string, unknown>,
    query = 'subscription ($after: ID) { ticks(after: $after) { eventId n } }',
  ) {
    const stream = (await remote.executor({
      document: parse(query),
      variables,
      context: { authorization: 'Bearer caller' },
    })) as AsyncIterableIterator<ExecutionResult<{ ticks: Tick }>>;
    const received: ExecutionResult<{ ticks: Tick }>[] = [];
    let failure: unknown = null;
    const pumped = (async () => {
      try {
        for await (const r of stream) received.push(r);
      } catch (err) {
        failure = err;
      }
    })();
    // Which events came, by their number (each event's n is its eventId: selected or not).
    const ids = () => received.map((r) => (r.data ? String(r.data.ticks.n) : JSON.stringify(r.errors)));
    return { stream, received, ids, pumped, failure: () => failure };
  }

  /**
   * The socket goes (`how`), `during` are committed while there is none, then the gateway
   * subscribes again on a new one.
   */
  async function drop(how: Drop, during: number[]) {
    const before = subgraph.subscribes;
    if (how === 'restart') subgraph.goingAway();
    else proxy.down();
    await until(
      () => subgraph.sockets === 0,
      () => 'the subgraph still has a socket',
    );
    for (const n of during) subgraph.commit(n);
    proxy.up();
    await until(
      () => subgraph.subscribes > before,
      () => 'the gateway never subscribed again',
    );
  }

  /** Events 1 and 2, the socket dropped while 3 is committed, then 4: each must arrive once, in order. */
  async function throughADrop(s: Awaited<ReturnType<typeof subscribe>>, how: Drop) {
    subgraph.commit(1);
    subgraph.commit(2);
    await until(
      () => s.received.length >= 2,
      () => `received ${s.ids()}`,
    );
    await drop(how, [3]);
    subgraph.commit(4);
    await until(
      () => s.ids().includes('4') || s.failure() !== null,
      () => `received ${s.ids()}`,
    );
    expect(s.failure()).toBeNull();
    expect(s.ids()).toEqual(['1', '2', '3', '4']);
  }

  test.each(DROPS)(
    'resuming from a cursor, %s: each event once, those committed meanwhile included',
    async (_, how) => {
      const s = await subscribe({ after: '0' });
      await throughADrop(s, how);
      // What the subgraph resolved is what the caller selected: nothing of the gateway's own is left in it.
      expect(s.received.map((r) => r.data?.ticks)).toEqual(
        [1, 2, 3, 4].map((n) => ({ eventId: String(n), n })),
      );
      await s.stream.return?.();
      await s.pumped;
      // The caller left: the subgraph's socket closes.
      await until(
        () => subgraph.sockets === 0,
        () => 'the subscription left its socket open',
      );
    },
  );

  test.each(LIVE)(
    'live from when it started (%s), %s: the stream resumes after the last event passed on',
    async (_, __, query, how) => {
      const s = await subscribe({}, query);
      await until(
        () => subgraph.subscribes === 1,
        () => 'never subscribed',
      );
      await throughADrop(s, how);
      await s.stream.return?.();
      await s.pumped;
    },
  );

  test('live, with nothing passed on yet: the stream ends with an error rather than skip what came meanwhile', async () => {
    const s = await subscribe({});
    await until(
      () => subgraph.subscribes === 1,
      () => 'never subscribed',
    );
    proxy.down();
    subgraph.commit(1);
    proxy.up();
    await until(
      () => s.failure() !== null || s.received.length > 0,
      () => `neither an error nor an event; the gateway subscribed ${subgraph.subscribes} times`,
    );
    await s.pumped;
    expect(s.received).toEqual([]);
    // The error the gateway's client gets (a socket's error event would not say what to do).
    const failure = s.failure() as { message?: unknown; extensions?: unknown } | null;
    expect({ message: failure?.message, extensions: failure?.extensions }).toEqual({
      message: expect.stringContaining('subscribe again'),
      extensions: { code: 'UPSTREAM_UNAVAILABLE', reason: 'UPSTREAM_CONNECTION_LOST' },
    });
  });
});
