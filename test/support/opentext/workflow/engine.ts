/**
 * A minimal Flowable-like engine: it runs the BPMN models (bpmn.ts) one token per instance, keeps
 * runtime and history, and fails the way Flowable's REST layer fails (EngineError carries the HTTP
 * status and the `{message, exception}` body). Every operation is a transaction: when it fails,
 * nothing it did stays (Flowable rolls back the command's database transaction the same way).
 */
import { randomUUID } from 'node:crypto';
import type { BpmnElement, Listener, ProcessModel, SequenceFlow } from './bpmn.js';
import { condition, evaluate, ExpressionError, interpolate, type ExpressionScope } from './expression.js';

export class EngineError extends Error {
  constructor(
    readonly status: number,
    /** Flowable's short text for the status: `Bad request`, `Not found`... */
    readonly short: string,
    /** The detail (Flowable's exception message). */
    readonly detail: string,
  ) {
    super(detail);
  }
}

const badRequest = (detail: string) => new EngineError(400, 'Bad request', detail);
const notFound = (detail: string) => new EngineError(404, 'Not found', detail);

export interface Caller {
  readonly sub: string;
  readonly groups: readonly string[];
}

export type VariableType = 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'date' | 'json';
export interface Variable {
  readonly name: string;
  readonly type: VariableType;
  readonly value: unknown;
}

export interface Definition {
  readonly id: string;
  readonly key: string;
  readonly version: number;
  readonly model: ProcessModel;
}

export interface Comment {
  readonly id: string;
  readonly author: string;
  readonly message: string;
  readonly time: Date;
}

export interface Instance {
  readonly id: string;
  readonly seq: number;
  readonly definitionId: string;
  readonly businessKey: string | null;
  readonly name: string | null;
  readonly startTime: Date;
  readonly startUserId: string;
  /** The child execution that carries the token (Flowable keeps one for a sequential process). */
  readonly executionId: string;
  /** The element the token waits in; null once ended. */
  activityId: string | null;
  endTime: Date | null;
  endActivityId: string | null;
  deleteReason: string | null;
  suspended: boolean;
  variables: Map<string, Variable>;
  comments: Comment[];
}

export interface Task {
  readonly id: string;
  readonly seq: number;
  readonly instanceId: string;
  readonly executionId: string;
  readonly definitionId: string;
  readonly elementId: string;
  readonly name: string;
  readonly description: string | null;
  readonly candidateGroups: readonly string[];
  readonly candidateUsers: readonly string[];
  readonly createTime: Date;
  readonly dueDate: Date | null;
  assignee: string | null;
  owner: string | null;
  delegationState: 'pending' | 'resolved' | null;
  claimTime: Date | null;
  endTime: Date | null;
  deleteReason: string | null;
  localVariables: Map<string, Variable>;
}

interface Job {
  readonly id: string;
  readonly instanceId: string;
  /** The timer element: a boundary event or an intermediate catch event. */
  readonly elementId: string;
  readonly dueAt: Date;
  readonly taskId: string | null;
}

interface State {
  seq: number;
  instances: Map<string, Instance>;
  tasks: Map<string, Task>;
  jobs: Map<string, Job>;
}

/** The variables the REST layer accepts (reference §7): a RestVariable as sent. */
export interface RestVariableIn {
  name?: unknown;
  type?: unknown;
  value?: unknown;
  scope?: unknown;
}

/** An ISO-8601 duration (`P2D`, `PT5M`, `P1DT12H`) in milliseconds; null when it is not one. */
export function durationMs(text: string): number | null {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return null;
  const [, w, d, h, min, s] = m;
  return (
    ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 24 * 3600 +
      Number(h ?? 0) * 3600 +
      Number(min ?? 0) * 60 +
      Number(s ?? 0)) *
    1000
  );
}

export class WorkflowEngine {
  private state: State = { seq: 0, instances: new Map(), tasks: new Map(), jobs: new Map() };
  private readonly definitions = new Map<string, Definition>();
  private clockOffsetMs = 0;
  private lastNow = 0;

