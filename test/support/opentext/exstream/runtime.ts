/**
 * Exstream runtime of the fake: jobs → flow instances → flow steps under
 * `/orchestration/api/v1/runtime/{domain}` (api-reference §4, §11 "Exstream runtime").
 *
 * The state machine (§4.10, order [I]): a job starts `uninitialized`; each `tick()` moves every
 * running flow one step: the current step completes and the next starts; a `hold` step parks in
 * `holding` and so do its flow instance and job, until `POST /flow-steps/{id}/release` (or the
 * instance's release); a step set to fail goes `error` with `msg`, and so do its instance and job;
 * the last step completing completes the instance, and the job when all its instances are done.
 * `stop` cancels. `reprocessing` makes a new job with the same flow-model snapshot
 * (`useCurrentFlowModel=false`) or a new one, answering the new job id as text. `DELETE` marks a
 * finished job `deleted`, visible only with `fetchDeleted=true`.
 *
 * Jobs are made by on-demand generation (`mode: ONDEMAND`, run at once) and, as there is no
 * public batch-submit API (§4.9), by the fake-only `addJob` (a batch that arrived on an input
 * channel).
 */
import { randomUUID } from 'node:crypto';
import type { FakeRequest, FakeResponse } from '../types.js';
import { json, springError } from '../types.js';
import { dataResponse, page, parseFilterDate, parseFilterDsl } from './common.js';

export type JobStatus =
  'uninitialized' | 'started' | 'waiting' | 'holding' | 'complete' | 'error' | 'canceled' | 'deleted';
export type InstanceStatus =
  'canceled' | 'started' | 'complete' | 'waiting' | 'holding' | 'error' | 'finishing';
export type StepStatus =
  | 'canceled'
  | 'created'
  | 'waiting'
  | 'holding'
  | 'started'
  | 'executed'
  | 'filtered'
  | 'complete'
  | 'error'
  | 'expired';
export type StepType =
  | 'input'
  | 'communication'
  | 'output'
  | 'decider'
  | 'processor'
  | 'aggregator'
  | 'delay'
  | 'hold'
  | 'externalFlow';

/** One step of a flow model, for `addJob`. */
export interface StepSpec {
  name: string;
  type: StepType;
  /** Fake-only: the step fails with this message when it runs. */
  fail?: string;
}

export interface JobSpec {
  externalId?: string;
  channel?: string;
  mode?: 'BATCH' | 'ONDEMAND';
  /** One flow instance per entry; each is a chain of steps. Default: input → communication → output. */
  flows?: StepSpec[][];
  triggeredBy?: string;
  startDate?: number;
}

interface Job {
  id: string;
  domainId: string;
  channel: string;
  mode: 'BATCH' | 'ONDEMAND';
  status: JobStatus;
  flowModelType: 'COMMUNICATION';
  msg: string | null;
  externalId: string | null;
  triggeredBy: string;
  aggregatedFMCSnapshotId: string;
  startDate: string;
  endDate: string | null;
  expirationDate: string;
  /** Before deletion, for `fetchDeleted`. */
  flowSpecs: StepSpec[][];
}

interface Instance {
  id: string;
  jobId: string;
  flowModelId: string;
  flowModelSnapshotId: string;
  domainId: string;
  status: InstanceStatus;
  startDate: string;
  endDate: string | null;
  expirationDate: string;
  msg: string | null;
  externalId: string | null;
  flowModelType: 'COMMUNICATION';
  inputRetrievable: boolean;
  executingLongRunningOp: boolean;
}

interface Step {
  id: string;
  previousStepId: string | null;
  flowInstanceId: string;
  stepName: string;
  displayName: string;
  status: StepStatus;
  stepType: StepType;
  queueDate: string;
  startDate: string | null;
  executeDate: string | null;
  endDate: string | null;
  expirationDate: string;
  msg: string | null;
  externalId: string | null;
  deliveryFileRetrievable: boolean;
  messageFileRetrievable: boolean;
  /** Internal: the spec's failure. */
  fail?: string;
}

const DEFAULT_FLOW: StepSpec[] = [
  { name: 'Input', type: 'input' },
  { name: 'Communication', type: 'communication' },
  { name: 'Output', type: 'output' },
];
const TERMINAL_JOB: JobStatus[] = ['complete', 'error', 'canceled'];
const DAY = 24 * 3600_000;

