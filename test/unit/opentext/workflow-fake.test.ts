/**
 * The Workflow Service fake, over HTTP, against the reference's shapes and state machines
 * (reference §7 and §11): what a client of the real service would see. Expected values come from
 * the reference and the contract, never from the fake's code.
 */
import { startOpenTextFake, type OpenTextFake } from '../../support/opentext/server.js';
import { createMountedWorkflowFake } from '../../support/opentext/workflow/mount.js';
import {
  startWorkflowFakeServer,
  testToken,
  type WorkflowFakeServer,
} from '../../support/opentext/workflow/server.js';

let server: WorkflowFakeServer;
const SVC = 'svc-commsgraph';

/** A fixture model (not shipped): four-eyes by the engine, an SLA timer to an expired end, a message wait. */
const FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:flowable="http://flowable.org/bpmn" xmlns:modeler="http://flowable.org/modeler" targetNamespace="urn:test">
  <message id="msgDelivered" name="documentDelivered"/>
  <process id="fixture_sla" name="Fixture with SLA" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <userTask id="approve" name="Approve" flowable:candidateGroups="approvers" flowable:dueDate="PT5M">
      <extensionElements>
        <flowable:formProperty id="approvalStatus" type="enum" required="true">
          <flowable:value id="approved" name="Approve"/><flowable:value id="rejected" name="Reject"/>
        </flowable:formProperty>
        <modeler:initiator-can-complete>false</modeler:initiator-can-complete>
      </extensionElements>
    </userTask>
    <boundaryEvent id="sla" attachedToRef="approve" cancelActivity="true">
      <timerEventDefinition><timeDuration>PT5M</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f2" sourceRef="sla" targetRef="expired">
      <extensionElements><flowable:executionListener event="take" expression="\${execution.setVariable('approvalStatus', 'expired')}"/></extensionElements>
    </sequenceFlow>
    <endEvent id="expired"/>
    <sequenceFlow id="f3" sourceRef="approve" targetRef="waitDelivery"/>
    <intermediateCatchEvent id="waitDelivery"><messageEventDefinition messageRef="msgDelivered"/></intermediateCatchEvent>
    <sequenceFlow id="f4" sourceRef="waitDelivery" targetRef="done"/>
    <endEvent id="done"/>
  </process>