  constructor(readonly tenantId: string) {}

  // ------------------------------------------------------------------------------- deployment

  /** Deploys models; a key deployed again gets the next version, and new instances use it. */
  deploy(models: readonly ProcessModel[]): Definition[] {
    return models.map((model) => {
      checkRunnable(model);
      const version =
        Math.max(
          0,
          ...[...this.definitions.values()].filter((d) => d.key === model.key).map((d) => d.version),
        ) + 1;
      const definition: Definition = {
        id: `${model.key}:${version}:${randomUUID()}`,
        key: model.key,
        version,
        model,
      };
      this.definitions.set(definition.id, definition);
      return definition;
    });
  }

  definition(id: string): Definition {
    const definition = this.definitions.get(id);
    if (!definition) throw new Error(`unknown definition ${id}`);
    return definition;
  }

  latestDefinition(key: string): Definition | undefined {
    return [...this.definitions.values()]
      .filter((d) => d.key === key)
      .sort((a, b) => b.version - a.version)[0];
  }

  // ------------------------------------------------------------------------------------ clock

  /** The fake's clock: wall time plus what a test advanced it by; strictly increasing per call. */
  now(): Date {
    const t = Math.max(Date.now() + this.clockOffsetMs, this.lastNow + 1);
    this.lastNow = t;
    return new Date(t);
  }

  /** Fake-only: moves the clock forward and fires the timers that fall due. */
  advanceTime(ms: number): void {
    this.clockOffsetMs += ms;
    this.fireDueTimers();
  }

  /** Fires every timer job whose due time has passed, oldest first. */
  fireDueTimers(): void {
    const now = Date.now() + this.clockOffsetMs;
    const due = [...this.state.jobs.values()].filter((job) => job.dueAt.getTime() <= now);
    due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
    for (const job of due) {
      if (!this.state.jobs.has(job.id)) continue; // cancelled by an earlier one
      try {
        this.transaction(() => this.fire(job));
      } catch {
        // Flowable's job executor retries a failing timer and then parks it as a dead-letter job;
        // it never fails the unrelated request that happened to come next. The fake parks it at once.
        this.state.jobs.delete(job.id);
      }
    }
  }

  // ------------------------------------------------------------------------------ transactions

  private transaction<T>(work: () => T): T {
    const snapshot = structuredClone(this.state);
    try {
      return work();
    } catch (error) {
      this.state = snapshot;
      if (error instanceof ExpressionError)
        throw new EngineError(500, 'Internal server error', error.message);
      throw error;
    }
  }

  // ------------------------------------------------------------------------------- instances

  start(
    input: {
      processDefinitionKey?: unknown;
      processDefinitionId?: unknown;
      message?: unknown;
      businessKey?: unknown;
      name?: unknown;
      variables?: unknown;
    },
    caller: Caller,
  ): Instance {
    const given = [input.processDefinitionKey, input.processDefinitionId, input.message].filter(
      (v) => v !== undefined && v !== null,
    );
    if (given.length === 0) {
      throw badRequest('Either processDefinitionId, processDefinitionKey or message is required.');
    }
    if (given.length > 1) {
      throw badRequest('Only one of processDefinitionId, processDefinitionKey or message should be set.');
    }
    let definition: Definition | undefined;
    if (typeof input.processDefinitionKey === 'string') {
      definition = this.latestDefinition(input.processDefinitionKey);
      if (!definition) throw badRequest(`no processes deployed with key '${input.processDefinitionKey}'`);
    } else if (typeof input.processDefinitionId === 'string') {
      definition = this.definitions.get(input.processDefinitionId);
      if (!definition)
        throw badRequest(`no deployed process definition found with id '${input.processDefinitionId}'`);
    } else if (input.message !== undefined) {
      // None of the models has a message start event.
      throw badRequest(
        `Cannot start process instance by message: no subscription to message with name '${String(input.message)}'`,
      );
    }
    if (!definition)
      throw badRequest('processDefinitionKey, processDefinitionId and message must be strings');
    const variables = parseVariables(input.variables);
    const chosen = definition;
    return this.transaction(() => {
      const id = randomUUID();
      const instance: Instance = {
        id,
        seq: ++this.state.seq,
        definitionId: chosen.id,
        businessKey: typeof input.businessKey === 'string' ? input.businessKey : null,
        name: typeof input.name === 'string' ? input.name : null,
        startTime: this.now(),
        startUserId: caller.sub,
        executionId: randomUUID(),
        activityId: chosen.model.startId,
        endTime: null,
        endActivityId: null,
        deleteReason: null,
        suspended: false,
        variables: new Map(variables.map((v) => [v.name, v])),
        comments: [],
      };
      this.state.instances.set(id, instance);
      this.run(instance, chosen.model.startId);
      return this.instance(id);
    });
  }