const JOB_KEYS = [
  'ids',
  'channel',
  'externalId',
  'triggeredBy',
  'statuses',
  'startDateStart',
  'startDateEnd',
  'endDateStart',
  'endDateEnd',
  'expiringDateStart',
  'expiringDateEnd',
  'mode',
  'aggregatedFMCSnapshotIds',
  'flowModelTypes',
];
const INSTANCE_KEYS = [
  'ids',
  'flowModelId',
  'flowModelIds',
  'flowModelSnapshotIds',
  'jobId',
  'externalId',
  'statuses',
  'expiringDateStart',
  'expiringDateEnd',
  'flowModelTypes',
  'startDateStart',
  'startDateEnd',
  'endDateStart',
  'endDateEnd',
  'executingLongRunningOp',
];
const STEP_KEYS = [
  'ids',
  'stepName',
  'name',
  'externalId',
  'previousStepId',
  'flowInstanceId',
  'caseSensitive',
  'statuses',
  'stepTypes',
  'startDateStart',
  'startDateEnd',
  'endDateStart',
  'endDateEnd',
  'expiringDateStart',
  'expiringDateEnd',
  'queueDateStart',
  'queueDateEnd',
  'executeDateStart',
  'executeDateEnd',
  'deliveryFileRetrievable',
  'displayName',
];

export class FakeRuntime {
  readonly #jobs = new Map<string, Job>();
  readonly #instances = new Map<string, Instance>();
  readonly #steps = new Map<string, Step>();

  constructor(
    readonly now: () => number,
    readonly domainExists: (domain: string) => boolean,
  ) {}

  /** Fake-only: a job as a batch input channel would start one. Returns its id. */
  addJob(domainId: string, spec: JobSpec = {}, snapshotId: string = randomUUID()): string {
    const start = spec.startDate ?? this.now();
    const job: Job = {
      id: randomUUID(),
      domainId,
      channel: spec.channel ?? 'FileInput',
      mode: spec.mode ?? 'BATCH',
      status: 'uninitialized',
      flowModelType: 'COMMUNICATION',
      msg: null,
      externalId: spec.externalId ?? null,
      triggeredBy: spec.triggeredBy ?? 'system',
      aggregatedFMCSnapshotId: snapshotId,
      startDate: new Date(start).toISOString(),
      endDate: null,
      expirationDate: new Date(start + 30 * DAY).toISOString(),
      flowSpecs: spec.flows ?? [DEFAULT_FLOW],
    };
    this.#jobs.set(job.id, job);
    for (const flow of job.flowSpecs) {
      const instance: Instance = {
        id: randomUUID(),
        jobId: job.id,
        flowModelId: `flow-model-${flow.map((s) => s.name).join('-')}`,
        flowModelSnapshotId: snapshotId,
        domainId,
        status: 'waiting',
        startDate: job.startDate,
        endDate: null,
        expirationDate: job.expirationDate,
        msg: null,
        externalId: job.externalId,
        flowModelType: 'COMMUNICATION',
        inputRetrievable: true,
        executingLongRunningOp: false,
      };
      this.#instances.set(instance.id, instance);
      let previous: string | null = null;
      for (const spec of flow) {
        const step: Step = {
          id: randomUUID(),
          previousStepId: previous,
          flowInstanceId: instance.id,
          stepName: spec.name,
          displayName: spec.name,
          status: 'created',
          stepType: spec.type,
          queueDate: job.startDate,
          startDate: null,
          executeDate: null,
          endDate: null,
          expirationDate: job.expirationDate,
          msg: null,
          externalId: job.externalId,
          deliveryFileRetrievable: false,
          messageFileRetrievable: false,
          fail: spec.fail,
        };
        this.#steps.set(step.id, step);
        previous = step.id;
      }
    }
    return job.id;
  }

