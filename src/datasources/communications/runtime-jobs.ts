/**
 * The Exstream runtime monitor (contract, "Runtime monitor"; docs/opentext.md, "Runtime monitor").
 *
 * Every EXSTREAM_POLL_MS, one process of the deployment (the leader, src/store/leader.ts) reads the
 * domain's batch runtime jobs in status `error` or `holding` that started within
 * EXSTREAM_LOOKBACK_HOURS:
 * - each `error` job gets one GenerationException (kind TEMPLATE_ERROR, its `msg` as message, its
 *   job id and externalId), and with it, by the same command as every other exception, one
 *   GENERATION_EXCEPTION case. The job id is unique on the exceptions and is written in the same
 *   transaction as that command, so a restart, a second replica or a leader that lost its lock
 *   mid-poll never makes a second one;
 * - each `holding` job is mirrored in `held_jobs` with its held flow steps (the graph reads the
 *   mirror, so `heldJobs` answers while Exstream is down); a job that leaves its hold outside the
 *   graph is marked so; `operations` releases a held job through the graph (`HeldJobs.release`),
 *   and every change is on the job's hash-chained trail.
 *
 * On-demand jobs (`mode: ONDEMAND`) are the graph's own generation calls, whose failures it already
 * handled when Exstream answered them (a FAILED document, its exception and case): reading them
 * again would open a second case for one failure, so the monitor reads batch jobs only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Emit, Outbox } from '../../events/index.js';
import { badInput, conflict, notFound } from '../../errors/index.js';
import { log } from '../../logger.js';
import type { CommunicationsDB, HeldJobAuditRow, HeldJobRow } from '../../store/tables.js';
import { UpstreamUnavailableError } from '../../upstreams/opentext/errors.js';
import { ExstreamRuntimeError } from '../../upstreams/opentext/exstream/errors.js';
import type { ExstreamRuntimeApi, FlowStep, Job } from '../../upstreams/opentext/exstream/runtime.js';

/** The exception kind of a failed runtime job: generation failed inside Exstream's run. */
export const RUNTIME_JOB_EXCEPTION_KIND = 'TEMPLATE_ERROR';
/** How long a release in hand keeps others off the job; a process that died mid-release frees it after this. */
const RELEASE_CLAIM_MS = 120_000;
const COMMENT_MAX = 2000;
/** The longest wait between polls after repeated failures. */
const MAX_BACKOFF_MS = 30_000;

export type HeldJobStatus = 'HOLDING' | 'RELEASED' | 'LEFT_HOLD';

/** A held flow step as the mirror keeps it. */
export interface HeldStep {
  id: string;
  flowInstanceId: string;
  name: string | null;
  displayName: string | null;
  type: string | null;
  status: string;
  since: string | null;
  msg: string | null;
}

interface ReleaseClaim {
  actor: string;
  comment: string;
  at: string;
}

export function toHeldStep(s: FlowStep): HeldStep {
  return {
    id: s.id,
    flowInstanceId: s.flowInstanceId,
    name: s.stepName ?? null,
    displayName: s.displayName ?? null,
    type: s.stepType ?? null,
    status: s.status,
    since: s.startDate ?? s.queueDate ?? null,
    msg: s.msg ?? null,
  };
}

/** When a job began to hold: its earliest held step, else the job's start, else now. */
function heldSince(job: Job, steps: HeldStep[], now: Date): Date {
  const times = steps
    .map((s) => (s.since ? Date.parse(s.since) : NaN))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
  if (times.length) return new Date(times[0]!);
  if (job.startDate && Number.isFinite(Date.parse(job.startDate))) return new Date(job.startDate);
  return now;
}

/** The held job as it stands, in an event's payload: subscribers see each step as it was. */
export type HeldJobEventRow = Omit<
  HeldJobRow,
  'held_since' | 'released_at' | 'seen_at' | 'updated_at' | 'release_claim'
> & {
  held_since: string;
  released_at: string | null;
};

/** Announces a held job's change (`heldJobUpdated`), in the transaction that made it. */
async function announce(emit: Emit, row: HeldJobRow, action: string): Promise<void> {
  const heldJob: HeldJobEventRow = {
    job_id: row.job_id,
    domain: row.domain,
    external_id: row.external_id,
    status: row.status,
    held_since: new Date(row.held_since).toISOString(),
    steps: row.steps,
    released_by: row.released_by,
    released_at: row.released_at ? new Date(row.released_at).toISOString() : null,
    release_comment: row.release_comment,
  };
  await emit('HELD_JOB_UPDATED', { jobId: row.job_id, status: row.status, action, heldJob });
}

