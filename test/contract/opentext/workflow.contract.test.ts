/**
 * Contract tests of the Workflow Service client modules (src/upstreams/opentext/workflow) against
 * the Workflow Service fake, through the modules' transport seam adapted to plain fetch (the
 * connector adapts the resilient OpenText client the same way).
 */
import { ErrorCode, GraphQLErrorWithCode } from '../../../src/errors/index.js';
import {
  caseStartVariables,
  createWorkflowClient,
  encodeQuery,
  parseWorkflowDate,
  startCaseProcess,
  toGraphQLError,
  variablesOf,
  WorkflowConflictError,
  WorkflowForbiddenError,
  WorkflowNotFoundError,
  WorkflowProtocolError,
  WorkflowServerError,
  type WorkflowClient,
  type WorkflowTransport,
} from '../../../src/upstreams/opentext/workflow/index.js';
import { UpstreamUnavailableError } from '../../../src/upstreams/opentext/index.js';
import { upstreamTransport } from '../../../src/upstreams/opentext/workflow/index.js';
import { seedDemo } from '../../support/opentext/demo.js';
import { startOpenTextFake, type OpenTextFake } from '../../support/opentext/server.js';
import { createMountedWorkflowFake } from '../../support/opentext/workflow/mount.js';
import { connect, TOKEN } from './setup.js';
import {
  startWorkflowFakeServer,
  testToken,
  type WorkflowFakeServer,
} from '../../support/opentext/workflow/server.js';