  /** Any instance, running or finished (history); null when unknown. */
  findInstance(id: string): Instance | null {
    return this.state.instances.get(id) ?? null;
  }

  private instance(id: string): Instance {
    const instance = this.state.instances.get(id);
    if (!instance) throw new Error(`instance ${id} vanished`);
    return instance;
  }

  /** A running instance; a finished one is only in history (404), as Flowable's runtime API. */
  runtimeInstance(id: string): Instance {
    const instance = this.state.instances.get(id);
    if (!instance || instance.endTime) throw notFound(`Could not find a process instance with id '${id}'.`);
    return instance;
  }

  instances(): Instance[] {
    return [...this.state.instances.values()].sort((a, b) => a.seq - b.seq);
  }

  setSuspended(id: string, suspended: boolean): Instance {
    const instance = this.runtimeInstance(id);
    if (instance.suspended === suspended) {
      throw new EngineError(
        409,
        'Conflict',
        `Process instance with id '${id}' is already ${suspended ? 'suspended' : 'active'}`,
      );
    }
    instance.suspended = suspended;
    return instance;
  }

  delete(id: string, deleteReason: string | null): void {
    const instance = this.runtimeInstance(id);
    this.transaction(() => this.end(instance, null, deleteReason ?? 'Process instance deleted'));
  }

  // ----------------------------------------------------------------------------------- tasks

  tasks(): Task[] {
    return [...this.state.tasks.values()].sort((a, b) => a.seq - b.seq);
  }

  /** An open task; a completed one has left the runtime API (404). */
  runtimeTask(id: string): Task {
    const task = this.state.tasks.get(id);
    if (!task || task.endTime) throw notFound(`Could not find a task with id '${id}'.`);
    return task;
  }

  claim(id: string, assignee: unknown): void {
    const task = this.runtimeTask(id);
    if (typeof assignee !== 'string' || assignee === '') {
      throw badRequest('An assignee is required when claiming a task.');
    }
    this.refuseSuspended(task);
    if (task.assignee !== null && task.assignee !== assignee) {
      throw new EngineError(
        409,
        'Task was already claimed',
        `Task '${id}' is already claimed by someone else.`,
      );
    }
    if (task.assignee === assignee) return;
    task.assignee = assignee;
    task.claimTime = this.now();
  }

  unclaim(id: string): void {
    const task = this.runtimeTask(id);
    this.refuseSuspended(task);
    task.assignee = null;
    task.claimTime = null;
  }

  delegate(id: string, assignee: unknown): void {
    const task = this.runtimeTask(id);
    if (typeof assignee !== 'string' || assignee === '') {
      throw badRequest('An assignee is required when delegating a task.');
    }
    task.owner = task.owner ?? task.assignee;
    task.assignee = assignee;
    task.delegationState = 'pending';
  }

  resolve(id: string): void {
    const task = this.runtimeTask(id);
    task.assignee = task.owner;
    task.delegationState = 'resolved';
  }