async function appendTrail(
  tx: Transaction<CommunicationsDB>,
  jobId: string,
  actor: string,
  action: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await tx
    .insertInto('communications.held_job_audit')
    .values({ job_id: jobId, actor, action, detail: JSON.stringify(detail) })
    .execute();
}

/**
 * Held jobs as the graph sees them: the mirror's reads, and the release. `runtime` is null in
 * the embedded mode (no Exstream, so nothing is ever held).
 */
export class HeldJobs {
  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    private readonly runtime: ExstreamRuntimeApi | null,
  ) {}

  /** The jobs holding now, longest held first. */
  holding(): Promise<HeldJobRow[]> {
    return this.db
      .selectFrom('communications.held_jobs')
      .selectAll()
      .where('status', '=', 'HOLDING')
      .orderBy('held_since')
      .orderBy('job_id')
      .execute();
  }

  async byId(jobId: string): Promise<HeldJobRow | null> {
    return (
      (await this.db
        .selectFrom('communications.held_jobs')
        .selectAll()
        .where('job_id', '=', jobId)
        .executeTakeFirst()) ?? null
    );
  }

  history(jobId: string): Promise<HeldJobAuditRow[]> {
    return this.db
      .selectFrom('communications.held_job_audit')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('seq')
      .orderBy('id')
      .execute();
  }

  /**
   * Releases a held job's held steps in Exstream and records who did it and why.
   *
   * The release is claimed first on the locked row (a second operator gets CONFLICT and nothing
   * is sent twice); then the steps Exstream holds now are released (the client reads a step back
   * rather than repeating a release an outage may have let through); then the job is RELEASED
   * with its trail entry. A refusal or an outage frees the claim and leaves the job HOLDING.
   */
  async release(actor: string, input: { jobId: string; comment: string }): Promise<HeldJobRow> {
    const comment = input.comment.trim();
    if (!comment || comment.length > COMMENT_MAX)
      throw badInput(`comment: 1 to ${COMMENT_MAX} characters`, 'comment');
    const runtime = this.runtime;
    if (!runtime) throw notFound('HeldJob', input.jobId);
    const claim: ReleaseClaim = { actor, comment, at: new Date().toISOString() };
    await this.outbox.transaction(async (tx) => {
      const row = await tx
        .selectFrom('communications.held_jobs')
        .selectAll()
        .where('job_id', '=', input.jobId)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw notFound('HeldJob', input.jobId);
      if (row.status !== 'HOLDING') throw conflict(`Job ${row.job_id} is no longer holding (${row.status})`);
      const held = row.release_claim as ReleaseClaim | null;
      if (held && Date.now() - Date.parse(held.at) < RELEASE_CLAIM_MS)
        throw conflict(`Job ${row.job_id} is being released by ${held.actor}`);
      await tx
        .updateTable('communications.held_jobs')
        .set({ release_claim: JSON.stringify(claim) })
        .where('job_id', '=', row.job_id)
        .execute();
    });
    const free = () =>
      this.db
        .updateTable('communications.held_jobs')
        .set({ release_claim: null })
        .where('job_id', '=', input.jobId)
        .where(sql<string>`release_claim->>'at'`, '=', claim.at)
        .execute();
    let steps: HeldStep[];
    try {
      steps = (await runtime.heldSteps(input.jobId)).map(toHeldStep);
      if (steps.length === 0) {
        await free();
        await markLeftHold(this.outbox, input.jobId, null);
        throw conflict(
          `Exstream holds no step of job ${input.jobId}: it was released or stopped outside the graph`,
        );
      }
      for (const step of steps) await runtime.releaseFlowStep(step.id);
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) {
        await free();
        throw err.toGraphQLError();
      }
      if (err instanceof ExstreamRuntimeError && (err.status === 404 || err.status === 409)) {
        // A step released or stopped outside the graph between our read and our release.
        await free();
        throw conflict(`Exstream no longer holds job ${input.jobId} as it did: ${err.message}`);
      }
      await free().catch(() => undefined);
      throw err;
    }
    return this.outbox.transaction(async (tx, emit) => {
      const row = await tx
        .updateTable('communications.held_jobs')
        .set({
          status: 'RELEASED',
          released_by: actor,
          released_at: new Date(),
          release_comment: comment,
          release_claim: null,
          steps: JSON.stringify(steps),
          updated_at: new Date(),
        })
        .where('job_id', '=', input.jobId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await appendTrail(tx, input.jobId, actor, 'RELEASED', {
        comment,
        steps: steps.map((s) => ({ id: s.id, name: s.name })),
      });
      await announce(emit, row, 'RELEASED');
      return row;
    });
  }
}

