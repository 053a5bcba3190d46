import {
  Kind,
  type ArgumentNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type OperationDefinitionNode,
} from 'graphql';
import type { Client, ClientOptions } from 'graphql-ws';
import { getOperationASTFromRequest, type ExecutionRequest, type Executor } from '@graphql-tools/utils';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { log } from '../logger.js';

/**
 * A gateway subscription to a subgraph service over graphql-ws that survives the loss of its
 * socket with each event passed on once.
 *
 * graphql-ws's own client, when its socket drops, connects again and sends the subscription as it
 * was first sent: with the `after` it was opened with, the subgraph replays every event since, and
 * the gateway passed on again events its client already had (duplicates); without `after`, the new
 * stream starts at the newest event, and the events committed while the socket was down never came
 * (lost). Its own retries are therefore off here (`retryAttempts: 0`, and the client is disposed
 * the moment its socket closes, which also stops its reconnect after a normal close). This
 * subscription opens the next socket itself and resumes `after` the last eventId it passed on: the
 * subgraph replays exactly what came after (src/resolvers/streams.ts), and an event at or before
 * that id, should one come, is dropped here.
 *
 * Each subscription field of the graph takes `after` and each of its payload types has `eventId`
 * (the schema's resume contract); the root field's eventId is read under an alias of ours and
 * removed before the result goes on. Without a cursor (no `after`, and no event passed on yet),
 * a stream that had started cannot be resumed exactly: it ends with an error saying so, rather
 * than starting again and silently skipping what came meanwhile.
 */

/** The root field's eventId in the upstream result, under a name no client selection can take. */
export const EVENT_ID_ALIAS = '__commsgraph_eventId';
/** The variable that carries the resume cursor, when the operation had none of its own for `after`. */
export const RESUME_VARIABLE = '__commsgraph_after';

/** Attempts in a row (each a new socket) before the stream ends with an error that says where to resume. */
export const RESUME_ATTEMPTS = 8;
/** The wait before the first attempt, doubled each time, up to RESUME_MAX_WAIT_MS. */
export const RESUME_WAIT_MS = 200;
export const RESUME_MAX_WAIT_MS = 5_000;

type Result = ExecutionResult<Record<string, unknown>>;

/** What the upstream subscription needs to know about the operation to resume it. */
interface Plan {
  /** The response key of the root field (its alias or name); null when it is not one plain field. */
  rootKey: string | null;
  /** The operation as first sent: with our eventId alias when the root field is plain. */
  request: ExecutionRequest;
  /** The `after` the client asked for (its value), if any. */
  after: string | null;
  /** The operation resumed after `cursor`. */
  resumed(cursor: string): ExecutionRequest;
}

function rootFieldOf(op: OperationDefinitionNode): FieldNode | null {
  const selections = op.selectionSet.selections;
  return selections.length === 1 && selections[0]!.kind === Kind.FIELD ? selections[0] : null;
}

function withRootField(
  document: DocumentNode,
  op: OperationDefinitionNode,
  change: (
    field: FieldNode,
    op: OperationDefinitionNode,
  ) => { field: FieldNode; op?: OperationDefinitionNode },
): DocumentNode {
  const field = rootFieldOf(op)!;
  const changed = change(field, op);
  const newOp: OperationDefinitionNode = {
    ...(changed.op ?? op),
    selectionSet: { ...op.selectionSet, selections: [changed.field] },
  };
  return { ...document, definitions: document.definitions.map((d) => (d === op ? newOp : d)) };
}