  complete(id: string, input: { outcome?: unknown; variables?: unknown }, caller: Caller): void {
    const task = this.runtimeTask(id);
    this.refuseSuspended(task);
    const instance = this.instance(task.instanceId);
    const element = this.definition(task.definitionId).model.elements.get(task.elementId);
    if (element?.kind !== 'userTask') throw new Error(`task ${id} is not at a user task`);
    // Four-eyes of the model (`initiatorCanCompleteTask: false`). Workflow Service's answer is not
    // documented (reference §13.10); the fake's pick is 403 [I].
    if (!element.initiatorCanComplete && caller.sub === instance.startUserId) {
      throw new EngineError(
        403,
        'Forbidden',
        `The process initiator '${caller.sub}' is not allowed to complete task '${id}'.`,
      );
    }
    const variables = parseVariables(input.variables);
    // OCP sets the task's outcome variable from `outcome` (reference §7.10); in our models the
    // outcome variable is the task's enum form property, its values the possible outcomes [I].
    const outcomeProperty = element.formProperties.find((p) => p.type === 'enum');
    if (input.outcome !== undefined && input.outcome !== null && outcomeProperty) {
      if (typeof input.outcome !== 'string' || !outcomeProperty.values.includes(input.outcome)) {
        throw badRequest(
          `Invalid outcome '${String(input.outcome)}' for task '${task.elementId}': expected one of ${outcomeProperty.values.join(', ')}`,
        );
      }
      variables.unshift({ name: outcomeProperty.id, type: 'string', value: input.outcome });
    }
    this.transaction(() => {
      // Flowable's REST complete sets every variable on the process instance, whatever its scope.
      for (const variable of variables) instance.variables.set(variable.name, variable);
      this.finishTask(task, null);
      this.leave(instance, element);
    });
  }

  private refuseSuspended(task: Task): void {
    // Flowable refuses to act on a suspended task; its REST status for it is not in the material [I].
    if (this.instance(task.instanceId).suspended)
      throw badRequest(`Cannot act on task '${task.id}': it is suspended`);
  }

  // ------------------------------------------------------------------------------- variables

  putVariable(instanceId: string, raw: unknown, name: string, create: boolean): Variable {
    const instance = this.runtimeInstance(instanceId);
    const [variable] = parseVariables([{ ...(raw as object), name }]);
    if (!variable) throw badRequest('A variable is required');
    if (create && instance.variables.has(name)) {
      throw new EngineError(
        409,
        'Conflict',
        `Variable '${name}' is already present on execution '${instanceId}'.`,
      );
    }
    instance.variables.set(name, variable);
    return variable;
  }

  createVariables(instanceId: string, raw: unknown): Variable[] {
    const instance = this.runtimeInstance(instanceId);
    if (!Array.isArray(raw)) throw badRequest('Request did not contain a list of variables to create.');
    const variables = parseVariables(raw);
    for (const variable of variables) {
      if (instance.variables.has(variable.name)) {
        throw new EngineError(
          409,
          'Conflict',
          `Variable '${variable.name}' is already present on execution '${instanceId}'.`,
        );
      }
    }
    for (const variable of variables) instance.variables.set(variable.name, variable);
    return variables;
  }

  deleteVariable(instanceId: string, name: string): void {
    const instance = this.runtimeInstance(instanceId);
    if (!instance.variables.delete(name)) {
      throw notFound(`Process instance '${instanceId}' does not have a variable with name: '${name}'.`);
    }
  }

  // -------------------------------------------------------------------------------- comments

  addComment(instanceId: string, message: unknown, caller: Caller): Comment {
    const instance = this.runtimeInstance(instanceId);
    if (typeof message !== 'string' || message === '') throw badRequest('Comment text is required.');
    const comment: Comment = { id: randomUUID(), author: caller.sub, message, time: this.now() };
    instance.comments.push(comment);
    return comment;
  }

  deleteComment(instanceId: string, commentId: string): void {
    const instance = this.runtimeInstance(instanceId);
    const index = instance.comments.findIndex((c) => c.id === commentId);
    if (index < 0)
      throw notFound(`Process instance '${instanceId}' does not have a comment with id '${commentId}'.`);
    instance.comments.splice(index, 1);
  }

  // ------------------------------------------------------------------------------ executions

