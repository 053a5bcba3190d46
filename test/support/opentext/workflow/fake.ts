/**
 * The Workflow Service fake: `answer(request)` answers the Workflow Service (`/workflow/v1`) and
 * history (`/workflow-history/v1`) routes and returns null for any other; `handle(req, res, url,
 * caller)` adapts it to node's http (the standalone server.ts) and `mount.ts` to the combined
 * OpenText fake, which mounts it after its OTDS auth layer has resolved the bearer token to a caller. Shapes, statuses and paging follow the reference
 * (`docs` of the fake: README.md beside this file); everything added for tests only is under
 * `hooks` and marked fake-only.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { loadProcessModels } from './bpmn.js';
import {
  EngineError,
  WorkflowEngine,
  type Caller,
  type Comment,
  type Instance,
  type Task,
  type Variable,
} from './engine.js';

export type { Caller } from './engine.js';

export interface WorkflowFakeOptions {
  /** Directory of `*.bpmn20.xml` models deployed at start. Default: the project's `opentext/models`. */
  modelsDir?: string;
  /** More BPMN documents to deploy (test fixtures). */
  extraModels?: readonly string[];
  /** Path prefixes of the two APIs. */
  servicePath?: string;
  historyPath?: string;
  /** The tenant id reported on resources. */
  tenantId?: string;
  /** `count` when a list request gives none: undocumented (reference §13.9); 10 as DCA pages [I]. */
  defaultCount?: number;
}

/** Fake-only fault injection on the fake's own routes (reference §11 "Cross-cutting"). */
export interface FaultRule {
  /** Only requests with this method (default any). */
  method?: string;
  /** Only paths (after the API prefix, e.g. `/tasks/abc`) matching this (default any). */
  path?: RegExp;
  /** Which API (default both). */
  api?: 'service' | 'history';
  kind: '429' | '503' | '502' | 'reset' | 'slow';
  /** With 429/503: the `Retry-After` header in seconds; none when undefined. */
  retryAfterSec?: number;
  /** With `slow`: how long to wait before handling the request normally. */
  delayMs?: number;
  /** How many matching requests it hits; then it is spent. Default: every one until cleared. */
  times?: number;
}

export interface RecordedRequest {
  readonly api: 'service' | 'history';
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly caller: string;
}

export interface UiCompletion {
  /** The task, by id, or by the case (business key) and task definition key. */
  taskId?: string;
  businessKey?: string;
  taskKey?: string;
  /** The OpenText user who acts in the task UI; their groups decide whether they see the task. */
  user: string;
  groups: readonly string[];
  outcome?: string;
  comment?: string;
  variables?: ReadonlyArray<{ name: string; type?: string; value: unknown }>;
}

export interface WorkflowFake {
  /** node's http adapter: answers and returns true, or returns false for a path outside both APIs. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, caller: Caller): Promise<boolean>;
  /** The transport-blind core (see `mount.ts` for the combined OpenText fake's adapter). */
  answer(request: {
    method: string;
    url: URL;
    body: Buffer;
    caller: Caller;
  }): Promise<WorkflowReply | 'reset' | null>;
  readonly hooks: WorkflowFakeHooks;
}

export interface WorkflowFakeHooks {
  /** Fake-only: moves the fake's clock forward and fires the timers that fall due (SLA paths). */
  advanceTime(ms: number): void;
  /** The fake's clock. */
  now(): Date;
  /** Fake-only: what a user does in OpenText's task UI: claim (as them) and complete with an outcome. */
  completeAsUser(completion: UiCompletion): { taskId: string };
  /** Fake-only: claim a task as a user in OpenText's UI without completing it. */
  claimAsUser(completion: Omit<UiCompletion, 'outcome' | 'comment' | 'variables'>): { taskId: string };
  /** Fake-only: add a fault rule; returns a function that removes it. */
  fault(rule: FaultRule): () => void;
  clearFaults(): void;
  /** Every request the module answered (faults included), oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Deploys more BPMN (a new version of a key replaces it for new instances). */
  deploy(xml: string): void;
  /** Read-only views for assertions. */
  instancesByBusinessKey(businessKey: string): readonly Instance[];
  openTasks(businessKey?: string): readonly Task[];
  readonly engine: WorkflowEngine;
}

/** The project's models directory, found upwards from this file (works from src and from dist). */
export function defaultModelsDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'opentext', 'models');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('opentext/models not found above ' + __dirname);
  }
}