</definitions>`;

beforeAll(async () => {
  server = await startWorkflowFakeServer({ extraModels: [FIXTURE] });
});
afterAll(() => server.close());
afterEach(() => server.fake.hooks.clearFaults());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test seam: asserting on arbitrary JSON answers
  json: any;
}

async function call(method: string, path: string, body?: unknown, sub = SVC): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${testToken(sub)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

const W = '/workflow/v1';
const H = '/workflow-history/v1';

function startCase(caseId: string, key: string, stages: string[], extra: object = {}) {
  return call('POST', `${W}/process-instances`, {
    processDefinitionKey: key,
    businessKey: caseId,
    name: `Case ${caseId}`,
    variables: [
      { name: 'caseId', type: 'string', value: caseId },
      { name: 'caseKind', type: 'string', value: key.replace('commsgraph_', '').toUpperCase() },
      { name: 'title', type: 'string', value: `Title of ${caseId}` },
      { name: 'requestedBy', type: 'string', value: 'alice' },
      { name: 'stages', type: 'json', value: stages },
    ],
    ...extra,
  });
}

async function openTasks(caseId: string) {
  const answer = await call('GET', `${W}/tasks?processInstanceBusinessKey=${caseId}&offset=0&count=10`);
  expect(answer.status).toBe(200);
  return (answer.json._embedded?.tasks ?? []) as Array<Record<string, unknown>>;
}

async function decide(taskId: string, key: string, outcome: string, user: string) {
  expect((await call('POST', `${W}/tasks/${taskId}`, { action: 'claim', assignee: user })).status).toBe(200);
  const done = await call('POST', `${W}/tasks/${taskId}`, {
    action: 'complete',
    outcome,
    variables: [{ name: `${key}Outcome`, type: 'string', value: outcome }],
  });
  expect(done.status).toBe(200);
  expect(done.text).toBe('');
}

describe('process instances', () => {
  test('start answers 201 with the instance; the stages run in the order of `stages`', async () => {
    const started = await startCase('CASE-ORDER', 'commsgraph_regulated_document', ['COMPLIANCE', 'REVIEW']);
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({
      businessKey: 'CASE-ORDER',
      startUserId: SVC,
      ended: false,
      suspended: false,
    });
    expect(typeof started.json.id).toBe('string');

    let [task] = await openTasks('CASE-ORDER');
    expect(task).toMatchObject({
      taskDefinitionKey: 'compliance',
      assignee: null,
      processInstanceId: started.json.id,
    });
    expect(task!.name).toBe('Compliance: Title of CASE-ORDER');
    await decide(task!.id as string, 'compliance', 'approved', 'carol');

    [task] = await openTasks('CASE-ORDER');
    expect(task).toMatchObject({ taskDefinitionKey: 'review' });
    await decide(task!.id as string, 'review', 'approved', 'bob');

    expect(await openTasks('CASE-ORDER')).toEqual([]);
    // Finished: gone from the runtime API, in history with its end.
    expect((await call('GET', `${W}/process-instances/${started.json.id}`)).status).toBe(404);
    const historic = await call(
      'GET',
      `${H}/historic-process-instances/${started.json.id}?includeProcessVariables=true`,
    );
    expect(historic.status).toBe(200);
    expect(historic.json).toMatchObject({ businessKey: 'CASE-ORDER', endActivityId: 'endApproved' });
    expect(historic.json.endTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(historic.json.durationInMillis).toBeGreaterThanOrEqual(0);
    const vars = Object.fromEntries(
      historic.json.variables.map((v: { name: string; value: unknown }) => [v.name, v.value]),
    );
    expect(vars).toMatchObject({ complianceOutcome: 'approved', reviewOutcome: 'approved' });
  });

  test('a rejection ends the process at once; later stages never open', async () => {
    const started = await startCase('CASE-REJ', 'commsgraph_correspondence', [
      'REVIEW',
      'APPROVAL',
      'COMPLIANCE',
    ]);
    const [task] = await openTasks('CASE-REJ');
    await decide(task!.id as string, 'review', 'rejected', 'bob');
    expect(await openTasks('CASE-REJ')).toEqual([]);
    const historic = await call('GET', `${H}/historic-process-instances/${started.json.id}`);
    expect(historic.json.endActivityId).toBe('endRejected');
  });

  test('empty stages and SERVICE end at once and are in history', async () => {
    for (const [caseId, key] of [
      ['CASE-EMPTY', 'commsgraph_mandatory_notice'],
      ['CASE-SVC', 'commsgraph_service'],
    ] as const) {
      const started = await startCase(caseId, key, []);
      expect(started.status).toBe(201);
      expect(started.json.ended).toBe(true);
      const list = await call('GET', `${W}/process-instances?businessKey=${caseId}`);
      expect(list.json.page.totalElements).toBe(0);
      const past = await call('GET', `${H}/historic-process-instances?businessKey=${caseId}&finished=true`);
      expect(past.json._embedded['historic-process-instances']).toHaveLength(1);
    }
  });

  test('unknown key, no key and two keys are 400 with the {message, exception} body; nothing starts', async () => {
    const unknown = await startCase('CASE-X', 'no_such_process', []);
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({
      message: 'Bad request',
      exception: expect.stringContaining('no_such_process'),
    });
    expect((await call('POST', `${W}/process-instances`, { businessKey: 'CASE-X' })).status).toBe(400);
    const both = await call('POST', `${W}/process-instances`, {
      processDefinitionKey: 'commsgraph_service',
      message: 'm',
    });
    expect(both.status).toBe(400);
    const bad = await call('POST', `${W}/process-instances`, {
      processDefinitionKey: 'commsgraph_service',
      variables: [{ name: 'stages', type: 'integer', value: 'x' }],
    });
    expect(bad.status).toBe(400);
    expect(
      (await call('GET', `${H}/historic-process-instances?businessKey=CASE-X`)).json.page.totalElements,
    ).toBe(0);
  });

  test('a model that cannot advance (no stages variable) fails the start with 500 and leaves nothing', async () => {
    const answer = await call('POST', `${W}/process-instances`, {
      processDefinitionKey: 'commsgraph_regulated_document',
      businessKey: 'CASE-NOSTAGES',
    });
    expect(answer.status).toBe(500);
    expect(answer.json.exception).toMatch(/Unknown property used in expression/);
    expect(
      (await call('GET', `${H}/historic-process-instances?businessKey=CASE-NOSTAGES`)).json.page
        .totalElements,
    ).toBe(0);
  });
});

describe('tasks', () => {
  test('candidate groups of the contract, filters, claim conflicts and the runtime 404 after completion', async () => {
    await startCase('CASE-T', 'commsgraph_regulated_document', ['REVIEW', 'APPROVAL', 'COMPLIANCE']);
    const byGroup = await call(
      'GET',
      `${W}/tasks?candidateGroup=commsgraph-reviewers&processInstanceBusinessKey=CASE-T`,
    );
    expect(byGroup.json._embedded.tasks).toHaveLength(1);
    const task = byGroup.json._embedded.tasks[0];
    expect(task.createTime).toMatch(/\+0000$/);
    expect(
      (await call('GET', `${W}/tasks?candidateGroup=commsgraph-approvers&processInstanceBusinessKey=CASE-T`))
        .json.page.totalElements,
    ).toBe(0);

    // Claim: 400 without an assignee, 200 for bob, 200 again for bob, 409 for someone else.
    const noAssignee = await call('POST', `${W}/tasks/${task.id}`, { action: 'claim' });
    expect(noAssignee.status).toBe(400);
    expect((await call('POST', `${W}/tasks/${task.id}`, { action: 'claim', assignee: 'bob' })).status).toBe(
      200,
    );
    expect((await call('POST', `${W}/tasks/${task.id}`, { action: 'claim', assignee: 'bob' })).status).toBe(
      200,
    );
    const taken = await call('POST', `${W}/tasks/${task.id}`, { action: 'claim', assignee: 'dave' });
    expect(taken.status).toBe(409);
    expect(taken.json.message).toBe('Task was already claimed');
    expect(
      (await call('GET', `${W}/tasks?assignee=bob&processInstanceBusinessKey=CASE-T`)).json.page
        .totalElements,
    ).toBe(1);
    expect(
      (await call('GET', `${W}/tasks?unassigned=true&processInstanceBusinessKey=CASE-T`)).json.page
        .totalElements,
    ).toBe(0);

    // Unclaim frees it; an unknown action is 400.
    expect((await call('POST', `${W}/tasks/${task.id}`, { action: 'unclaim' })).status).toBe(200);
    expect((await call('GET', `${W}/tasks/${task.id}`)).json.assignee).toBeNull();
    expect((await call('POST', `${W}/tasks/${task.id}`, { action: 'explode' })).status).toBe(400);

    // An outcome the task does not offer is refused and changes nothing.
    expect(
      (await call('POST', `${W}/tasks/${task.id}`, { action: 'complete', outcome: 'maybe' })).status,
    ).toBe(400);
    expect((await call('GET', `${W}/tasks/${task.id}`)).status).toBe(200);

    await decide(task.id, 'review', 'approved', 'bob');
    const gone = await call('GET', `${W}/tasks/${task.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({
      message: 'Not found',
      exception: `Could not find a task with id '${task.id}'.`,
    });

    const [next] = await openTasks('CASE-T');
    expect(next).toMatchObject({ taskDefinitionKey: 'approval' });
    const withVars = await call('GET', `${W}/tasks/${next!.id}?includeProcessVariables=true`);
    const stages = withVars.json.variables.find((v: { name: string }) => v.name === 'stages');
    expect(stages).toMatchObject({
      type: 'json',
      value: ['REVIEW', 'APPROVAL', 'COMPLIANCE'],
      scope: 'global',
      encryption: false,
    });

    // History keeps who completed the review, when, and the outcome.
    const hist = await call(
      'GET',
      `${H}/historic-task-instances?processBusinessKey=CASE-T&finished=true&includeProcessVariables=true`,
    );
    const [done] = hist.json._embedded['historic-task-instances'];
    expect(done).toMatchObject({
      id: task.id,
      taskDefinitionKey: 'review',
      assignee: 'bob',
      deleteReason: null,
    });
    expect(done.endTime).toMatch(/\+00:00$/);
  });

  test('HAL paging: offset/count, next only when more exist, previous after the first page, page block', async () => {
    for (const n of [1, 2, 3]) await startCase(`CASE-PAGE-${n}`, 'commsgraph_dispute', []);
    const first = await call('GET', `${W}/tasks?processDefinitionKey=commsgraph_dispute&offset=0&count=2`);
    expect(first.json._embedded.tasks).toHaveLength(2);
    expect(first.json.page).toEqual({ size: 2, totalElements: 3, totalPages: 2, number: 0 });
    expect(first.json._links.next.href).toContain('offset=2');
    expect(first.json._links.previous).toBeUndefined();
    const second = await call('GET', `${W}/tasks?processDefinitionKey=commsgraph_dispute&offset=2&count=2`);
    expect(second.json._embedded.tasks).toHaveLength(1);
    expect(second.json._links.next).toBeUndefined();
    expect(second.json._links.previous.href).toContain('offset=0');
    const ids = [...first.json._embedded.tasks, ...second.json._embedded.tasks].map(
      (t: { id: string }) => t.id,
    );
    expect(new Set(ids).size).toBe(3);
    const empty = await call('GET', `${W}/tasks?processInstanceBusinessKey=NOPE`);
    expect(empty.json._embedded).toBeUndefined();
    expect(empty.json.page.totalElements).toBe(0);
  });

  test('the initiator cannot complete where the model says so (403, the fake pick); a timer expires the task', async () => {
    const started = await call('POST', `${W}/process-instances`, {
      processDefinitionKey: 'fixture_sla',
      businessKey: 'CASE-SLA',
    });
    expect(started.status).toBe(201);
    const [task] = await openTasks('CASE-SLA');
    expect(task!.dueDate).toMatch(/\+0000$/);
    const own = await call('POST', `${W}/tasks/${task!.id}`, { action: 'complete', outcome: 'approved' });
    expect(own.status).toBe(403);
    expect(own.json.message).toBe('Forbidden');

    server.fake.hooks.advanceTime(4 * 60_000);
    expect(await openTasks('CASE-SLA')).toHaveLength(1);
    server.fake.hooks.advanceTime(2 * 60_000);
    expect(await openTasks('CASE-SLA')).toEqual([]);
    const historic = await call(
      'GET',
      `${H}/historic-process-instances/${started.json.id}?includeProcessVariables=true`,
    );
    expect(historic.json.endActivityId).toBe('expired');
    expect(historic.json.variables).toContainEqual(
      expect.objectContaining({ name: 'approvalStatus', value: 'expired' }),
    );
    const [expired] = (await call('GET', `${H}/historic-task-instances?processInstanceId=${started.json.id}`))
      .json._embedded['historic-task-instances'];
    expect(expired.deleteReason).toMatch(/boundary event/);
  });

  test('a user completes a task in OpenText UI (fake hook): they must be a candidate; history shows them', async () => {
    await startCase('CASE-UI', 'commsgraph_reissue', []);
    expect(() =>
      server.fake.hooks.completeAsUser({
        businessKey: 'CASE-UI',
        taskKey: 'authorise_reissue',
        user: 'eve',
        groups: ['other'],
        outcome: 'approved',
      }),
    ).toThrow(/not a candidate/);
    const { taskId } = server.fake.hooks.completeAsUser({
      businessKey: 'CASE-UI',
      taskKey: 'authorise_reissue',
      user: 'sam',
      groups: ['commsgraph-service-agents'],
      outcome: 'approved',
      comment: 'ok by phone',
    });
    const hist = await call(
      'GET',
      `${H}/historic-task-instances?taskId=${taskId}&includeProcessVariables=true`,
    );
    const [done] = hist.json._embedded['historic-task-instances'];
    expect(done.assignee).toBe('sam');
    const vars = Object.fromEntries(
      done.variables.map((v: { name: string; value: unknown }) => [v.name, v.value]),
    );
    expect(vars).toMatchObject({ authorise_reissueOutcome: 'approved', comment: 'ok by phone' });
  });
});