const FOUR_EYES_FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn"
  xmlns:modeler="http://flowable.org/modeler" targetNamespace="urn:test">
  <message id="m" name="documentDelivered"/>
  <process id="fixture_four_eyes" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <userTask id="approve" name="Approve" flowable:candidateGroups="approvers">
      <extensionElements><modeler:initiator-can-complete>false</modeler:initiator-can-complete></extensionElements>
    </userTask>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="wait"/>
    <intermediateCatchEvent id="wait"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>`;

let server: WorkflowFakeServer;
let client: WorkflowClient;

/** The transport seam over fetch, as the connector's adapter will be over the resilient client. */
function fetchTransport(sub: string): WorkflowTransport {
  return {
    async send(request) {
      const base = request.base === 'service' ? server.serviceUrl : server.historyUrl;
      const query = encodeQuery(request.query);
      const response = await fetch(`${base}${request.path}${query ? `?${query}` : ''}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${testToken(sub)}`,
          accept: 'application/json',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
      const text = await response.text();
      let body: unknown;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    },
  };
}

beforeAll(async () => {
  server = await startWorkflowFakeServer({ extraModels: [FOUR_EYES_FIXTURE] });
  client = createWorkflowClient(fetchTransport('svc-commsgraph'));
});
afterAll(() => server.close());
afterEach(() => server.fake.hooks.clearFaults());

const postsTo = (path: string) =>
  server.fake.hooks.requests.filter((r) => r.method === 'POST' && r.path === path).length;

function caseStart(caseId: string, kind: string, stages: string[]) {
  return {
    processDefinitionKey: `commsgraph_${kind.toLowerCase()}`,
    caseId,
    caseKind: kind,
    title: `Statement ${caseId}`,
    customerId: 'CUST-1',
    templateId: null,
    requestedBy: 'alice',
    stages,
  };
}

describe('starting a case process', () => {
  test('starts once with the contract variables; a retry finds the running instance', async () => {
    const before = postsTo('/process-instances');
    const first = await startCaseProcess(
      client,
      caseStart('CASE-1', 'REGULATED_DOCUMENT', ['REVIEW', 'APPROVAL']),
    );
    expect(first).toMatchObject({ started: true, ended: false });
    const again = await startCaseProcess(
      client,
      caseStart('CASE-1', 'REGULATED_DOCUMENT', ['REVIEW', 'APPROVAL']),
    );
    expect(again).toEqual({ ...first, started: false });
    expect(postsTo('/process-instances') - before).toBe(1);

    const instance = await client.processes.get(first.processInstanceId, { includeProcessVariables: true });
    expect(instance?.businessKey).toBe('CASE-1');
    const variables = instance!.variables!;
    expect(variablesOf(variables)).toEqual({
      caseId: 'CASE-1',
      caseKind: 'REGULATED_DOCUMENT',
      title: 'Statement CASE-1',
      customerId: 'CUST-1',
      requestedBy: 'alice',
      stages: ['REVIEW', 'APPROVAL'],
      stageIndex: 0,
    });
    expect(variables.find((v) => v.name === 'stages')?.type).toBe('json');
    expect(variables.find((v) => v.name === 'templateId')).toBeUndefined();
  });

  test('a SERVICE case ends at once; a retry finds it in history and starts nothing', async () => {
    const first = await startCaseProcess(client, caseStart('CASE-SVC', 'SERVICE', []));
    expect(first).toMatchObject({ started: true, ended: true });
    expect(await client.processes.get(first.processInstanceId)).toBeNull();
    const before = postsTo('/process-instances');
    const again = await startCaseProcess(client, caseStart('CASE-SVC', 'SERVICE', []));
    expect(again).toMatchObject({ processInstanceId: first.processInstanceId, started: false, ended: true });
    expect(postsTo('/process-instances')).toBe(before);
  });

  test('a start whose answer was lost is found by the retry', async () => {
    // The first attempt reached the service but its caller never saw the answer.
    await client.processes.start({
      processDefinitionKey: 'commsgraph_dispute',
      businessKey: 'CASE-LOST',
      variables: caseStartVariables(caseStart('CASE-LOST', 'DISPUTE', [])),
    });
    const retry = await startCaseProcess(client, caseStart('CASE-LOST', 'DISPUTE', []));
    expect(retry.started).toBe(false);
    expect(server.fake.hooks.instancesByBusinessKey('CASE-LOST')).toHaveLength(1);
  });

  test('an unknown process key is a 400 the graph reports as a refusal, not an outage', async () => {
    const error = await client.processes
      .start({ processDefinitionKey: 'nope', businessKey: 'CASE-N', variables: [] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, body: { message: 'Bad request' } });
    expect((error as Error).message).toContain("no processes deployed with key 'nope'");
  });
});

describe('tasks and decisions', () => {
  test('the inbox by case and group; a decision claims for the decider and completes with the outcome', async () => {
    await startCaseProcess(client, caseStart('CASE-2', 'CORRESPONDENCE', ['REVIEW', 'COMPLIANCE']));
    const inbox = await client.tasks.list({
      processInstanceBusinessKey: 'CASE-2',
      candidateGroup: 'commsgraph-reviewers',
    });
    expect(inbox.total).toBe(1);
    const [review] = inbox.items;
    expect(review).toMatchObject({ taskDefinitionKey: 'review', assignee: null });
    expect(parseWorkflowDate(review!.createTime)).toBeInstanceOf(Date);

    await client.tasks.decide(review!.id, {
      assignee: 'bob',
      taskKey: 'review',
      outcome: 'approved',
      comment: 'Fine',
    });
    expect(await client.tasks.get(review!.id)).toBeNull();
    const [compliance] = (await client.tasks.list({ processInstanceBusinessKey: 'CASE-2' })).items;
    expect(compliance?.taskDefinitionKey).toBe('compliance');

    const done = await client.history.completedTask(review!.id);
    expect(done).toMatchObject({ assignee: 'bob', taskDefinitionKey: 'review' });
    expect(variablesOf(done!.variables)).toMatchObject({ reviewOutcome: 'approved', comment: 'Fine' });
  });

  test('a task claimed by someone else in OpenText: 409, CONFLICT with its reason, nothing changes', async () => {
    await startCaseProcess(client, caseStart('CASE-3', 'REGULATED_DOCUMENT', ['APPROVAL']));
    server.fake.hooks.claimAsUser({
      businessKey: 'CASE-3',
      taskKey: 'approval',
      user: 'zoe',
      groups: ['commsgraph-approvers'],
    });
    const [task] = (await client.tasks.list({ processInstanceBusinessKey: 'CASE-3' })).items;
    const error = await client.tasks
      .decide(task!.id, { assignee: 'bob', taskKey: 'approval', outcome: 'approved' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowConflictError);
    expect((error as WorkflowConflictError).alreadyClaimed).toBe(true);
    const mapped = toGraphQLError(error) as GraphQLErrorWithCode;
    expect(mapped.extensions).toMatchObject({ code: ErrorCode.CONFLICT, reason: 'TASK_ALREADY_CLAIMED' });
    expect((await client.tasks.get(task!.id))?.assignee).toBe('zoe');
  });

  test('a task completed meanwhile: 404, reported as CONFLICT; the initiator rule: 403, FORBIDDEN', async () => {
    await startCaseProcess(client, caseStart('CASE-4', 'REISSUE', []));
    const [task] = (await client.tasks.list({ processInstanceBusinessKey: 'CASE-4' })).items;
    server.fake.hooks.completeAsUser({
      taskId: task!.id,
      user: 'sam',
      groups: ['commsgraph-service-agents'],
      outcome: 'rejected',
    });
    const gone = await client.tasks
      .complete(task!.id, { taskKey: 'authorise_reissue', outcome: 'approved' })
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(WorkflowNotFoundError);
    expect((toGraphQLError(gone) as GraphQLErrorWithCode).extensions.code).toBe(ErrorCode.CONFLICT);

    const started = await client.processes.start({
      processDefinitionKey: 'fixture_four_eyes',
      businessKey: 'CASE-5',
      variables: [],
    });
    const [own] = (await client.tasks.list({ processInstanceId: started.id })).items;
    const refused = await client.tasks.complete(own!.id, {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowForbiddenError);
    expect((toGraphQLError(refused) as GraphQLErrorWithCode).extensions).toMatchObject({
      code: ErrorCode.FORBIDDEN,
    });
  });

  test('an answer that is not a workflow error body still maps: a 503 is a server error, the graph says UPSTREAM_UNAVAILABLE', async () => {
    server.fake.hooks.fault({ path: /^\/tasks$/, kind: '503', times: 1 });
    const error = await client.tasks.list({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowServerError);
    expect((error as WorkflowServerError).detail).toBe('Service unavailable');
    expect((toGraphQLError(error) as GraphQLErrorWithCode).extensions.code).toBe(
      ErrorCode.UPSTREAM_UNAVAILABLE,
    );
  });
});

describe('history feeds for the poller', () => {
  test('tasks completed after a watermark (all pages, oldest first) and processes finished after it', async () => {
    const watermark = server.fake.hooks.now();
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      await startCaseProcess(client, caseStart(`CASE-FEED-${n}`, 'DISPUTE', []));
      ids.push(
        server.fake.hooks.completeAsUser({
          businessKey: `CASE-FEED-${n}`,
          taskKey: 'final_response',
          user: `approver-${n}`,
          groups: ['commsgraph-approvers'],
          outcome: n === 2 ? 'rejected' : 'approved',
        }).taskId,
      );
    }
    const feed = await client.history.completedTasksSince(watermark, {
      processDefinitionKey: 'commsgraph_dispute',
      count: 2,
    });
    expect(feed.map((t) => t.id)).toEqual(ids);
    expect(feed.map((t) => t.assignee)).toEqual(['approver-1', 'approver-2', 'approver-3']);
    expect(feed.map((t) => variablesOf(t.variables).final_responseOutcome)).toEqual([
      'approved',
      'rejected',
      'approved',
    ]);
    // Two pages of two were read.
    const reads = server.fake.hooks.requests.filter(
      (r) => r.path === '/historic-task-instances' && r.query.taskCompletedAfter,
    );
    expect(reads.slice(-2).map((r) => r.query.offset)).toEqual(['0', '2']);

    const finished = await client.history.finishedProcessesSince(watermark, {
      processDefinitionKey: 'commsgraph_dispute',
      count: 2,
    });
    expect(finished.map((p) => p.businessKey)).toEqual(['CASE-FEED-1', 'CASE-FEED-2', 'CASE-FEED-3']);
    expect(finished.map((p) => p.endActivityId)).toEqual(['endApproved', 'endRejected', 'endApproved']);
    const last = parseWorkflowDate(feed[2]!.endTime)!;
    expect(
      await client.history.completedTasksSince(last, { processDefinitionKey: 'commsgraph_dispute' }),
    ).toEqual([]);
  });

  test("a case's task history: who, when, outcome", async () => {
    const ref = await startCaseProcess(
      client,
      caseStart('CASE-HIST', 'MANDATORY_NOTICE', ['REVIEW', 'APPROVAL']),
    );
    server.fake.hooks.completeAsUser({
      businessKey: 'CASE-HIST',
      taskKey: 'review',
      user: 'rita',
      groups: ['commsgraph-reviewers'],
      outcome: 'approved',
    });
    const tasks = await client.history.tasksOfProcess(ref.processInstanceId);
    expect(tasks.map((t) => [t.taskDefinitionKey, t.assignee, t.endTime !== null])).toEqual([
      ['review', 'rita', true],
      ['approval', null, false],
    ]);
  });
});

describe('variables, comments, executions', () => {
  test('variables and comments', async () => {
    const ref = await startCaseProcess(client, caseStart('CASE-VC', 'DISPUTE', []));
    await client.variables.put(ref.processInstanceId, { name: 'slaBreached', type: 'boolean', value: false });
    expect((await client.variables.get(ref.processInstanceId, 'slaBreached'))?.value).toBe(false);
    expect(await client.variables.get(ref.processInstanceId, 'unknown')).toBeNull();
    const comment = await client.comments.add(ref.processInstanceId, 'review approved by bob: fine');
    expect(comment).toMatchObject({ author: 'svc-commsgraph', message: 'review approved by bob: fine' });
    expect((await client.comments.list(ref.processInstanceId)).items.map((c) => c.id)).toEqual([comment.id]);
  });

  test('a message to the waiting execution; null when it ended the instance', async () => {
    const started = await client.processes.start({
      processDefinitionKey: 'fixture_four_eyes',
      businessKey: 'CASE-EX',
      variables: [],
    });
    const [task] = (await client.tasks.list({ processInstanceId: started.id })).items;
    server.fake.hooks.completeAsUser({ taskId: task!.id, user: 'ann', groups: ['approvers'] });
    const { items } = await client.executions.list(started.id);
    const waiting = items.find((e) => e.parentId && e.activityId === 'wait');
    expect(waiting).toBeDefined();
    expect(
      await client.executions.act(waiting!.id, {
        action: 'messageEventReceived',
        messageName: 'documentDelivered',
      }),
    ).toBeNull();
    expect((await client.history.getProcessInstance(started.id))?.endActivityId).toBe('end');
  });
});

test('a 2xx that is not the documented shape is a protocol error, not a crash', async () => {
  const odd = createWorkflowClient({
    send: async () => ({ status: 200, headers: {}, body: '<html>login</html>' }),
  });
  await expect(odd.tasks.list({})).rejects.toBeInstanceOf(WorkflowProtocolError);
  await expect(
    odd.processes.start({ processDefinitionKey: 'k', businessKey: 'b', variables: [] }),
  ).rejects.toBeInstanceOf(WorkflowProtocolError);
});

/**
 * The same modules through the connector's real chain: the resilient OpenText client (OTDS token,
 * retries, the `workflow` circuit) and its transport adapter, against the Workflow Service fake
 * mounted in the combined OpenText fake behind its OTDS.
 */
describe('through the resilient OpenText client and the combined fake', () => {
  let fake: OpenTextFake;
  let mounted: ReturnType<typeof createMountedWorkflowFake>;
  let chain: WorkflowClient;
  let upstreams: ReturnType<typeof connect>;

  beforeAll(async () => {
    mounted = createMountedWorkflowFake();
    fake = await startOpenTextFake({ workflow: mounted.module });
    seedDemo(fake);
    upstreams = connect(fake);
    chain = createWorkflowClient(
      upstreamTransport(upstreams.workflow!, {
        serviceUrl: `${fake.url}/workflow/v1`,
        historyUrl: `${fake.url}/workflow-history/v1`,
      }),
    );
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.faults.clear();
    mounted.fake.hooks.clearFaults();
  });

  test('the process starter is the OAuth client; a completion in the UI is in the history feed', async () => {
    const mark = new Date(mounted.fake.hooks.now().getTime() - 1);
    const started = await startCaseProcess(chain, caseStart('CASE-CHAIN', 'REISSUE', []));
    expect(started.started).toBe(true);
    expect(mounted.fake.hooks.instancesByBusinessKey('CASE-CHAIN')[0]!.startUserId).toBe(
      'commsgraph@OAuthClients',
    );
    mounted.fake.hooks.completeAsUser({
      businessKey: 'CASE-CHAIN',
      taskKey: 'authorise_reissue',
      user: 'sam',
      groups: ['commsgraph-service-agents'],
      outcome: 'approved',
    });
    const feed = await chain.history.completedTasksSince(mark);
    const done = feed.find((t) => t.taskDefinitionKey === 'authorise_reissue');
    expect(done).toMatchObject({ assignee: 'sam', processInstanceId: started.processInstanceId });
    expect(variablesOf(done!.variables)).toMatchObject({
      authorise_reissueOutcome: 'approved',
      caseId: 'CASE-CHAIN',
    });
  });

  test('an expired token is refreshed once and the call repeated; one token serves many calls', async () => {
    await chain.tasks.list({});
    const tokens = fake.count(TOKEN);
    await chain.tasks.list({});
    await chain.history.listTaskInstances({});
    expect(fake.count(TOKEN)).toBe(tokens);
    fake.otds.expireAllTokens();
    expect((await chain.tasks.list({})).items).toBeDefined();
    expect(fake.count(TOKEN)).toBe(tokens + 1);
  });

  test('an outage of the history API rejects with UpstreamUnavailableError after the retries, and opens the circuit', async () => {
    mounted.fake.hooks.fault({ api: 'history', kind: '503' });
    await expect(chain.history.completedTasksSince(new Date())).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    // The policy retried the idempotent read before giving up.
    expect(
      mounted.fake.hooks.requests.filter((r) => r.api === 'history' && r.path === '/historic-task-instances')
        .length,
    ).toBeGreaterThan(1);
    for (let i = 0; i < 5 && upstreams.health.get('workflow') !== 'down'; i++)
      await chain.history.completedTasksSince(new Date()).catch(() => undefined);
    expect(upstreams.health.get('workflow')).toBe('down');
  });
});