// ------------------------------------------------------------------------------------ rendering

/** Task times as the task samples show them: `2026-11-24T09:00:02.000+0000` (reference §7.8). */
const taskTime = (d: Date | null) => (d ? d.toISOString().replace('Z', '+0000') : null);
/** History times as the history samples show them: `…+00:00` (reference §7.11). */
const historyTime = (d: Date | null) => (d ? d.toISOString().replace('Z', '+00:00') : null);
/** Process instance and comment times: `…Z` (reference §7.1 example). */
const isoTime = (d: Date | null) => (d ? d.toISOString() : null);

const restVariable = (v: Variable, scope: 'local' | 'global') => ({
  name: v.name,
  type: v.type,
  value: v.value,
  scope,
  encryption: false,
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly short: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function bool(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new HttpError(400, 'Bad request', `Invalid value for boolean parameter '${name}': '${value}'`);
}

function date(query: URLSearchParams, name: string): Date | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  const parsed = new Date(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(parsed.getTime()))
    throw new HttpError(400, 'Bad request', `Failed to parse date '${value}' of '${name}'`);
  return parsed;
}

function int(query: URLSearchParams, name: string, fallback: number): number {
  const value = query.get(name);
  if (value === null) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new HttpError(400, 'Bad request', `Invalid value for '${name}': '${value}'`);
  return parsed;
}

/** `name=value` filter: passes when the parameter is absent or equal. */
const paramIs = (q: URLSearchParams) => (name: string, value: string | null) =>
  q.get(name) === null || q.get(name) === value;
/** A boolean filter (`finished=true|false`): passes when absent or equal. */
const flagIs = (wanted: boolean | undefined, actual: boolean) => wanted === undefined || wanted === actual;
/** Strict `…After` / `…Before` windows, as Flowable's SQL; a missing time never matches a bound. */
const inWindow = (time: Date | null, after?: Date, before?: Date) =>
  (!after || (time !== null && time > after)) && (!before || (time !== null && time < before));

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Bad request', 'The request body is not valid JSON');
  }
}

/** What the fake answers, before any transport writes it. */
export interface WorkflowReply {
  status: number;
  headers: Record<string, string>;
  /** A JSON value; undefined for an empty body. */
  body?: unknown;
}