describe('history feeds', () => {
  test('taskCompletedAfter and finishedAfter are strict watermarks', async () => {
    const mark = new Date(server.fake.hooks.now().getTime());
    await startCase('CASE-H1', 'commsgraph_generation_exception', []);
    const [task] = await openTasks('CASE-H1');
    expect(task!.taskDefinitionKey).toBe('work_exception');
    await call('POST', `${W}/tasks/${task!.id}`, { action: 'claim', assignee: 'ops' });
    await call('POST', `${W}/tasks/${task!.id}`, {
      action: 'complete',
      variables: [{ name: 'resolution', type: 'string', value: 'REGENERATE' }],
    });
    const feed = await call(
      'GET',
      `${H}/historic-task-instances?finished=true&taskCompletedAfter=${encodeURIComponent(mark.toISOString())}`,
    );
    const items = feed.json._embedded['historic-task-instances'];
    expect(items.map((t: { id: string }) => t.id)).toContain(task!.id);
    const end = items.find((t: { id: string }) => t.id === task!.id).endTime as string;
    const after = await call(
      'GET',
      `${H}/historic-task-instances?finished=true&taskCompletedAfter=${encodeURIComponent(end)}`,
    );
    expect(
      (after.json._embedded?.['historic-task-instances'] ?? []).map((t: { id: string }) => t.id),
    ).not.toContain(task!.id);
    const finished = await call(
      'GET',
      `${H}/historic-process-instances?finished=true&finishedAfter=${encodeURIComponent(mark.toISOString())}&businessKey=CASE-H1`,
    );
    expect(finished.json.page.totalElements).toBe(1);
    expect((await call('GET', `${H}/historic-task-instances?taskCompletedAfter=yesterday`)).status).toBe(400);
  });
});