export function planOf(request: ExecutionRequest): Plan {
  const op = getOperationASTFromRequest(request);
  const field = rootFieldOf(op);
  const afterArg = field?.arguments?.find((a) => a.name.value === 'after');
  const value = afterArg?.value;
  const afterValue =
    value?.kind === Kind.STRING || value?.kind === Kind.INT
      ? value.value
      : value?.kind === Kind.VARIABLE
        ? request.variables?.[value.name.value]
        : null;
  const after = typeof afterValue === 'string' || typeof afterValue === 'number' ? String(afterValue) : null;
  if (!field) {
    return { rootKey: null, request, after, resumed: () => request };
  }
  const eventIdSelection: FieldNode = {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: EVENT_ID_ALIAS },
    name: { kind: Kind.NAME, value: 'eventId' },
  };
  const document = withRootField(request.document, op, (f) => ({
    field: {
      ...f,
      selectionSet: f.selectionSet && {
        ...f.selectionSet,
        selections: [...f.selectionSet.selections, eventIdSelection],
      },
    },
  }));
  const first: ExecutionRequest = { ...request, document };
  return {
    rootKey: field.alias?.value ?? field.name.value,
    request: first,
    after,
    resumed(cursor) {
      // The client's own variable for `after`, when it used one, now holds the cursor.
      if (value?.kind === Kind.VARIABLE) {
        return { ...first, variables: { ...first.variables, [value.name.value]: cursor } };
      }
      // Otherwise `after` (a literal, or absent) becomes a variable of ours.
      const firstOp = getOperationASTFromRequest(first);
      const resumedDocument = withRootField(first.document, firstOp, (f, o) => {
        const arg: ArgumentNode = {
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: 'after' },
          value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: RESUME_VARIABLE } },
        };
        return {
          field: { ...f, arguments: [...(f.arguments ?? []).filter((a) => a.name.value !== 'after'), arg] },
          op: {
            ...o,
            variableDefinitions: [
              ...(o.variableDefinitions ?? []),
              {
                kind: Kind.VARIABLE_DEFINITION,
                variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: RESUME_VARIABLE } },
                type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
              },
            ],
          },
        };
      });
      return {
        ...first,
        document: resumedDocument,
        variables: { ...first.variables, [RESUME_VARIABLE]: cursor },
      };
    },
  };
}

/** A graphql-ws close the subgraph meant as a refusal (bad request, authentication, ...): not resumed. */
function refused(err: unknown): boolean {
  if (Array.isArray(err)) return true; // the subgraph's `error` message: GraphQL errors for this operation
  const code = (err as { code?: unknown } | null)?.code;
  // 4408 (connection_init too late) and 4499 (terminated) are the socket's trouble, not a refusal.
  return typeof code === 'number' && code >= 4400 && code < 4500 && code !== 4408 && code !== 4499;
}

export function connectionLost(subgraph: string, cursor: string | null): GraphQLErrorWithCode {
  return new GraphQLErrorWithCode(
    `Subgraph ${subgraph} is unavailable: the subscription's connection to it was lost; subscribe again` +
      (cursor === null ? '' : ` with after: "${cursor}"`),
    ErrorCode.UPSTREAM_UNAVAILABLE,
    { reason: 'UPSTREAM_CONNECTION_LOST', ...(cursor === null ? {} : { resumeAfter: cursor }) },
  );
}

export interface UpstreamSubscriptionOptions {
  subgraph: string;
  /** Opens a graphql-ws client (one per socket: each attempt gets a fresh one). */
  createClient: (options: Pick<ClientOptions, 'on'>) => Client;
  /** Runs a request on a client: graphql-tools' graphql-ws executor over it. */
  executorFor: (client: Client) => Executor;
  /** Told when the subscription ends, however it ends. */
  onEnd: () => void;
}

/** One attempt: a client, its socket and the subscription on it. */
interface Attempt {
  client: Client;
  iterator: AsyncIterator<Result>;
  /** Its socket closed (or failed) while the subscription was on it. */
  dropped: boolean;
  /** The subgraph acknowledged the connection (the subscribe went out right after). */
  connected: boolean;
}

const DONE: IteratorResult<Result> = { value: undefined, done: true };

export class UpstreamSubscription implements AsyncIterableIterator<Result> {
  private readonly plan: Plan;
  /** The resume cursor: the last eventId passed on, or the client's `after` until one is. */
  private cursor: string | null;
  private attempt: Attempt | null = null;
  /** Failed attempts in a row. */
  private failures = 0;
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(
    request: ExecutionRequest,
    private readonly options: UpstreamSubscriptionOptions,
  ) {
    this.plan = planOf(request);
    this.cursor = this.plan.after;
  }