  /** The execution with this id: a running instance's root (its own id) or its child. */
  execution(id: string): { instance: Instance; root: boolean } {
    for (const instance of this.state.instances.values()) {
      if (instance.endTime) continue;
      if (instance.id === id) return { instance, root: true };
      if (instance.executionId === id) return { instance, root: false };
    }
    throw notFound(`Could not find an execution with id '${id}'.`);
  }

  /** messageEventReceived / signalEventReceived / trigger; true when the instance ended. */
  act(executionId: string, body: Record<string, unknown>): boolean {
    const { instance } = this.execution(executionId);
    const element = instance.activityId
      ? this.definition(instance.definitionId).model.elements.get(instance.activityId)
      : undefined;
    const action = body.action;
    const waiting = (type: 'message' | 'signal', name: unknown) =>
      element?.kind === 'intermediateCatchEvent' &&
      element.trigger.type === type &&
      element.trigger.name === name;
    if (action === 'messageEventReceived') {
      if (typeof body.messageName !== 'string') throw badRequest('Message name is required');
      if (!waiting('message', body.messageName)) {
        throw badRequest(
          `Execution with id '${executionId}' does not have a subscription to a message event with name '${body.messageName}'`,
        );
      }
    } else if (action === 'signalEventReceived') {
      if (typeof body.signalName !== 'string') throw badRequest('Signal name is required');
      if (!waiting('signal', body.signalName)) {
        throw badRequest(
          `Execution '${executionId}' has not subscribed to a signal event with name '${body.signalName}'.`,
        );
      }
    } else if (action === 'trigger' || action === 'signal') {
      if (element?.kind !== 'receiveTask' && element?.kind !== 'intermediateCatchEvent') {
        throw badRequest(`Execution '${executionId}' is not waiting in a receive task or catch event.`);
      }
    } else {
      throw badRequest(`Invalid action: '${String(action)}'.`);
    }
    if (!element) throw badRequest(`Execution '${executionId}' is not waiting`);
    const variables = parseVariables(body.variables);
    return this.transaction(() => {
      for (const variable of variables) instance.variables.set(variable.name, variable);
      for (const job of [...this.state.jobs.values()]) {
        if (job.instanceId === instance.id && job.elementId === element.id) this.state.jobs.delete(job.id);
      }
      this.leave(instance, element);
      return instance.endTime !== null;
    });
  }

  // ----------------------------------------------------------------------------- the token

  private scope(instance: Instance): ExpressionScope {
    return {
      has: (name) => instance.variables.has(name),
      get: (name) => instance.variables.get(name)?.value ?? null,
      set: (name, value) => instance.variables.set(name, { name, type: typeOf(value), value }),
    };
  }

  private listeners(instance: Instance, listeners: readonly Listener[], event: string): void {
    for (const listener of listeners)
      if (listener.event === event) evaluate(listener.expression, this.scope(instance));
  }

  /** Moves the token from `elementId` on until it waits or the process ends. */
  private run(instance: Instance, elementId: string): void {
    const model = this.definition(instance.definitionId).model;
    let element = model.elements.get(elementId);
    for (let steps = 0; element; steps += 1) {
      if (steps > 10_000) throw new EngineError(500, 'Internal server error', `endless loop in ${model.key}`);
      instance.activityId = element.id;
      this.listeners(instance, element.listeners, 'start');
      switch (element.kind) {
        case 'startEvent':
        case 'boundaryEvent':
          element = this.take(instance, element, this.only(model, element));
          break;
        case 'exclusiveGateway':
          element = this.take(instance, element, this.choose(instance, model, element));
          break;
        case 'endEvent':
          this.listeners(instance, element.listeners, 'end');
          this.end(instance, element.id, null);
          return;
        case 'userTask':
          this.createTask(instance, element);
          return;
        case 'intermediateCatchEvent':
          if (element.trigger.type === 'timer')
            this.schedule(instance, element.id, element.trigger.duration, null);
          return;
        case 'receiveTask':
          return;
      }
    }
  }