describe('variables, comments, executions', () => {
  test('variables and comments of a running instance (§7.5–7.6)', async () => {
    const started = await startCase('CASE-V', 'commsgraph_dispute', []);
    const id = started.json.id as string;
    const list = await call('GET', `${W}/process-instances/${id}/variables?offset=0&count=50`);
    expect(list.json._embedded.variables.map((v: { name: string }) => v.name).sort()).toEqual([
      'caseId',
      'caseKind',
      'requestedBy',
      'stages',
      'title',
    ]);
    expect(
      (
        await call('PUT', `${W}/process-instances/${id}/variables/priority`, {
          name: 'priority',
          type: 'string',
          value: 'high',
        })
      ).status,
    ).toBe(200);
    expect((await call('GET', `${W}/process-instances/${id}/variables/priority`)).json.value).toBe('high');
    expect(
      (
        await call('POST', `${W}/process-instances/${id}/variables`, [
          { name: 'priority', type: 'string', value: 'x' },
        ])
      ).status,
    ).toBe(409);
    expect((await call('GET', `${W}/process-instances/${id}/variables/nope`)).status).toBe(404);

    const posted = await call(
      'POST',
      `${W}/process-instances/${id}/comments`,
      { includeUserIds: false, message: 'Customer called' },
      'agent-1',
    );
    expect(posted.status).toBe(201);
    expect(posted.json).toMatchObject({
      author: 'agent-1',
      message: 'Customer called',
      processInstanceId: id,
    });
    const comments = await call('GET', `${W}/process-instances/${id}/comments?offset=0&count=10`);
    expect(comments.json._embedded.comments).toHaveLength(1);
  });

  test('a message to the waiting execution moves the instance on; 204 when it ends it', async () => {
    const started = await call('POST', `${W}/process-instances`, {
      processDefinitionKey: 'fixture_sla',
      businessKey: 'CASE-MSG',
    });
    const [task] = await openTasks('CASE-MSG');
    server.fake.hooks.completeAsUser({
      taskId: task!.id as string,
      user: 'approver-1',
      groups: ['approvers'],
      outcome: 'approved',
    });
    const executions = await call(
      'GET',
      `${W}/process-instances/executions?processInstanceId=${started.json.id}`,
    );
    const child = executions.json._embedded.executions.find((e: { parentId: string | null }) => e.parentId);
    expect(child).toMatchObject({ activityId: 'waitDelivery', processInstanceId: started.json.id });
    const wrong = await call('PUT', `${W}/process-instances/executions/${child.id}`, {
      action: 'messageEventReceived',
      messageName: 'other',
    });
    expect(wrong.status).toBe(400);
    const ok = await call('PUT', `${W}/process-instances/executions/${child.id}`, {
      action: 'messageEventReceived',
      messageName: 'documentDelivered',
      variables: [{ name: 'deliveryStatus', value: 'DELIVERED', type: 'string' }],
    });
    expect(ok.status).toBe(204);
    expect(
      (await call('PUT', `${W}/process-instances/executions/${child.id}`, { action: 'trigger' })).status,
    ).toBe(404);
  });
});