  private async open(request: ExecutionRequest): Promise<void> {
    const attempt = { dropped: false, connected: false } as Attempt;
    const drop = () => {
      if (attempt.dropped) return;
      attempt.dropped = true;
      // Disposed at once, so graphql-ws does not send the subscription again on its own (it would
      // after a close with 1000 even with its retries off).
      void attempt.client.dispose();
    };
    attempt.client = this.options.createClient({
      on: {
        connected: () => {
          attempt.connected = true;
        },
        closed: drop,
        error: drop,
      },
    });
    this.attempt = attempt;
    attempt.iterator = (await this.options.executorFor(attempt.client)(request)) as AsyncIterator<Result>;
    // Ended while it was opening: finish() found no iterator to end.
    if (this.closed) await attempt.iterator.return?.();
  }

  async next(): Promise<IteratorResult<Result>> {
    for (;;) {
      if (this.closed) return DONE;
      if (!this.attempt) {
        await this.open(this.cursor === null ? this.plan.request : this.plan.resumed(this.cursor));
        continue;
      }
      const attempt = this.attempt;
      let step: IteratorResult<Result>;
      try {
        step = await attempt.iterator.next();
      } catch (err) {
        if (this.closed) return DONE;
        if (refused(err) || !attempt.dropped) {
          await this.finish();
          throw err;
        }
        step = DONE;
      }
      if (this.closed) return DONE;
      if (!step.done) {
        const value = this.take(step.value);
        if (!value) continue;
        this.failures = 0;
        return { value, done: false };
      }
      if (!attempt.dropped) {
        // The subgraph completed the stream.
        await this.finish();
        return DONE;
      }
      await this.resume(attempt);
    }
  }

  /** The event as it goes on, with our eventId taken out; null for one passed on already. */
  private take(result: Result): Result | null {
    const key = this.plan.rootKey;
    const root = key ? (result.data?.[key] as Record<string, unknown> | null | undefined) : undefined;
    if (!root || typeof root !== 'object') return result;
    const id = root[EVENT_ID_ALIAS];
    delete root[EVENT_ID_ALIAS];
    if (typeof id !== 'string' || !/^\d+$/.test(id)) return result;
    if (this.cursor !== null && /^\d+$/.test(this.cursor) && BigInt(id) <= BigInt(this.cursor)) return null;
    this.cursor = id;
    return result;
  }

  /** The socket went: a new one after a wait, resuming after the cursor; or the end, saying why. */
  private async resume(lost: Attempt): Promise<void> {
    this.attempt = null;
    if (lost.connected) this.failures = 0;
    this.failures++;
    // Nothing to resume from, and the stream had started: what came meanwhile cannot be found.
    const exact = this.cursor !== null || !lost.connected;
    if (!exact || this.failures > RESUME_ATTEMPTS) {
      await this.finish();
      throw connectionLost(this.options.subgraph, this.cursor);
    }
    const wait = Math.min(RESUME_WAIT_MS * 2 ** (this.failures - 1), RESUME_MAX_WAIT_MS);
    log.info('subscription connection to a subgraph lost; resuming', {
      subgraph: this.options.subgraph,
      after: this.cursor,
      attempt: this.failures,
      waitMs: wait,
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait * (0.75 + Math.random() / 2));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
  }

  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    const attempt = this.attempt;
    this.attempt = null;
    this.options.onEnd();
    if (attempt) {
      await attempt.iterator?.return?.();
      await attempt.client.dispose();
    }
  }

  /** The gateway's client left (or the gateway stops): the upstream subscription ends at once. */
  async return(): Promise<IteratorResult<Result>> {
    await this.finish();
    return DONE;
  }

  async throw(err?: unknown): Promise<IteratorResult<Result>> {
    await this.finish();
    throw err;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Result> {
    return this;
  }
}