  /** Leaves a wait state (a completed task, a received message, a fired timer) along its flow. */
  private leave(instance: Instance, element: BpmnElement): void {
    const model = this.definition(instance.definitionId).model;
    this.listeners(instance, element.listeners, 'end');
    const next = this.take(instance, element, this.only(model, element));
    if (next) this.run(instance, next.id);
  }

  private take(instance: Instance, from: BpmnElement, flow: SequenceFlow): BpmnElement | undefined {
    if (from.kind !== 'userTask' && from.kind !== 'intermediateCatchEvent' && from.kind !== 'receiveTask') {
      this.listeners(instance, from.listeners, 'end');
    }
    this.listeners(instance, flow.listeners, 'take');
    return this.definition(instance.definitionId).model.elements.get(flow.target);
  }

  private only(model: ProcessModel, element: BpmnElement): SequenceFlow {
    const flows = model.outgoing.get(element.id) ?? [];
    if (flows.length !== 1)
      throw new EngineError(500, 'Internal server error', `${element.id} has ${flows.length} outgoing flows`);
    return flows[0]!;
  }

  private choose(
    instance: Instance,
    model: ProcessModel,
    gateway: Extract<BpmnElement, { kind: 'exclusiveGateway' }>,
  ): SequenceFlow {
    const flows = model.outgoing.get(gateway.id) ?? [];
    for (const flow of flows) {
      if (flow.id === gateway.defaultFlow) continue;
      if (flow.condition === null || condition(flow.condition, this.scope(instance))) return flow;
    }
    const fallback = flows.find((flow) => flow.id === gateway.defaultFlow);
    if (fallback) return fallback;
    throw new EngineError(
      500,
      'Internal server error',
      `No outgoing sequence flow of the exclusive gateway '${gateway.id}' could be selected for continuing the process`,
    );
  }

  private createTask(instance: Instance, element: Extract<BpmnElement, { kind: 'userTask' }>): void {
    const scope = this.scope(instance);
    const resolveList = (items: readonly string[]) =>
      items.flatMap((item) => {
        const value = evaluate(item, scope);
        return Array.isArray(value)
          ? value.map(String)
          : String(value)
              .split(',')
              .map((s) => s.trim());
      });
    const now = this.now();
    let dueDate: Date | null = null;
    if (element.dueDate) {
      const value = String(evaluate(element.dueDate, scope));
      const ms = durationMs(value);
      dueDate = ms === null ? new Date(value) : new Date(now.getTime() + ms);
    }
    const task: Task = {
      id: randomUUID(),
      seq: ++this.state.seq,
      instanceId: instance.id,
      executionId: instance.executionId,
      definitionId: instance.definitionId,
      elementId: element.id,
      name: interpolate(element.name ?? element.id, scope),
      description: element.documentation ? interpolate(element.documentation, scope) : null,
      candidateGroups: resolveList(element.candidateGroups),
      candidateUsers: resolveList(element.candidateUsers),
      createTime: now,
      dueDate,
      assignee: element.assignee ? String(evaluate(element.assignee, scope)) : null,
      owner: null,
      delegationState: null,
      claimTime: null,
      endTime: null,
      deleteReason: null,
      localVariables: new Map(),
    };
    this.state.tasks.set(task.id, task);
    const model = this.definition(instance.definitionId).model;
    for (const boundary of model.elements.values()) {
      if (
        boundary.kind === 'boundaryEvent' &&
        boundary.attachedTo === element.id &&
        boundary.trigger.type === 'timer'
      ) {
        this.schedule(instance, boundary.id, boundary.trigger.duration, task.id);
      }
    }
  }

  private schedule(instance: Instance, elementId: string, duration: string, taskId: string | null): void {
    const ms = durationMs(duration);
    if (ms === null)
      throw new EngineError(500, 'Internal server error', `not an ISO-8601 duration: ${duration}`);
    const job: Job = {
      id: randomUUID(),
      instanceId: instance.id,
      elementId,
      dueAt: new Date(this.now().getTime() + ms),
      taskId,
    };
    this.state.jobs.set(job.id, job);
  }

