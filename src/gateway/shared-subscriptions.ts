import {
  Kind,
  print,
  subscribe as graphqlSubscribe,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { WebSocket } from 'ws';
import type { Principal } from '../identity/index.js';
import { log } from '../logger.js';
import { readAccess } from '../policy/index.js';
import { metrics } from '../telemetry/metrics.js';

/**
 * Broadcast fan-out for graphql-ws (docs/fanout.md, "Shared execution").
 *
 * Subscriptions with the same document, the same variables and the same read
 * access (`readAccess`: the roles, and the subject where a rule reads it)
 * receive the same results for every event: the stream's per-event policy
 * check and every field's authorisation decide on exactly those inputs. So
 * they share one execution, the gateway's and the subgraph's alike, and each
 * result is masked and serialised once; what differs per subscription is its
 * graphql-ws `id`, written around the shared payload, and the token's expiry,
 * which is checked here for each subscriber and event, as the stream policy
 * checks it for a subscription of its own.
 *
 * Each subscriber still goes through graphql-ws as before (connection and
 * token checks, rate limit, operation guards, its own `complete` and
 * `error`): what graphql-ws gets from `subscribe` is a handle that yields
 * nothing and ends when the shared stream ends or fails; the `next` messages
 * are written to the socket here, in event order, ahead of that end.
 *
 * Not shared: a subscription that resumes (`after`, anywhere in the document)
 * replays from the table on its own stream, as before, and so does one whose
 * context is not a graphql-ws subscriber's (SSE).
 */

/** Who a graphql-ws subscription is for, kept beside its context. */
export interface Subscriber {
  socket: WebSocket;
  /** The graphql-ws subscription id the client chose. */
  id: string;
  principal: Principal;
  authorization: string | undefined;
}

export interface SharedSubscriptionsOptions {
  /** The context one shared execution runs under (a fresh request id, the group's principal). */
  context: (principal: Principal, authorization: string | undefined) => object;
  /** A result as clients see it (errors masked and coded), before it is serialised once for everyone. */
  format: (result: ExecutionResult) => ExecutionResult;
  /**
   * A socket with more than this waiting to be sent is closed with 1013 instead of being written
   * to: a broadcast writes to every socket without waiting, so a subscriber that reads slower than
   * its stream sends would otherwise hold the process's memory without bound. Its client reconnects
   * and resumes `after` the last event it received (the events are in the table).
   */
  maxBufferedBytes: number;
}

/** The close a subscriber too slow for its shared stream gets: 1013, try again later. */
export const TOO_SLOW_CLOSE = { code: 1013, reason: 'Subscriber too slow; reconnect and resume with after' };

type Settle = { resolve: (r: IteratorResult<ExecutionResult>) => void; reject: (err: unknown) => void };

/** One subscriber's place in a group: graphql-ws iterates it; it ends when it leaves or the group ends. */
class Member implements AsyncIterableIterator<ExecutionResult> {
  /** `{"id":"<id>","type":"next","payload":` — graphql-ws's `next` message around the shared payload. */
  readonly prefix: string;
  private settle: Settle | null = null;
  private pending: Promise<IteratorResult<ExecutionResult>> | null = null;
  private outcome: { done: true } | { error: unknown } | null = null;

  constructor(
    readonly subscriber: Subscriber,
    private readonly group: Group,
  ) {
    this.prefix = `{"id":${JSON.stringify(subscriber.id)},"type":"next","payload":`;
  }

  /** Whether the token was still valid at `now` (the stream policy's expiry check, per subscriber). */
  live(now: number): boolean {
    const exp = this.subscriber.principal.exp;
    return exp === undefined || exp * 1000 > now;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.outcome) {
      return 'error' in this.outcome
        ? Promise.reject(this.outcome.error)
        : Promise.resolve({ value: undefined, done: true });
    }
    // graphql-ws asks once and waits; a second ask waits for the same end.
    this.pending ??= new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    return this.pending;
  }

  /** The client completed the subscription or went away (graphql-ws calls this). */
  return(): Promise<IteratorResult<ExecutionResult>> {
    this.group.leave(this);
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.group.leave(this);
    this.end();
    return Promise.reject(err);
  }

  /** The shared stream ended: graphql-ws then sends this subscriber `complete`. */
  end(): void {
    if (this.outcome) return;
    this.outcome = { done: true };
    this.settle?.resolve({ value: undefined, done: true });
    this.settle = null;
  }

  /** The shared stream failed: graphql-ws sends this subscriber the (masked) error, as for its own stream. */
  fail(error: unknown): void {
    if (this.outcome) return;
    this.outcome = { error };
    this.settle?.reject(error);
    this.settle = null;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

/** The subscriptions sharing one execution, and that execution. */
class Group {
  readonly members = new Set<Member>();
  private source: AsyncIterator<ExecutionResult> | null = null;
  private closed = false;
  /** Resolves to null once the stream is open, or to the result refusing it (every member gets that). */
  readonly opened: Promise<ExecutionResult | null>;

  constructor(
    private readonly key: string,
    private readonly owner: SharedSubscriptions,
    args: ExecutionArgs,
    private readonly format: (result: ExecutionResult) => ExecutionResult,
    private readonly maxBufferedBytes: number,
  ) {
    this.opened = (async () => {
      const result = await graphqlSubscribe(args);
      if (!isAsyncIterable(result)) {
        this.close();
        return result;
      }
      this.source = result[Symbol.asyncIterator]();
      if (this.closed) {
        // Everyone left while it was opening.
        void this.source.return?.();
        return null;
      }
      void this.pump(this.source);
      return null;
    })().catch((err: unknown) => {
      this.close();
      throw err;
    });
  }

  join(subscriber: Subscriber): Member {
    const member = new Member(subscriber, this);
    this.members.add(member);
    return member;
  }

  leave(member: Member): void {
    if (!this.members.delete(member) || this.members.size) return;
    // The last one left: the shared stream stops (the relay unfollows the topic when it was the last).
    this.close();
    void this.source?.return?.();
  }

  /** No one joins it any more; a later subscriber with the same key opens a new group. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.forget(this.key, this);
  }

  private async pump(source: AsyncIterator<ExecutionResult>): Promise<void> {
    try {
      for (;;) {
        const step = await source.next();
        if (step.done || !this.members.size) break;
        this.broadcast(step.value);
      }
      this.close();
      for (const m of [...this.members]) m.end();
    } catch (err) {
      this.close();
      for (const m of [...this.members]) m.fail(err);
    }
  }

  /** One result to every member: masked and serialised once, the same bytes around each id. */
  private broadcast(result: ExecutionResult): void {
    const payload = JSON.stringify(this.format(result));
    const now = Date.now();
    for (const m of this.members) {
      // An expired token gets nothing more; its connection is closed at expiry (serve.ts).
      if (!m.live(now)) continue;
      const socket = m.subscriber.socket;
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount > this.maxBufferedBytes) {
        // graphql-ws ends the socket's subscriptions when it closes (each leaves its group).
        socket.close(TOO_SLOW_CLOSE.code, TOO_SLOW_CLOSE.reason);
        metrics.subscriberShed('socket');
        log.warn('subscriber too slow: socket closed with 1013', {
          subject: m.subscriber.principal.sub,
          bufferedBytes: socket.bufferedAmount,
        });
        continue;
      }
      socket.send(m.prefix + payload + '}');
    }
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<ExecutionResult> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

/**
 * Whether the operation resumes from a cursor: an `after` argument with a
 * value, literal or variable (given, or by default). Such a subscription
 * replays the events since its cursor on a stream of its own.
 */
export function resumes(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
): boolean {
  const defaults = new Map<string, boolean>();
  let found = false;
  visit(document, {
    VariableDefinition(node) {
      defaults.set(node.variable.name.value, !!node.defaultValue && node.defaultValue.kind !== Kind.NULL);
    },
  });
  visit(document, {
    Argument(node) {
      if (node.name.value !== 'after') return;
      const v = node.value;
      if (v.kind === Kind.NULL) return;
      if (v.kind !== Kind.VARIABLE) found = true;
      else {
        const given = variables?.[v.name.value];
        if (given != null || (given === undefined && defaults.get(v.name.value))) found = true;
      }
    },
  });
  return found;
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are the same variables. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The graphql-ws `subscribe` of a gateway that shares executions between equivalent subscriptions. */
export class SharedSubscriptions {
  private readonly subscribers = new WeakMap<object, Subscriber>();
  private readonly groups = new Map<string, Group>();

  constructor(private readonly options: SharedSubscriptionsOptions) {}

  /** Marks a graphql-ws context as this subscriber's (serve.ts, when graphql-ws builds it). */
  register(context: object, subscriber: Subscriber): void {
    this.subscribers.set(context, subscriber);
  }

  /** Open shared executions and their subscribers (for tests and logs). */
  stats(): { groups: number; subscribers: number } {
    let subscribers = 0;
    for (const g of this.groups.values()) subscribers += g.members.size;
    return { groups: this.groups.size, subscribers };
  }

  /** graphql-ws's `subscribe`: joins the subscription to its group, or runs it alone. */
  readonly subscribe = async (
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult> => {
    const subscriber =
      typeof args.contextValue === 'object' && args.contextValue !== null
        ? this.subscribers.get(args.contextValue)
        : undefined;
    const variables = args.variableValues ?? undefined;
    if (!subscriber || resumes(args.document, variables)) return graphqlSubscribe(args);
    const access = readAccess(subscriber.principal);
    const key = canonical([print(args.document), args.operationName ?? null, variables ?? {}, access.key]);
    let group = this.groups.get(key);
    if (!group) {
      // The shared execution's principal has what every member shares and no expiry: each
      // member's own expiry is checked per event as it is written (Member.live).
      const contextValue = this.options.context(access.principal, subscriber.authorization);
      group = new Group(
        key,
        this,
        { ...args, contextValue },
        this.options.format,
        this.options.maxBufferedBytes,
      );
      this.groups.set(key, group);
    }
    const member = group.join(subscriber);
    const refused = await group.opened.catch((err: unknown) => {
      member.fail(err);
      throw err;
    });
    if (refused) {
      group.leave(member);
      return refused;
    }
    return member;
  };

  /** A group that closed: a later subscriber with its key opens a new one. */
  forget(key: string, group: Group): void {
    if (this.groups.get(key) === group) this.groups.delete(key);
  }
}