function reply(status: number, body?: unknown, headers: Record<string, string> = {}): WorkflowReply {
  return {
    status,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------------- the fake

export function createWorkflowFake(options: WorkflowFakeOptions = {}): WorkflowFake {
  const servicePath = options.servicePath ?? '/workflow/v1';
  const historyPath = options.historyPath ?? '/workflow-history/v1';
  const defaultCount = options.defaultCount ?? 10;
  const tenantId = options.tenantId ?? '56adec43-0000-4000-8000-00000000c0de';
  const subscriptionId = 'cda90802-0000-4000-8000-00000000c0de';
  const engine = new WorkflowEngine(tenantId);

  const modelsDir = options.modelsDir ?? defaultModelsDir();
  for (const file of fs
    .readdirSync(modelsDir)
    .filter((f) => f.endsWith('.bpmn20.xml'))
    .sort()) {
    engine.deploy(loadProcessModels(fs.readFileSync(path.join(modelsDir, file), 'utf8')));
  }
  for (const xml of options.extraModels ?? []) engine.deploy(loadProcessModels(xml));

  const faults: Array<FaultRule & { left: number }> = [];
  const requests: RecordedRequest[] = [];

  // --------------------------------------------------------------------------------- shapes

  const definitionOf = (instance: Instance) => engine.definition(instance.definitionId);

  const commentJson = (instance: Instance, c: Comment) => ({
    id: c.id,
    author: c.author,
    message: c.message,
    processInstanceId: instance.id,
    time: isoTime(c.time),
  });

  /** Fields of "Get a process instance" [V:page]; processDefinitionId/Key are Flowable's [I]. */
  const instanceJson = (instance: Instance, withVariables: boolean) => {
    const definition = definitionOf(instance);
    return {
      id: instance.id,
      name: instance.name,
      businessKey: instance.businessKey,
      processDefinitionId: definition.id,
      processDefinitionKey: definition.key,
      processDefinitionName: definition.model.name,
      startTime: isoTime(instance.startTime),
      startUserId: instance.startUserId,
      activityId: instance.activityId,
      suspended: instance.suspended,
      ended: instance.endTime !== null,
      completed: instance.endTime !== null && instance.deleteReason === null,
      tenantId,
      subscriptionId,
      superProcessInstanceId: null,
      callbackId: null,
      callbackType: null,
      dueDate: null,
      comments: instance.comments.map((c) => commentJson(instance, c)),
      variables: withVariables ? [...instance.variables.values()].map((v) => restVariable(v, 'local')) : [],
      links: { empty: true },
    };
  };

  /** A task's variables: its local ones, then (scope `global`) its process's, as asked. */
  const taskVariablesJson = (
    task: Task,
    instance: Instance,
    q: { processVariables?: boolean; localVariables?: boolean },
  ) => [
    ...(q.localVariables ? [...task.localVariables.values()].map((v) => restVariable(v, 'local')) : []),
    ...(q.processVariables ? [...instance.variables.values()].map((v) => restVariable(v, 'global')) : []),
  ];

  /** Task fields of "Get tasks" / "Get a task" [V:page]; taskDefinitionKey etc. are Flowable's [I]. */
  const taskJson = (task: Task, q: { processVariables?: boolean; localVariables?: boolean }) => {
    const instance = engine.findInstance(task.instanceId)!;
    return {
      id: task.id,
      name: task.name,
      description: task.description,
      assignee: task.assignee,
      owner: task.owner,
      delegationState: task.delegationState,
      priority: 50,
      createTime: taskTime(task.createTime),
      claimTime: taskTime(task.claimTime),
      dueDate: taskTime(task.dueDate),
      category: null,
      formKey: null,
      executionId: task.executionId,
      parentTaskId: null,
      processInstanceId: task.instanceId,
      processDefinitionId: task.definitionId,
      taskDefinitionKey: task.elementId,
      suspended: instance.suspended,
      tenantId,
      variables: taskVariablesJson(task, instance, q),
      links: { empty: true },
    };
  };

  /** Fields of "Get a historic process instance" [V:page]. */
  const historicInstanceJson = (instance: Instance, q: { variables?: boolean; comments?: boolean }) => {
    const definition = definitionOf(instance);
    return {
      id: instance.id,
      name: instance.name,
      businessKey: instance.businessKey,
      processDefinitionId: definition.id,
      processDefinitionKey: definition.key,
      processDefinitionName: definition.model.name,
      processDefinitionDescription: definition.model.documentation,
      startTime: historyTime(instance.startTime),
      endTime: historyTime(instance.endTime),
      durationInMillis: instance.endTime ? instance.endTime.getTime() - instance.startTime.getTime() : null,
      startUserId: instance.startUserId,
      startActivityId: definition.model.startId,
      endActivityId: instance.endActivityId,
      deleteReason: instance.deleteReason,
      superProcessInstanceId: null,
      callbackId: null,
      callbackType: null,
      referenceId: null,
      referenceType: null,
      dueDate: null,
      tenantId,
      subscriptionId,
      comments: q.comments ? instance.comments.map((c) => commentJson(instance, c)) : [],
      variables: q.variables ? [...instance.variables.values()].map((v) => restVariable(v, 'local')) : [],
      links: { empty: false },
    };
  };

  /** Flowable's HistoricTaskInstanceResponse fields: no OpenText sample shows one [I]. */
  const historicTaskJson = (task: Task, q: { processVariables?: boolean; localVariables?: boolean }) => {
    const instance = engine.findInstance(task.instanceId)!;
    return {
      id: task.id,
      name: task.name,
      description: task.description,
      taskDefinitionKey: task.elementId,
      assignee: task.assignee,
      owner: task.owner,
      priority: 50,
      startTime: historyTime(task.createTime),
      claimTime: historyTime(task.claimTime),
      endTime: historyTime(task.endTime),
      durationInMillis: task.endTime ? task.endTime.getTime() - task.createTime.getTime() : null,
      dueDate: historyTime(task.dueDate),
      deleteReason: task.deleteReason,
      processInstanceId: task.instanceId,
      processDefinitionId: task.definitionId,
      executionId: task.executionId,
      parentTaskId: null,
      formKey: null,
      category: null,
      tenantId,
      variables: taskVariablesJson(task, instance, q),
    };
  };

  /**
   * A HAL page: `_embedded.<key>` (left out when empty, as Spring HATEOAS does by default [I]),
   * `_links.self`, `_links.next` only when more items exist, `_links.previous` after the first page,
   * and a Spring HATEOAS `page` block (`totalElements` verified, the rest [I]).
   */
  function hal<T>(url: URL, key: string, all: readonly T[], render: (item: T) => unknown) {
    const offset = int(url.searchParams, 'offset', 0);
    const count = int(url.searchParams, 'count', defaultCount);
    const items = count === 0 ? [] : all.slice(offset, offset + count);
    const link = (o: number) => {
      const href = new URL(url.href);
      href.searchParams.set('offset', String(o));
      href.searchParams.set('count', String(count));
      return { href: href.href };
    };
    return {
      ...(items.length > 0 ? { _embedded: { [key]: items.map(render) } } : {}),
      _links: {
        self: link(offset),
        ...(offset + count < all.length && count > 0 ? { next: link(offset + count) } : {}),
        ...(offset > 0 ? { previous: link(Math.max(0, offset - count)) } : {}),
      },
      page: {
        size: count,
        totalElements: all.length,
        totalPages: count > 0 ? Math.ceil(all.length / count) : 0,
        number: count > 0 ? Math.floor(offset / count) : 0,
      },
    };
  }

  function sorted<T>(
    items: T[],
    url: URL,
    keys: Record<string, (item: T) => string | number | null>,
    fallback: string,
  ): T[] {
    const sort = url.searchParams.get('sort') ?? fallback;
    const key = keys[sort];
    if (!key)
      throw new HttpError(
        400,
        'Bad request',
        `Value for param 'sort' is not valid, '${sort}' is not a valid property`,
      );
    const direction = url.searchParams.get('order') === 'desc' ? -1 : 1;
    return [...items].sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * direction;
    });
  }

  // -------------------------------------------------------------------------------- queries

  const userGroups = new Map<string, readonly string[]>();

  function taskList(url: URL): Task[] {
    const q = url.searchParams;
    const is = paramIs(q);
    const groups = q
      .get('candidateGroups')
      ?.split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const unassigned = bool(q, 'unassigned');
    const candidateOrAssigned = q.get('candidateOrAssigned');
    const tasks = engine.tasks().filter((task) => {
      if (task.endTime) return false;
      const instance = engine.findInstance(task.instanceId)!;
      const definition = definitionOf(instance);
      if (!is('processInstanceId', task.instanceId)) return false;
      if (!is('processInstanceBusinessKey', instance.businessKey)) return false;
      if (!is('processDefinitionKey', definition.key)) return false;
      if (!is('processDefinitionId', definition.id)) return false;
      if (!is('assignee', task.assignee)) return false;
      if (!is('owner', task.owner)) return false;
      if (!is('name', task.name)) return false;
      if (!is('executionId', task.executionId)) return false;
      if (!is('taskDefinitionKey', task.elementId)) return false;
      const nameLike = q.get('nameLike');
      if (nameLike !== null && !likeMatch(task.name, nameLike)) return false;
      if (unassigned === true && task.assignee !== null) return false;
      if (unassigned === false && task.assignee === null) return false;
      const group = q.get('candidateGroup');
      if (group !== null && (task.assignee !== null || !task.candidateGroups.includes(group))) return false;
      if (groups && (task.assignee !== null || !task.candidateGroups.some((g) => groups.includes(g))))
        return false;
      const candidateUser = q.get('candidateUser');
      if (candidateUser !== null && (task.assignee !== null || !isCandidate(task, candidateUser)))
        return false;
      if (candidateOrAssigned !== null && task.assignee !== candidateOrAssigned) {
        if (task.assignee !== null || !isCandidate(task, candidateOrAssigned)) return false;
      }
      return inWindow(task.createTime, date(q, 'createdAfter'), date(q, 'createdBefore'));
    });
    return sorted(
      tasks,
      url,
      {
        createTime: (t) => t.createTime.getTime() * 1e4 + (t.seq % 1e4),
        name: (t) => t.name,
        id: (t) => t.id,
        dueDate: (t) => t.dueDate?.getTime() ?? null,
        priority: () => 50,
        assignee: (t) => t.assignee,
      },
      'createTime',
    );
  }

  /** A user is a candidate as a candidate user or through a group (the fake's directory: hooks). */
  function isCandidate(task: Task, user: string): boolean {
    return (
      task.candidateUsers.includes(user) ||
      (userGroups.get(user) ?? []).some((g) => task.candidateGroups.includes(g))
    );
  }

  function historicInstanceList(url: URL): Instance[] {
    const q = url.searchParams;
    const is = paramIs(q);
    const finished = bool(q, 'finished');
    const [finishedAfter, finishedBefore] = [date(q, 'finishedAfter'), date(q, 'finishedBefore')];
    const [startedAfter, startedBefore] = [date(q, 'startedAfter'), date(q, 'startedBefore')];
    const instances = engine.instances().filter((instance) => {
      const definition = definitionOf(instance);
      if (!is('processInstanceId', instance.id)) return false;
      if (!is('businessKey', instance.businessKey)) return false;
      if (!is('processDefinitionKey', definition.key)) return false;
      if (!is('processDefinitionId', definition.id)) return false;
      if (!is('startedBy', instance.startUserId)) return false;
      return (
        flagIs(finished, instance.endTime !== null) &&
        inWindow(instance.endTime, finishedAfter, finishedBefore) &&
        inWindow(instance.startTime, startedAfter, startedBefore)
      );
    });
    return sorted(
      instances,
      url,
      {
        processInstanceId: (i) => i.seq,
        startTime: (i) => i.startTime.getTime(),
        endTime: (i) => i.endTime?.getTime() ?? null,
        businessKey: (i) => i.businessKey,
      },
      'processInstanceId',
    );
  }

  function historicTaskList(url: URL): Task[] {
    const q = url.searchParams;
    const is = paramIs(q);
    const finished = bool(q, 'finished');
    const processFinished = bool(q, 'processFinished');
    const [completedAfter, completedBefore] = [date(q, 'taskCompletedAfter'), date(q, 'taskCompletedBefore')];
    const [createdAfter, createdBefore] = [date(q, 'taskCreatedAfter'), date(q, 'taskCreatedBefore')];
    const keys = q.get('taskDefinitionKeys')?.split(',');
    const tasks = engine.tasks().filter((task) => {
      const instance = engine.findInstance(task.instanceId)!;
      const definition = definitionOf(instance);
      if (!is('taskId', task.id)) return false;
      if (!is('processInstanceId', task.instanceId)) return false;
      if (!is('processBusinessKey', instance.businessKey)) return false;
      if (!is('processDefinitionKey', definition.key)) return false;
      if (!is('processDefinitionId', definition.id)) return false;
      if (!is('taskDefinitionKey', task.elementId)) return false;
      if (!is('taskAssignee', task.assignee)) return false;
      if (!is('executionId', task.executionId)) return false;
      if (keys && !keys.includes(task.elementId)) return false;
      // Flowable's "completed" dates are the task's end time.
      return (
        flagIs(finished, task.endTime !== null) &&
        flagIs(processFinished, instance.endTime !== null) &&
        inWindow(task.endTime, completedAfter, completedBefore) &&
        inWindow(task.createTime, createdAfter, createdBefore)
      );
    });
    return sorted(
      tasks,
      url,
      {
        taskInstanceId: (t) => t.seq,
        startTime: (t) => t.createTime.getTime() * 1e4 + (t.seq % 1e4),
        endTime: (t) => (t.endTime ? t.endTime.getTime() : null),
        name: (t) => t.name,
        assignee: (t) => t.assignee,
      },
      'taskInstanceId',
    );
  }

  // --------------------------------------------------------------------------------- routes

  async function service(
    method: string,
    rest: string,
    url: URL,
    raw: Buffer,
    caller: Caller,
  ): Promise<WorkflowReply> {
    const q = url.searchParams;
    const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
    const [resource, id, sub, subId] = parts;
    if (parts.length > 4) throw new HttpError(404, 'Not found', `No route for ${method} ${rest}`);

    if (resource === 'process-instances' && id === 'executions') {
      if (method === 'GET' && sub === undefined) {
        const instanceId = q.get('processInstanceId');
        const executions = engine
          .instances()
          .filter((i) => !i.endTime && (instanceId === null || i.id === instanceId))
          .flatMap((i) => [executionJson(i, true), ...(i.activityId ? [executionJson(i, false)] : [])]);
        return reply(
          200,
          hal(url, 'executions', executions, (e) => e),
        );
      }
      if (method === 'PUT' && sub !== undefined && subId === undefined) {
        const body = parseJson(raw);
        if (!body || typeof body !== 'object')
          throw new HttpError(400, 'Bad request', 'A request body was expected');
        const ended = engine.act(sub, body as Record<string, unknown>);
        if (ended) return reply(204);
        const { instance } = engine.execution(sub);
        return reply(200, executionJson(instance, instance.id === sub));
      }
    }
    if (resource === 'process-instances') {
      if (id === undefined) {
        if (method === 'POST') {
          const body = parseJson(raw) as Record<string, unknown> | undefined;
          if (!body || typeof body !== 'object')
            throw new HttpError(400, 'Bad request', 'A request body was expected');
          const instance = engine.start(body, caller);
          return reply(201, instanceJson(instance, body.returnVariables === true));
        }
        if (method === 'GET') {
          const withVariables = bool(q, 'includeProcessVariables') === true;
          const list = engine.instances().filter((i) => {
            const definition = definitionOf(i);
            if (i.endTime) return false;
            if (q.get('businessKey') !== null && i.businessKey !== q.get('businessKey')) return false;
            if (q.get('processDefinitionKey') !== null && definition.key !== q.get('processDefinitionKey'))
              return false;
            if (q.get('processDefinitionId') !== null && definition.id !== q.get('processDefinitionId'))
              return false;
            if (q.get('id') !== null && i.id !== q.get('id')) return false;
            return true;
          });
          const ordered = sorted(
            list,
            url,
            {
              id: (i) => i.seq,
              startTime: (i) => i.startTime.getTime(),
              processDefinitionKey: (i) => definitionOf(i).key,
              businessKey: (i) => i.businessKey,
            },
            'id',
          );
          return reply(
            200,
            hal(url, 'process-instances', ordered, (i) => instanceJson(i, withVariables)),
          );
        }
      } else if (sub === undefined) {
        if (method === 'GET') {
          return reply(
            200,
            instanceJson(engine.runtimeInstance(id), bool(q, 'includeProcessVariables') === true),
          );
        }
        if (method === 'PUT') {
          const body = parseJson(raw) as { action?: unknown } | undefined;
          if (body?.action !== 'suspend' && body?.action !== 'activate') {
            throw new HttpError(400, 'Bad request', `Invalid action: '${String(body?.action)}'.`);
          }
          return reply(200, instanceJson(engine.setSuspended(id, body.action === 'suspend'), false));
        }
        if (method === 'DELETE') {
          engine.delete(id, q.get('deleteReason'));
          return reply(204);
        }
      } else if (sub === 'variables') {
        const instance = engine.runtimeInstance(id);
        if (subId === undefined && method === 'GET') {
          return reply(
            200,
            hal(url, 'variables', [...instance.variables.values()], (v) => restVariable(v, 'local')),
          );
        }
        if (subId === undefined && method === 'POST') {
          const created = engine.createVariables(id, parseJson(raw));
          return reply(
            201,
            created.map((v) => restVariable(v, 'local')),
          );
        }
        if (subId !== undefined && method === 'GET') {
          const variable = instance.variables.get(subId);
          if (!variable)
            throw new HttpError(
              404,
              'Not found',
              `Process instance '${id}' does not have a variable with name: '${subId}'.`,
            );
          return reply(200, restVariable(variable, 'local'));
        }
        if (subId !== undefined && method === 'PUT') {
          return reply(200, restVariable(engine.putVariable(id, parseJson(raw), subId, false), 'local'));
        }
        if (subId !== undefined && method === 'DELETE') {
          engine.deleteVariable(id, subId);
          return reply(204);
        }
      } else if (sub === 'comments') {
        const instance = engine.runtimeInstance(id);
        if (subId === undefined && method === 'GET') {
          return reply(
            200,
            hal(url, 'comments', instance.comments, (c) => commentJson(instance, c)),
          );
        }
        if (subId === undefined && method === 'POST') {
          const body = parseJson(raw) as { message?: unknown } | undefined;
          return reply(201, commentJson(instance, engine.addComment(id, body?.message, caller)));
        }
        if (subId !== undefined && method === 'DELETE') {
          engine.deleteComment(id, subId);
          return reply(204);
        }
      }
    }
    if (resource === 'tasks') {
      if (id === undefined && method === 'GET') {
        const include = {
          processVariables: bool(q, 'includeProcessVariables'),
          localVariables: bool(q, 'includeTaskLocalVariables'),
        };
        return reply(
          200,
          hal(url, 'tasks', taskList(url), (t) => taskJson(t, include)),
        );
      }
      if (id !== undefined && sub === undefined && method === 'GET') {
        const include = {
          processVariables: bool(q, 'includeProcessVariables'),
          localVariables: bool(q, 'includeTaskLocalVariables'),
        };
        return reply(200, taskJson(engine.runtimeTask(id), include));
      }
      if (id !== undefined && sub === undefined && method === 'POST') {
        const body = parseJson(raw) as Record<string, unknown> | undefined;
        if (!body || typeof body !== 'object')
          throw new HttpError(
            400,
            'Bad request',
            'A request body was expected when executing a task action.',
          );
        taskAction(id, body, caller);
        // Flowable answers 200 with an empty body (reference §7.10).
        return reply(200);
      }
    }
    throw new HttpError(404, 'Not found', `No route for ${method} ${rest}`);
  }

  function executionJson(instance: Instance, root: boolean) {
    return {
      id: root ? instance.id : instance.executionId,
      parentId: root ? null : instance.id,
      activityId: root ? null : instance.activityId,
      processInstanceId: instance.id,
      superExecutionId: null,
      suspended: instance.suspended,
      tenantId,
      links: { empty: true },
    };
  }

  function taskAction(id: string, body: Record<string, unknown>, caller: Caller): void {
    switch (body.action) {
      case 'claim':
        return engine.claim(id, body.assignee);
      case 'unclaim':
        return engine.unclaim(id);
      case 'complete':
        return engine.complete(id, { outcome: body.outcome, variables: body.variables }, caller);
      case 'delegate':
        return engine.delegate(id, body.assignee);
      case 'resolve':
        return engine.resolve(id);
      default:
        // Flowable's wording for an unknown action (TaskResource).
        throw new HttpError(400, 'Bad request', `Invalid action: '${String(body.action)}'.`);
    }
  }

  function history(method: string, rest: string, url: URL): WorkflowReply {
    const q = url.searchParams;
    const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
    if (method !== 'GET' || parts.length > 2)
      throw new HttpError(404, 'Not found', `No route for ${method} ${rest}`);
    const [resource, id] = parts;
    if (resource === 'historic-process-instances') {
      const include = {
        variables: bool(q, 'includeProcessVariables'),
        comments: bool(q, 'includeProcessComments'),
      };
      if (id !== undefined) {
        const instance = engine.findInstance(id);
        if (!instance)
          throw new HttpError(404, 'Not found', `Could not find a process instance with id '${id}'.`);
        return reply(200, historicInstanceJson(instance, include));
      }
      // [I] the _embedded key (reference §13.9): the fake's pick.
      return reply(
        200,
        hal(url, 'historic-process-instances', historicInstanceList(url), (i) =>
          historicInstanceJson(i, include),
        ),
      );
    }
    if (resource === 'historic-task-instances' && id === undefined) {
      const include = {
        processVariables: bool(q, 'includeProcessVariables'),
        localVariables: bool(q, 'includeTaskLocalVariables'),
      };
      // [I] the _embedded key (reference §13.9): the fake's pick.
      return reply(
        200,
        hal(url, 'historic-task-instances', historicTaskList(url), (t) => historicTaskJson(t, include)),
      );
    }
    throw new HttpError(404, 'Not found', `No route for ${method} ${rest}`);
  }

  // ------------------------------------------------------------------------------- dispatch

  /**
   * The transport-blind core: one request in, one answer out (`'reset'` when an injected fault
   * drops the connection), or null for a path outside both APIs. `handle` (node's http) and
   * `handler` (the combined OpenText fake's module seam) are thin adapters over it.
   */
  async function answer(request: {
    method: string;
    url: URL;
    body: Buffer;
    caller: Caller;
  }): Promise<WorkflowReply | 'reset' | null> {
    const { method, url, caller } = request;
    const within = (prefix: string) => url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
    const api = within(servicePath) ? 'service' : within(historyPath) ? 'history' : null;
    if (api === null) return null;
    const rest = url.pathname.slice((api === 'service' ? servicePath : historyPath).length) || '/';
    requests.push({
      api,
      method,
      path: rest,
      query: Object.fromEntries(url.searchParams),
      caller: caller.sub,
    });

    const rule = faults.find(
      (f) =>
        f.left > 0 &&
        (!f.method || f.method === method) &&
        (!f.api || f.api === api) &&
        (!f.path || f.path.test(rest)),
    );
    if (rule) {
      rule.left -= 1;
      switch (rule.kind) {
        case 'reset':
          return 'reset';
        case '429':
        case '503': {
          const status = Number(rule.kind);
          const headers: Record<string, string> =
            rule.retryAfterSec === undefined ? {} : { 'retry-after': String(rule.retryAfterSec) };
          // [I] an Apigee-style gateway body (reference §10): nothing public shows these answers.
          return reply(
            status,
            {
              fault: {
                faultstring: status === 429 ? 'Rate limit exceeded' : 'Service unavailable',
                detail: { errorcode: `fake.${status}` },
              },
            },
            headers,
          );
        }
        case '502':
          return reply(502, { fault: { faultstring: 'Bad gateway', detail: { errorcode: 'fake.502' } } });
        case 'slow':
          await sleep(rule.delayMs ?? 2_000);
          break;
      }
    }

    try {
      engine.fireDueTimers();
      return api === 'service'
        ? await service(method, rest, url, request.body, caller)
        : history(method, rest, url);
    } catch (error) {
      if (error instanceof EngineError || error instanceof HttpError) {
        // Flowable's ErrorInfo body (reference §7.13).
        return reply(error.status, { message: error.short, exception: error.detail });
      }
      return reply(500, {
        message: 'Internal server error',
        exception: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    caller: Caller,
  ): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answered = await answer({ method: req.method ?? 'GET', url, body: Buffer.concat(chunks), caller });
    if (answered === null) return false;
    if (answered === 'reset') {
      req.socket.destroy();
      return true;
    }
    if (answered.body === undefined) {
      res.writeHead(answered.status, answered.headers).end();
      return true;
    }
    const text = JSON.stringify(answered.body);
    res
      .writeHead(answered.status, { 'content-length': String(Buffer.byteLength(text)), ...answered.headers })
      .end(text);
    return true;
  }

  // ---------------------------------------------------------------------------------- hooks

  function uiTask(c: Omit<UiCompletion, 'outcome' | 'comment' | 'variables'>): Task {
    const candidates = engine.tasks().filter((task) => {
      if (task.endTime) return false;
      if (c.taskId !== undefined) return task.id === c.taskId;
      const instance = engine.findInstance(task.instanceId)!;
      return (
        instance.businessKey === c.businessKey && (c.taskKey === undefined || task.elementId === c.taskKey)
      );
    });
    const task = candidates[0];
    if (!task) throw new Error(`no open task for ${JSON.stringify(c)}`);
    // OpenText's UI shows a user the tasks of their groups, or those assigned to them.
    userGroups.set(c.user, c.groups);
    if (task.assignee !== c.user && !isCandidate(task, c.user)) {
      throw new Error(
        `${c.user} (groups ${c.groups.join(', ')}) is not a candidate for task ${task.elementId}`,
      );
    }
    return task;
  }

  const hooks: WorkflowFakeHooks = {
    advanceTime: (ms) => engine.advanceTime(ms),
    now: () => engine.now(),
    claimAsUser(c) {
      const task = uiTask(c);
      engine.claim(task.id, c.user);
      return { taskId: task.id };
    },
    completeAsUser(c) {
      const task = uiTask(c);
      engine.claim(task.id, c.user);
      const variables = [...(c.variables ?? [])];
      if (c.comment !== undefined) variables.push({ name: 'comment', type: 'string', value: c.comment });
      engine.complete(task.id, { outcome: c.outcome, variables }, { sub: c.user, groups: c.groups });
      return { taskId: task.id };
    },
    fault(rule) {
      const entry = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
      faults.push(entry);
      return () => {
        const index = faults.indexOf(entry);
        if (index >= 0) faults.splice(index, 1);
      };
    },
    clearFaults: () => void faults.splice(0, faults.length),
    requests,
    deploy: (xml) => void engine.deploy(loadProcessModels(xml)),
    instancesByBusinessKey: (businessKey) => engine.instances().filter((i) => i.businessKey === businessKey),
    openTasks: (businessKey) =>
      engine
        .tasks()
        .filter(
          (t) =>
            !t.endTime &&
            (businessKey === undefined || engine.findInstance(t.instanceId)?.businessKey === businessKey),
        ),
    engine,
  };

  return { handle, answer, hooks };
}

/** `nameLike` as Flowable's SQL LIKE: `%` any run, `_` one character. */
function likeMatch(value: string, pattern: string): boolean {
  const source = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}