/** A held job Exstream no longer holds, and the graph did not release: on its trail, by `exstream`. */
async function markLeftHold(
  outbox: Outbox<CommunicationsDB>,
  jobId: string,
  jobStatus: string | null,
): Promise<void> {
  await outbox.transaction(async (tx, emit) => {
    const row = await tx
      .updateTable('communications.held_jobs')
      .set({ status: 'LEFT_HOLD', updated_at: new Date() })
      .where('job_id', '=', jobId)
      .where('status', '=', 'HOLDING')
      .where('release_claim', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) return;
    await appendTrail(tx, jobId, 'exstream', 'LEFT_HOLD', { jobStatus });
    await announce(emit, row, 'LEFT_HOLD');
  });
}

export interface RuntimeMonitorOptions {
  domain: string;
  pollMs: number;
  lookbackHours: number;
}

/** What one poll did (for logs and tests). */
export interface PollResult {
  errorJobs: number;
  exceptionsRaised: number;
  holding: number;
  newlyHeld: number;
  leftHold: number;
}

export class RuntimeMonitor {
  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    private readonly commands: CommandRelay,
    private readonly runtime: ExstreamRuntimeApi,
    private readonly options: RuntimeMonitorOptions,
  ) {}

  /** One poll: error jobs, then holding jobs, then the watermark. Throws on an outage (nothing half-done is lost: each job is its own transaction). */
  async pollOnce(): Promise<PollResult> {
    const startedAt = new Date();
    const windowStart = new Date(startedAt.getTime() - this.options.lookbackHours * 3600_000);
    const result: PollResult = { errorJobs: 0, exceptionsRaised: 0, holding: 0, newlyHeld: 0, leftHold: 0 };

    const failed = await this.runtime.listAllJobs({
      statuses: ['error'],
      mode: 'BATCH',
      startDateStart: windowStart,
    });
    result.errorJobs = failed.length;
    const known = await this.knownErrorJobs(failed.map((j) => j.id));
    for (const job of failed) {
      if (known.has(job.id)) continue;
      if (await this.raiseFor(job)) result.exceptionsRaised++;
    }

    const holding = await this.runtime.listAllJobs({
      statuses: ['holding'],
      mode: 'BATCH',
      startDateStart: windowStart,
    });
    result.holding = holding.length;
    for (const job of holding) {
      const steps = (await this.runtime.heldSteps(job.id)).map(toHeldStep);
      if (await this.mirrorHeld(job, steps, startedAt)) result.newlyHeld++;
    }
    const listed = new Set(holding.map((j) => j.id));
    const mirrored = await this.db
      .selectFrom('communications.held_jobs')
      .select(['job_id', 'release_claim'])
      .where('domain', '=', this.options.domain)
      .where('status', '=', 'HOLDING')
      .execute();
    for (const row of mirrored) {
      // A release in hand settles the row itself.
      if (listed.has(row.job_id) || row.release_claim) continue;
      // Not listed: left its hold, or started before the window; Exstream says which.
      const job = await this.runtime.getJob(row.job_id);
      if (job?.status === 'holding') continue;
      await markLeftHold(this.outbox, row.job_id, job?.status ?? null);
      result.leftHold++;
    }

    await this.db
      .insertInto('communications.runtime_monitor')
      .values({ domain: this.options.domain, polled_at: startedAt, window_start: windowStart })
      .onConflict((oc) =>
        oc
          .column('domain')
          .doUpdateSet({ polled_at: startedAt, window_start: windowStart, updated_at: new Date() }),
      )
      .execute();
    return result;
  }

  private async knownErrorJobs(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db
      .selectFrom('communications.exceptions')
      .select('job_id')
      .where('job_id', 'in', ids)
      .execute();
    return new Set(rows.map((r) => r.job_id!));
  }

  /**
   * The job's exception and the command that opens its case, in one transaction; a job that has
   * its exception already (another replica, an earlier poll) inserts nothing and enqueues nothing.
   */
  private async raiseFor(job: Job): Promise<boolean> {
    const message = (job.msg?.trim() || `Exstream job ${job.id} failed without a message`).slice(0, 1000);
    return this.outbox.transaction(async (tx) => {
      const exc = await tx
        .insertInto('communications.exceptions')
        .values({
          id: `exc_job_${job.id}`,
          kind: RUNTIME_JOB_EXCEPTION_KIND,
          status: 'OPEN',
          message,
          document_id: null,
          delivery_id: null,
          case_id: null,
          resolution: null,
          resolved_by: null,
          resolved_at: null,
          retry_document_id: null,
          retry_delivery_id: null,
          job_id: job.id,
          external_id: job.externalId ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!exc) return false;
      await this.commands.enqueue(tx, 'openExceptionCase', {
        exceptionId: exc.id,
        kind: exc.kind,
        message: exc.message,
        documentId: null,
        customerId: null,
        channel: null,
        sourceCaseId: null,
      });
      log.info('exstream job failed: exception raised', { jobId: job.id, exceptionId: exc.id });
      return true;
    });
  }

  /** Upserts a holding job's mirror; true when it (again) began holding, which goes on its trail. */
  private async mirrorHeld(job: Job, steps: HeldStep[], now: Date): Promise<boolean> {
    // Listed as holding, but no step holds by the time its steps were read: released meanwhile.
    if (steps.length === 0) return false;
    return this.outbox.transaction(async (tx, emit) => {
      const before = await tx
        .selectFrom('communications.held_jobs')
        .select(['status', 'steps'])
        .where('job_id', '=', job.id)
        .forUpdate()
        .executeTakeFirst();
      if (before && before.status !== 'HOLDING') {
        // Released (or left its hold) while this poll read it: the same steps are not a new hold.
        // Only a step not seen before (a later hold step of the flow) holds the job again.
        const seen = new Set((before.steps as HeldStep[]).map((s) => s.id));
        if (steps.every((s) => seen.has(s.id))) return false;
      }
      if (before?.status === 'HOLDING') {
        await tx
          .updateTable('communications.held_jobs')
          .set({ steps: JSON.stringify(steps), seen_at: now, external_id: job.externalId ?? null })
          .where('job_id', '=', job.id)
          .execute();
        return false;
      }
      const since = heldSince(job, steps, now);
      const values = {
        domain: this.options.domain,
        external_id: job.externalId ?? null,
        status: 'HOLDING',
        held_since: since,
        steps: JSON.stringify(steps),
        released_by: null,
        released_at: null,
        release_comment: null,
        release_claim: null,
        seen_at: now,
        updated_at: now,
      };
      const row = before
        ? // Held again after a release (a second hold step): a new hold on the same trail.
          await tx
            .updateTable('communications.held_jobs')
            .set(values)
            .where('job_id', '=', job.id)
            .returningAll()
            .executeTakeFirstOrThrow()
        : await tx
            .insertInto('communications.held_jobs')
            .values({ job_id: job.id, ...values })
            .returningAll()
            .executeTakeFirstOrThrow();
      await appendTrail(tx, job.id, 'exstream', 'HELD', {
        externalId: job.externalId ?? null,
        steps: steps.map((s) => ({ id: s.id, name: s.name })),
      });
      await announce(emit, row, 'HELD');
      return true;
    });
  }

  /**
   * The leader's loop: poll, wait EXSTREAM_POLL_MS (longer after failures, up to 30 s), until
   * `signal` aborts. An outage or any other failure is logged and recorded on the watermark row,
   * never fatal.
   */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const r = await this.pollOnce();
        failures = 0;
        if (r.exceptionsRaised || r.newlyHeld || r.leftHold) log.info('exstream runtime poll', { ...r });
      } catch (err) {
        failures++;
        log.warn('exstream runtime poll failed; trying again', { err, failures });
        await this.recordFailure(err).catch(() => undefined);
      }
      // After failures, longer (the circuit breaker already keeps an outage from being hammered).
      const wait = failures
        ? Math.max(
            this.options.pollMs,
            Math.min(this.options.pollMs * 2 ** Math.min(failures, 5), MAX_BACKOFF_MS),
          )
        : this.options.pollMs;
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  private async recordFailure(err: unknown): Promise<void> {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    await this.db
      .insertInto('communications.runtime_monitor')
      .values({ domain: this.options.domain, last_error: message, last_error_at: new Date() })
      .onConflict((oc) =>
        oc
          .column('domain')
          .doUpdateSet({ last_error: message, last_error_at: new Date(), updated_at: new Date() }),
      )
      .execute();
  }
}