describe('faults (fake-only)', () => {
  test('429 with and without Retry-After, 503, 502, a reset and a slow answer, each on its route', async () => {
    server.fake.hooks.fault({ method: 'GET', path: /^\/tasks$/, kind: '429', retryAfterSec: 2, times: 1 });
    server.fake.hooks.fault({ method: 'GET', path: /^\/tasks$/, kind: '429', times: 1 });
    server.fake.hooks.fault({ api: 'history', kind: '503', times: 1 });
    server.fake.hooks.fault({ method: 'POST', path: /^\/process-instances$/, kind: '502', times: 1 });
    const limited = await call('GET', `${W}/tasks`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    const again = await call('GET', `${W}/tasks`);
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBeNull();
    expect((await call('GET', `${W}/tasks`)).status).toBe(200);
    expect((await call('GET', `${H}/historic-task-instances`)).status).toBe(503);
    expect((await startCase('CASE-502', 'commsgraph_service', [])).status).toBe(502);
    // The 502 happened before the engine: nothing was started.
    expect(server.fake.hooks.instancesByBusinessKey('CASE-502')).toHaveLength(0);

    server.fake.hooks.fault({ path: /^\/tasks$/, kind: 'reset', times: 1 });
    await expect(call('GET', `${W}/tasks`)).rejects.toThrow();
    server.fake.hooks.fault({ path: /^\/tasks$/, kind: 'slow', delayMs: 50, times: 1 });
    expect((await call('GET', `${W}/tasks?count=1`)).status).toBe(200);
  });

  test('a request without a valid token is 401', async () => {
    const response = await fetch(`${server.serviceUrl}/tasks`);
    expect(response.status).toBe(401);
  });
});

describe('mounted in the combined OpenText fake, behind its OTDS', () => {
  let combined: OpenTextFake;
  let mounted: ReturnType<typeof createMountedWorkflowFake>;

  beforeAll(async () => {
    mounted = createMountedWorkflowFake();
    combined = await startOpenTextFake({
      workflow: mounted.module,
      clients: [
        { clientId: 'commsgraph', secret: 's1', groups: ['commsgraph-service'] },
        // A reviewer working in OpenText's own task UI, as a further OTDS identity.
        { clientId: 'rita-ui', secret: 's2', subject: 'rita@acme.example', groups: ['commsgraph-reviewers'] },
      ],
    });
  });
  afterAll(() => combined.close());

  async function tokenFor(clientId: string, secret: string): Promise<string> {
    const response = await fetch(`${combined.url}/tenants/t1/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function as(token: string | null, method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${combined.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: text ? JSON.parse(text) : undefined,
    };
  }

  test('OTDS tokens are the callers: the process starter, a candidate group member, and 409 across them', async () => {
    expect((await as(null, 'GET', `${W}/tasks`)).status).toBe(401);
    const svc = await tokenFor('commsgraph', 's1');
    const rita = await tokenFor('rita-ui', 's2');
    const started = await as(svc, 'POST', `${W}/process-instances`, {
      processDefinitionKey: 'commsgraph_correspondence',
      businessKey: 'CASE-MNT',
      variables: [
        { name: 'caseId', type: 'string', value: 'CASE-MNT' },
        { name: 'caseKind', type: 'string', value: 'CORRESPONDENCE' },
        { name: 'title', type: 'string', value: 'Letter' },
        { name: 'requestedBy', type: 'string', value: 'alice' },
        { name: 'stages', type: 'json', value: ['REVIEW'] },
      ],
    });
    expect(started.status).toBe(201);
    // The token subject of a client_credentials client is its service account.
    expect(started.json.startUserId).toBe('commsgraph@OAuthClients');

    const inbox = await as(
      rita,
      'GET',
      `${W}/tasks?candidateGroup=commsgraph-reviewers&processInstanceBusinessKey=CASE-MNT`,
    );
    expect(inbox.status).toBe(200);
    const [task] = inbox.json._embedded.tasks;
    expect(task.taskDefinitionKey).toBe('review');
    expect(
      (await as(rita, 'POST', `${W}/tasks/${task.id}`, { action: 'claim', assignee: 'rita@acme.example' }))
        .status,
    ).toBe(200);
    const taken = await as(svc, 'POST', `${W}/tasks/${task.id}`, { action: 'claim', assignee: 'bob' });
    expect(taken.status).toBe(409);
    expect(taken.json.message).toBe('Task was already claimed');
    // Nor can another user take it over in the UI.
    expect(() =>
      mounted.fake.hooks.completeAsUser({
        taskId: task.id,
        user: 'bob',
        groups: ['commsgraph-reviewers'],
        outcome: 'approved',
      }),
    ).toThrow(/already claimed/);

    mounted.fake.hooks.completeAsUser({
      taskId: task.id,
      user: 'rita@acme.example',
      groups: ['commsgraph-reviewers'],
      outcome: 'rejected',
      comment: 'wrong address',
    });
    const done = await as(
      svc,
      'GET',
      `${H}/historic-task-instances?taskId=${task.id}&includeProcessVariables=true`,
    );
    expect(done.json._embedded['historic-task-instances'][0]).toMatchObject({
      assignee: 'rita@acme.example',
    });
    const finished = await as(
      svc,
      'GET',
      `${H}/historic-process-instances?businessKey=CASE-MNT&finished=true`,
    );
    expect(finished.json._embedded['historic-process-instances'][0].endActivityId).toBe('endRejected');
  });

  test("both fault layers: the combined fake's and the module's own (a reset drops the connection)", async () => {
    const svc = await tokenFor('commsgraph', 's1');
    const remove = combined.faults.add({
      path: /^\/workflow\/v1\/tasks$/,
      kind: 'status',
      status: 503,
      times: 1,
    });
    expect((await as(svc, 'GET', `${W}/tasks`)).status).toBe(503);
    remove();
    mounted.fake.hooks.fault({ path: /^\/tasks$/, kind: 'reset', times: 1 });
    await expect(as(svc, 'GET', `${W}/tasks`)).rejects.toThrow();
    expect((await as(svc, 'GET', `${W}/tasks`)).status).toBe(200);
  });
});