  /** Fake-only: an on-demand run, finished by the time generate answers. */
  recordOnDemand(domainId: string, externalId: string | undefined, failed: string | null): string {
    const id = this.addJob(domainId, {
      mode: 'ONDEMAND',
      channel: 'OnDemand',
      externalId,
      flows: [
        [
          { name: 'OnDemandInput', type: 'input' },
          { name: 'Communication', type: 'communication', fail: failed ?? undefined },
          { name: 'Output', type: 'output' },
        ],
      ],
    });
    while (!TERMINAL_JOB.includes(this.#jobs.get(id)!.status)) this.#advanceJob(this.#jobs.get(id)!);
    return id;
  }

  /** Fake-only: moves every running flow on by one step. */
  tick(): void {
    for (const job of this.#jobs.values()) this.#advanceJob(job);
  }

  /** Fake-only: ticks until nothing changes (holds stay held). */
  settle(maxTicks = 100): void {
    for (let i = 0; i < maxTicks; i++) {
      const before = this.#fingerprint();
      this.tick();
      if (this.#fingerprint() === before) return;
    }
  }

  job(id: string): Readonly<Job> | undefined {
    return this.#jobs.get(id);
  }

  handle(req: FakeRequest): FakeResponse {
    const seg = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    // ['orchestration','api','v1','runtime',domain, area, id?, action?]
    const [, , , , domainId, area, id, action, extra] = seg;
    if (!domainId || !this.domainExists(domainId))
      return springError(404, `Domain not found: ${domainId}`, req.path);
    const m = req.method;
    if (extra !== undefined) return springError(404, 'Not found', req.path);
    switch (area) {
      case 'jobs': {
        if (!id && m === 'GET') return json(200, page(this.#listJobs(domainId, req.query), req.query, 50));
        const job = id ? this.#jobs.get(id) : undefined;
        if (!job || job.domainId !== domainId)
          return springError(404, `Job not found: ${id ?? ''}`, req.path);
        if (!action && m === 'GET') return json(200, dataResponse(this.#jobView(job)));
        if (!action && m === 'DELETE') {
          if (!TERMINAL_JOB.includes(job.status)) {
            return json(409, { status: 'failure', message: 'Only a finished job can be deleted' });
          }
          job.status = 'deleted';
          return json(200, { status: 'success', message: 'Job deleted' });
        }
        if (action === 'stop' && m === 'POST') {
          this.#stopJob(job);
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Job stopped' };
        }
        if (action === 'reprocessing' && m === 'POST') {
          if (job.status === 'deleted')
            return springError(409, 'A deleted job cannot be reprocessed', req.path);
          const sameModel = req.query.get('useCurrentFlowModel') !== 'true';
          const newId = this.addJob(
            domainId,
            {
              externalId: job.externalId ?? undefined,
              channel: job.channel,
              mode: job.mode,
              flows: job.flowSpecs,
            },
            sameModel ? job.aggregatedFMCSnapshotId : randomUUID(),
          );
          // The reference does not say what the 200 string is (§13.4); the fake answers the new job id.
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: newId };
        }
        break;
      }
      case 'flow-instances': {
        if (!id && m === 'GET')
          return json(200, page(this.#listInstances(domainId, req.query), req.query, 50));
        const instance = id ? this.#instances.get(id) : undefined;
        if (!instance || instance.domainId !== domainId) {
          return springError(404, `Flow instance not found: ${id ?? ''}`, req.path);
        }
        if (!action && m === 'GET') return json(200, dataResponse(instance));
        if (action === 'release' && m === 'POST') {
          const held = this.#stepsOf(instance.id).filter((s) => s.status === 'holding');
          if (held.length === 0)
            return springError(409, `Flow instance ${instance.id} is not holding`, req.path);
          for (const step of held) this.#releaseStep(step);
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Flow instance released' };
        }
        if (action === 'stop' && m === 'POST') {
          this.#stopInstance(instance);
          this.#rollUp(this.#jobs.get(instance.jobId)!);
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Flow instance stopped' };
        }
        break;
      }
      case 'flow-steps': {
        if (!id && m === 'GET') return json(200, page(this.#listSteps(domainId, req.query), req.query, 50));
        const step = id ? this.#steps.get(id) : undefined;
        const instance = step ? this.#instances.get(step.flowInstanceId) : undefined;
        if (!step || instance?.domainId !== domainId)
          return springError(404, `Flow step not found: ${id ?? ''}`, req.path);
        if (!action && m === 'GET') return json(200, dataResponse(this.#stepView(step)));
        if (action === 'flow' && m === 'GET') {
          return json(
            200,
            dataResponse({
              inputChannel: this.#jobs.get(instance.jobId)!.channel,
              flowSteps: this.#stepsOf(instance.id).map((s) => this.#stepView(s)),
            }),
          );
        }
        if (action === 'release' && m === 'POST') {
          if (step.status !== 'holding')
            return springError(409, `Flow step ${step.id} is not holding`, req.path);
          this.#releaseStep(step);
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Flow step released' };
        }
        if (action === 'stop' && m === 'POST') {
          if (['complete', 'error', 'canceled'].includes(step.status)) {
            return springError(409, `Flow step ${step.id} has finished`, req.path);
          }
          step.status = 'canceled';
          step.endDate = this.#iso();
          this.#stopInstance(instance);
          this.#rollUp(this.#jobs.get(instance.jobId)!);
          return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Flow step stopped' };
        }
        break;
      }
    }
    return springError(404, 'Not found', req.path);
  }

  #iso(): string {
    return new Date(this.now()).toISOString();
  }

  #fingerprint(): string {
    return [...this.#steps.values()].map((s) => s.status).join(',');
  }

  #stepsOf(instanceId: string): Step[] {
    return [...this.#steps.values()].filter((s) => s.flowInstanceId === instanceId);
  }

  #instancesOf(jobId: string): Instance[] {
    return [...this.#instances.values()].filter((i) => i.jobId === jobId);
  }

  #advanceJob(job: Job): void {
    if (TERMINAL_JOB.includes(job.status) || job.status === 'deleted') return;
    if (job.status === 'uninitialized') {
      job.status = 'started';
      for (const instance of this.#instancesOf(job.id)) {
        instance.status = 'started';
        const first = this.#stepsOf(instance.id)[0];
        if (first) this.#startStep(first);
      }
      return;
    }
    for (const instance of this.#instancesOf(job.id)) {
      if (instance.status !== 'started') continue;
      const current = this.#stepsOf(instance.id).find((s) => s.status === 'started');
      if (!current) continue;
      if (current.fail) {
        current.status = 'error';
        current.msg = current.fail;
        current.endDate = this.#iso();
        instance.status = 'error';
        instance.msg = current.fail;
        instance.endDate = this.#iso();
        continue;
      }
      if (current.stepType === 'hold') {
        current.status = 'holding';
        instance.status = 'holding';
        continue;
      }
      this.#completeStep(current);
    }
    this.#rollUp(job);
  }

  #startStep(step: Step): void {
    step.status = 'started';
    step.startDate = this.#iso();
  }

  #completeStep(step: Step): void {
    step.status = 'complete';
    step.executeDate = step.executeDate ?? this.#iso();
    step.endDate = this.#iso();
    if (step.stepType === 'output') step.deliveryFileRetrievable = true;
    const instance = this.#instances.get(step.flowInstanceId)!;
    const next = this.#stepsOf(instance.id).find((s) => s.previousStepId === step.id);
    if (next) this.#startStep(next);
    else {
      instance.status = 'complete';
      instance.endDate = this.#iso();
    }
  }

  #releaseStep(step: Step): void {
    const instance = this.#instances.get(step.flowInstanceId)!;
    instance.status = 'started';
    this.#completeStep(step);
    this.#rollUp(this.#jobs.get(instance.jobId)!);
  }

  #stopInstance(instance: Instance): void {
    if (['complete', 'error', 'canceled'].includes(instance.status)) return;
    for (const step of this.#stepsOf(instance.id)) {
      if (!['complete', 'error', 'canceled'].includes(step.status)) {
        step.status = 'canceled';
        step.endDate = this.#iso();
      }
    }
    instance.status = 'canceled';
    instance.endDate = this.#iso();
  }

  #stopJob(job: Job): void {
    if (TERMINAL_JOB.includes(job.status) || job.status === 'deleted') return;
    for (const instance of this.#instancesOf(job.id)) this.#stopInstance(instance);
    job.status = 'canceled';
    job.endDate = this.#iso();
  }

  /** A job reports the worst of its instances (propagation [I], api-reference §4.4). */
  #rollUp(job: Job): void {
    if (job.status === 'deleted' || job.status === 'uninitialized') return;
    const statuses = this.#instancesOf(job.id).map((i) => i.status);
    let next: JobStatus;
    if (statuses.includes('error')) next = 'error';
    else if (statuses.includes('holding')) next = 'holding';
    else if (statuses.some((s) => s === 'started' || s === 'waiting')) next = 'started';
    else if (statuses.every((s) => s === 'canceled')) next = 'canceled';
    else next = 'complete';
    if (next === job.status) return;
    job.status = next;
    if (next === 'error') job.msg = this.#instancesOf(job.id).find((i) => i.status === 'error')?.msg ?? null;
    if (TERMINAL_JOB.includes(next)) job.endDate = this.#iso();
  }

  #jobView(job: Job): object {
    const { flowSpecs: _specs, ...view } = job;
    return view;
  }

  #stepView(step: Step): object {
    const { fail: _fail, ...view } = step;
    return view;
  }

  #listJobs(domainId: string, query: URLSearchParams): object[] {
    const f = parseFilterDsl(query.get('filter'), JOB_KEYS);
    const fetchDeleted = query.get('fetchDeleted') === 'true';
    return [...this.#jobs.values()]
      .filter((j) => j.domainId === domainId)
      .filter((j) => (fetchDeleted ? j.status === 'deleted' : j.status !== 'deleted'))
      .filter((j) =>
        matches(f, j as unknown as Record<string, unknown>, {
          ids: 'id',
          channel: 'channel',
          externalId: 'externalId',
          triggeredBy: 'triggeredBy',
          statuses: 'status',
          mode: 'mode',
          aggregatedFMCSnapshotIds: 'aggregatedFMCSnapshotId',
          flowModelTypes: 'flowModelType',
        }),
      )
      .sort((a, b) => a.startDate.localeCompare(b.startDate))
      .map((j) => this.#jobView(j));
  }

  #listInstances(domainId: string, query: URLSearchParams): object[] {
    const f = parseFilterDsl(query.get('filter'), INSTANCE_KEYS);
    return [...this.#instances.values()]
      .filter((i) => i.domainId === domainId)
      .filter((i) =>
        matches(f, i as unknown as Record<string, unknown>, {
          ids: 'id',
          flowModelId: 'flowModelId',
          flowModelIds: 'flowModelId',
          flowModelSnapshotIds: 'flowModelSnapshotId',
          jobId: 'jobId',
          externalId: 'externalId',
          statuses: 'status',
          flowModelTypes: 'flowModelType',
          executingLongRunningOp: 'executingLongRunningOp',
        }),
      )
      .sort((a, b) => a.startDate.localeCompare(b.startDate));
  }

  #listSteps(domainId: string, query: URLSearchParams): object[] {
    const f = parseFilterDsl(query.get('filter'), STEP_KEYS);
    const caseSensitive = f.get('caseSensitive')?.[0] !== 'false';
    if (!caseSensitive) {
      for (const key of ['stepName', 'name', 'displayName']) {
        const v = f.get(key);
        if (v)
          f.set(
            key,
            v.map((x) => x.toLowerCase()),
          );
      }
    }
    f.delete('caseSensitive');
    return [...this.#steps.values()]
      .filter((s) => this.#instances.get(s.flowInstanceId)?.domainId === domainId)
      .filter((s) => {
        const view = caseSensitive
          ? (s as unknown as Record<string, unknown>)
          : { ...s, stepName: s.stepName.toLowerCase(), displayName: s.displayName.toLowerCase() };
        return matches(f, view, {
          ids: 'id',
          stepName: 'stepName',
          name: 'stepName',
          displayName: 'displayName',
          externalId: 'externalId',
          previousStepId: 'previousStepId',
          flowInstanceId: 'flowInstanceId',
          statuses: 'status',
          stepTypes: 'stepType',
          deliveryFileRetrievable: 'deliveryFileRetrievable',
        });
      })
      .map((s) => this.#stepView(s));
  }
}

/** Every filter key must match: a field in `fields`, or a date range `<date>Start/End`. */
function matches(
  filter: Map<string, string[]>,
  item: Record<string, unknown>,
  fields: Record<string, string>,
): boolean {
  for (const [key, values] of filter) {
    const range = /^(start|end|expiring|queue|execute)Date(Start|End)$/.exec(key);
    if (range) {
      const field = range[1] === 'expiring' ? 'expirationDate' : `${range[1]}Date`;
      const value = item[field];
      if (typeof value !== 'string') return false;
      const t = Date.parse(value);
      const bound = parseFilterDate(values[0]!);
      if (range[2] === 'Start' ? t < bound : t > bound) return false;
      continue;
    }
    const field = fields[key];
    if (!field) continue;
    if (!values.includes(String(item[field]))) return false;
  }
  return true;
}
