/**
 * Exstream runtime: jobs, flow instances, flow steps, hold and release,
 * `{EXSTREAM_URL}/orchestration/api/v1/runtime/{domain}` (api-reference §4). Lists take the
 * filter DSL (`filterDsl`), `offset`/`count` item paging [I] and answer the page envelope.
 */
import { z } from 'zod';
import { UpstreamUnavailableError } from '../errors.js';
import type { UpstreamClient, UpstreamResponse } from '../http.js';
import {
  allPages,
  dataResponse,
  errorMessage,
  filterDsl,
  pageResponse,
  parseBody,
  toPage,
  type Page,
} from './common.js';
import { ExstreamRuntimeError } from './errors.js';

export const JOB_STATUSES = [
  'uninitialized',
  'started',
  'waiting',
  'holding',
  'complete',
  'error',
  'canceled',
  'deleted',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** `Job` [V:spec]. Statuses are read as strings so that a new one does not break the poll. */
export const Job = z.object({
  id: z.string(),
  domainId: z.string().nullish(),
  channel: z.string().nullish(),
  mode: z.string().nullish(),
  status: z.string(),
  flowModelType: z.string().nullish(),
  msg: z.string().nullish(),
  externalId: z.string().nullish(),
  triggeredBy: z.string().nullish(),
  aggregatedFMCSnapshotId: z.string().nullish(),
  startDate: z.string().nullish(),
  endDate: z.string().nullish(),
  expirationDate: z.string().nullish(),
});
export type Job = z.infer<typeof Job>;

/** `FlowInstance` [V:spec]. */
export const FlowInstance = z.object({
  id: z.string(),
  jobId: z.string(),
  flowModelId: z.string().nullish(),
  flowModelSnapshotId: z.string().nullish(),
  status: z.string(),
  startDate: z.string().nullish(),
  endDate: z.string().nullish(),
  msg: z.string().nullish(),
  externalId: z.string().nullish(),
});
export type FlowInstance = z.infer<typeof FlowInstance>;

/** `FlowStep` [V:spec]. */
export const FlowStep = z.object({
  id: z.string(),
  previousStepId: z.string().nullish(),
  flowInstanceId: z.string(),
  stepName: z.string().nullish(),
  displayName: z.string().nullish(),
  status: z.string(),
  stepType: z.string().nullish(),
  queueDate: z.string().nullish(),
  startDate: z.string().nullish(),
  endDate: z.string().nullish(),
  msg: z.string().nullish(),
  externalId: z.string().nullish(),
  deliveryFileRetrievable: z.boolean().nullish(),
});
export type FlowStep = z.infer<typeof FlowStep>;

export interface JobFilter {
  ids?: string[];
  statuses?: JobStatus[];
  externalId?: string;
  mode?: 'BATCH' | 'ONDEMAND';
  channel?: string;
  startDateStart?: Date;
  startDateEnd?: Date;
}

export interface FlowInstanceFilter {
  ids?: string[];
  jobId?: string;
  externalId?: string;
  statuses?: string[];
}

export interface FlowStepFilter {
  ids?: string[];
  flowInstanceId?: string;
  externalId?: string;
  statuses?: string[];
  stepTypes?: string[];
  stepName?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ExstreamRuntimeApi {
  constructor(
    private readonly client: UpstreamClient,
    readonly domain: string,
  ) {}

  #path(rest: string): string {
    return `/orchestration/api/v1/runtime/${encodeURIComponent(this.domain)}${rest}`;
  }

  #fail(response: UpstreamResponse, operation: string): never {
    throw new ExstreamRuntimeError(`${operation}: ${errorMessage(response)}`, response.status);
  }

  async #list<T>(
    operation: string,
    rest: string,
    item: z.ZodType<T>,
    filter: string | undefined,
    offset: number,
    count: number,
    extra: Record<string, string | boolean | undefined> = {},
  ): Promise<Page<T>> {
    const response = await this.client.request({
      operation,
      method: 'GET',
      path: this.#path(rest),
      query: { filter, offset, count, ...extra },
      idempotent: true,
    });
    if (response.status !== 200) this.#fail(response, operation);
    return toPage(parseBody(pageResponse(item), response, operation));
  }

  listJobs(filter: JobFilter, offset = 0, count = 100, fetchDeleted = false): Promise<Page<Job>> {
    return this.#list(
      'runtime.listJobs',
      '/jobs',
      Job,
      filterDsl({ ...filter }),
      offset,
      count,
      fetchDeleted ? { fetchDeleted: true } : {},
    );
  }

  listAllJobs(filter: JobFilter): Promise<Job[]> {
    return allPages((offset) => this.listJobs(filter, offset));
  }

  async getJob(id: string): Promise<Job | null> {
    return this.#getOne('runtime.getJob', `/jobs/${encodeURIComponent(id)}`, Job);
  }

  listFlowInstances(filter: FlowInstanceFilter, offset = 0, count = 100): Promise<Page<FlowInstance>> {
    return this.#list(
      'runtime.listFlowInstances',
      '/flow-instances',
      FlowInstance,
      filterDsl({ ...filter }),
      offset,
      count,
    );
  }

  listFlowSteps(filter: FlowStepFilter, offset = 0, count = 100): Promise<Page<FlowStep>> {
    return this.#list(
      'runtime.listFlowSteps',
      '/flow-steps',
      FlowStep,
      filterDsl({ ...filter }),
      offset,
      count,
    );
  }

  /** The held steps of a job, for the graph's `HeldJob.steps` (§4.11 recipe). */
  async heldSteps(jobId: string): Promise<FlowStep[]> {
    const instances = await allPages((offset) => this.listFlowInstances({ jobId }, offset));
    const steps: FlowStep[] = [];
    for (const instance of instances) {
      steps.push(
        ...(await allPages((offset) =>
          this.listFlowSteps({ flowInstanceId: instance.id, statuses: ['holding'] }, offset),
        )),
      );
    }
    return steps;
  }

  getFlowStep(id: string): Promise<FlowStep | null> {
    return this.#getOne('runtime.getFlowStep', `/flow-steps/${encodeURIComponent(id)}`, FlowStep);
  }

  /**
   * Releases a held step. Not repeated blindly: after an outage that may have reached Exstream,
   * the step is read back, and a step no longer holding counts as released.
   */
  async releaseFlowStep(id: string): Promise<void> {
    await this.#action(
      'runtime.releaseFlowStep',
      `/flow-steps/${encodeURIComponent(id)}/release`,
      async () => {
        const step = await this.getFlowStep(id);
        return step !== null && step.status !== 'holding';
      },
    );
  }

  async releaseFlowInstance(id: string): Promise<void> {
    await this.#action(
      'runtime.releaseFlowInstance',
      `/flow-instances/${encodeURIComponent(id)}/release`,
      async () => {
        const instance = await this.#getOne(
          'runtime.getFlowInstance',
          `/flow-instances/${encodeURIComponent(id)}`,
          FlowInstance,
        );
        return instance !== null && instance.status !== 'holding';
      },
    );
  }

  async stopJob(id: string): Promise<void> {
    await this.#action('runtime.stopJob', `/jobs/${encodeURIComponent(id)}/stop`, async () => {
      const job = await this.getJob(id);
      return job !== null && ['canceled', 'complete', 'error', 'deleted'].includes(job.status);
    });
  }

  /**
   * Reprocesses a job, by default with the flow model and context stored in it. Returns the new
   * job's id when the answer is one; the 200 string is undocumented (§13.4), so otherwise null
   * and the caller finds the new job by `externalId` and start date.
   */
  async reprocessJob(
    id: string,
    options: { useCurrentFlowModel?: boolean; useCurrentFlowContext?: boolean } = {},
  ): Promise<string | null> {
    const response = await this.client.request({
      operation: 'runtime.reprocessJob',
      method: 'POST',
      path: this.#path(`/jobs/${encodeURIComponent(id)}/reprocessing`),
      query: {
        useCurrentFlowModel: options.useCurrentFlowModel ?? false,
        useCurrentFlowContext: options.useCurrentFlowContext ?? false,
      },
      headers: { accept: '*/*' },
      // Each reprocessing makes a new job: never repeated after it may have reached Exstream.
      idempotent: false,
    });
    if (response.status !== 200) this.#fail(response, 'runtime.reprocessJob');
    const text = response.text().trim().replace(/^"|"$/g, '');
    return UUID.test(text) ? text : null;
  }

  async #getOne<T>(operation: string, rest: string, item: z.ZodType<T>): Promise<T | null> {
    const response = await this.client.request({
      operation,
      method: 'GET',
      path: this.#path(rest),
      idempotent: true,
    });
    if (response.status === 404) return null;
    if (response.status !== 200) this.#fail(response, operation);
    return parseBody(dataResponse(item), response, operation).data;
  }

  async #action(operation: string, rest: string, alreadyDone: () => Promise<boolean>): Promise<void> {
    let response: UpstreamResponse;
    try {
      response = await this.client.request({
        operation,
        method: 'POST',
        path: this.#path(rest),
        headers: { accept: '*/*' },
        idempotent: false,
      });
    } catch (err) {
      if (err instanceof UpstreamUnavailableError && err.mayHaveReachedUpstream && (await alreadyDone()))
        return;
      throw err;
    }
    if (response.status !== 200) this.#fail(response, operation);
  }
}