  private fire(job: Job): void {
    this.state.jobs.delete(job.id);
    const instance = this.state.instances.get(job.instanceId);
    if (!instance || instance.endTime) return;
    const model = this.definition(instance.definitionId).model;
    const element = model.elements.get(job.elementId);
    if (!element) return;
    if (element.kind === 'boundaryEvent') {
      const task = job.taskId ? this.state.tasks.get(job.taskId) : undefined;
      if (!task || task.endTime) return;
      // Flowable's delete reason for a task an interrupting boundary event ended [I: wording].
      this.finishTask(task, `boundary event interrupting (${element.id})`);
      this.run(instance, element.id);
    } else {
      this.leave(instance, element);
    }
  }

  private finishTask(task: Task, deleteReason: string | null): void {
    task.endTime = this.now();
    task.deleteReason = deleteReason;
    for (const job of [...this.state.jobs.values()])
      if (job.taskId === task.id) this.state.jobs.delete(job.id);
  }

  private end(instance: Instance, endActivityId: string | null, deleteReason: string | null): void {
    for (const task of this.state.tasks.values()) {
      if (task.instanceId === instance.id && !task.endTime)
        this.finishTask(task, deleteReason ?? 'process ended');
    }
    for (const job of [...this.state.jobs.values()])
      if (job.instanceId === instance.id) this.state.jobs.delete(job.id);
    instance.endTime = this.now();
    instance.endActivityId = endActivityId;
    instance.deleteReason = deleteReason;
    instance.activityId = null;
  }
}

/** Refuses a model the single-token engine cannot run faithfully (instead of running it wrongly). */
function checkRunnable(model: ProcessModel): void {
  for (const element of model.elements.values()) {
    const out = model.outgoing.get(element.id)?.length ?? 0;
    if (element.kind !== 'exclusiveGateway' && element.kind !== 'endEvent' && out !== 1) {
      throw new Error(`${model.key}: ${element.id} needs exactly one outgoing flow in the fake (has ${out})`);
    }
    if (element.kind === 'boundaryEvent' && (!element.cancelActivity || element.trigger.type !== 'timer')) {
      throw new Error(`${model.key}: the fake runs interrupting timer boundary events only (${element.id})`);
    }
  }
}

function typeOf(value: unknown): VariableType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'long' : 'double';
  return 'json';
}

const TYPES = new Set<VariableType>(['string', 'integer', 'long', 'double', 'boolean', 'date', 'json']);

/** RestVariables as the REST layer reads them: a name, a known type matching the value. */
export function parseVariables(raw: unknown): Variable[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest('variables must be an array of RestVariable');
  return raw.map((item: RestVariableIn) => {
    if (!item || typeof item !== 'object' || typeof item.name !== 'string' || item.name === '') {
      throw badRequest('Variable name is required');
    }
    const { name, value } = item;
    // No type: deduced from the JSON value (Flowable docs) [I: objects deduced as json].
    const type = item.type === undefined || item.type === null ? typeOf(value) : item.type;
    if (typeof type !== 'string' || !TYPES.has(type as VariableType)) {
      throw badRequest(`Variable '${name}' has an unsupported type: '${String(type)}'`);
    }
    const mismatch = () =>
      badRequest(
        `Variable '${name}' of type '${type}' has a value of the wrong kind: ${JSON.stringify(value)}`,
      );
    if (value === null || value === undefined) return { name, type: type as VariableType, value: null };
    switch (type as VariableType) {
      case 'string':
        if (typeof value !== 'string') throw mismatch();
        break;
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch();
        break;
      case 'double':
        if (typeof value !== 'number') throw mismatch();
        break;
      case 'boolean':
        if (typeof value !== 'boolean') throw mismatch();
        break;
      case 'date':
        if (typeof value !== 'string' || Number.isNaN(new Date(value).getTime())) throw mismatch();
        break;
      case 'json':
        break;
    }
    return { name, type: type as VariableType, value: structuredClone(value) };
  });
}
