/**
 * The Exstream API modules against the fake, and the fake against the reference: design
 * catalogue, versions, transitions and history; the driver lookup; on-demand outputs and error
 * envelopes; the runtime state machine, the filter DSL and paging.
 */
import { createHash } from 'node:crypto';
import {
  ExstreamDesignError,
  ExstreamGenerationError,
  UpstreamUnavailableError,
} from '../../../src/upstreams/opentext/index.js';
import { filterDsl } from '../../../src/upstreams/opentext/exstream/common.js';
import type { ExstreamApis } from '../../../src/upstreams/opentext/index.js';
import { DEMO_DOMAIN } from '../../support/opentext/demo.js';
import type { OpenTextFake } from '../../support/opentext/server.js';
import { POLICY_DATA, connect, driver, startDemoFake } from './setup.js';

let fake: OpenTextFake;
let x: ExstreamApis;

beforeEach(async () => {
  fake = await startDemoFake();
  x = connect(fake).exstream!;
});
afterEach(() => fake.close());

describe('design', () => {
  test('the catalogue: exstrapplication resources, item paging across pages', async () => {
    const first = await x.design.listResources({ types: ['exstrapplication'], latestVersion: true }, 0, 5);
    expect(first.items).toHaveLength(5);
    expect(first.total).toBe(17);
    const all = await x.design.listAllResources({ types: ['exstrapplication'], latestVersion: true });
    expect(all).toHaveLength(17);
    expect(new Set(all.map((r) => r.id)).size).toBe(17);
    expect(all.find((r) => r.id === 'tpl_policy_pack')).toMatchObject({
      name: 'Policy pack',
      type: 'exstrapplication',
      state: 'APPROVED',
      version: 1,
    });
    // The older semicolon form is served too.
    const res = await fetch(
      `${fake.url}/design/api/v1/resources/${DEMO_DOMAIN}?filter=types:exstrcommunicationset;states:APPROVED&count=1`,
      { headers: { authorization: `Bearer ${(await connect(fake).tokens!.token()).value}` } },
    );
    expect(await res.json()).toMatchObject({ status: 'success', page: { totalElements: 17, pageSize: 1 } });
  });

  test('standard workflow: transitions, a new version from APPROVED, STATE history with audited comments', async () => {
    const id = 'tpl_policy_pack';
    const v1Content = await x.design.getContent(id, { state: 'APPROVED' });
    await x.design.changeState(id, { state: 'DRAFT', auditedComment: 'new wording' });
    fake.design.editContent(id, 'changed wording', 'author@acme.example');
    const review = await x.design.changeState(id, { state: 'REVIEW', auditedComment: 'ready' });
    expect(review).toMatchObject({ version: 2, state: 'REVIEW' });
    const approved = await x.design.changeState(id, {
      state: 'APPROVED',
      auditedComment: 'four-eyes: a, b; sha256=abc',
    });
    expect(approved).toMatchObject({
      version: 2,
      state: 'APPROVED',
      lastModifiedBy: 'commsgraph@OAuthClients',
    });
    // Version 1 is still there, as it was.
    expect(await x.design.getResource(id, { version: 1 })).toMatchObject({ state: 'APPROVED' });
    expect(await x.design.getContent(id, { version: 1 })).toEqual(v1Content);
    expect((await x.design.getContent(id, { state: 'APPROVED' }))!.toString()).toBe('changed wording');
    const history = await x.design.history(id);
    expect(history.map((h) => [h.version, h.state, h.auditedComment])).toEqual([
      [1, 'REVIEW', 'Ready for review'],
      [1, 'APPROVED', 'Approved'],
      [2, 'DRAFT', 'new wording'],
      [2, 'REVIEW', 'ready'],
      [2, 'APPROVED', 'four-eyes: a, b; sha256=abc'],
    ]);
    const revisions = history.map((h) => h.revision!);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  });

  test('an invalid transition is refused with invalidStateForUpdate and changes nothing', async () => {
    const err = await x.design
      .changeState('tpl_policy_pack', { state: 'REVIEW', auditedComment: 'x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ExstreamDesignError);
    expect(err).toMatchObject({ reason: 'invalidStateForUpdate', status: 400 });
    expect(await x.design.history('tpl_policy_pack')).toHaveLength(2);
  });

  test('REVIEW → REJECTED → DRAFT', async () => {
    const id = 'tpl_billing_notice';
    await x.design.changeState(id, { state: 'DRAFT', auditedComment: 'edit' });
    await x.design.changeState(id, { state: 'REVIEW', auditedComment: 'ready' });
    await x.design.changeState(id, { state: 'REJECTED', auditedComment: 'wording' });
    expect(await x.design.changeState(id, { state: 'DRAFT', auditedComment: 'rework' })).toMatchObject({
      version: 2,
      state: 'DRAFT',
    });
  });

  test('restrictApproval refuses the content author; a lock by someone else refuses the change', async () => {
    fake.design.addDomain({ id: DEMO_DOMAIN, restrictApproval: true });
    const id = 'tpl_privacy_disclosure';
    await x.design.changeState(id, { state: 'DRAFT', auditedComment: 'edit' });
    fake.design.editContent(id, 'new', 'commsgraph@OAuthClients');
    await x.design.changeState(id, { state: 'REVIEW', auditedComment: 'ready' });
    await expect(x.design.changeState(id, { state: 'APPROVED', auditedComment: 'ok' })).rejects.toMatchObject(
      {
        reason: 'permissionDenied',
        status: 403,
      },
    );
    fake.design.setState(id, 'REJECTED', 'no', 'approver@acme.example');
    fake.design.setState(id, 'DRAFT', null, 'designer@acme.example');
    // Locked by a designer in the fake's own session:
    const designer = await fetch(`${fake.url}/tenants/fake/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'designer', client_secret: 's' }),
    });
    expect(designer.status).toBe(401);
    fake.otds.addClient({ clientId: 'designer', secret: 's' });
    const token = (await (
      await fetch(`${fake.url}/tenants/fake/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'designer', client_secret: 's' }),
      })
    ).json()) as { access_token: string };
    const lock = await fetch(`${fake.url}/design/api/v1/resources/${DEMO_DOMAIN}/${id}/lock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(lock.status).toBe(200);
    await expect(x.design.changeState(id, { state: 'REVIEW', auditedComment: 'x' })).rejects.toMatchObject({
      reason: 'resourceLocked',
    });
  });

  test('driver lookup: the set link and the unwrapped manifest', async () => {
    expect(await x.design.driverLookup('tpl_billing_notice')).toEqual({
      communicationSetId: 'tpl_billing_notice-set',
      driverDataSource: 'billing_notice_driver',
      queueDrivers: ['PDF', 'HTML', 'SMS'],
    });
    expect(await x.design.driverLookup('no-such')).toBeNull();
    expect(await x.design.getResource('no-such')).toBeNull();
  });

  test('a state change whose answer was lost is looked up, not repeated', async () => {
    const id = 'tpl_rate_change_notice';
    await x.design.changeState(id, { state: 'DRAFT', auditedComment: 'edit' });
    fake.faults.add({ path: /\/state$/, kind: 'slow', phase: 'after', delayMs: 400, times: 1 });
    const slow = connect(fake, { OPENTEXT_TIMEOUT_MS: '150' }).exstream!;
    // The change happens in the fake, but the answer comes after our timeout.
    expect(await slow.design.changeState(id, { state: 'REVIEW', auditedComment: 'ready' })).toMatchObject({
      state: 'REVIEW',
    });
    expect(fake.count(/\/state$/, 'PUT')).toBe(2); // the DRAFT above and this one, sent once
    expect((await x.design.history(id)).filter((h) => h.state === 'REVIEW')).toHaveLength(2);
  });
});

describe('on-demand', () => {
  test('full response: one decoded output per manifest queue, deterministic bytes per version and driver', async () => {
    const req = {
      communicationId: 'tpl_policy_pack',
      driverDataSource: 'policy_pack_driver',
      driver: driver(),
    };
    const [pdf, html] = await x.ondemand.generate(req);
    expect(pdf).toMatchObject({ mimeType: 'application/pdf', engineOutputContext: { queueName: 'PDF' } });
    expect(pdf!.content.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    expect(pdf!.content.subarray(-6).toString('latin1')).toBe('%%EOF\n');
    expect(html).toMatchObject({ mimeType: 'text/html' });
    expect(html!.content.toString()).toContain('Ada Lovelace');
    const again = await x.ondemand.generate(req);
    expect(again[0]!.content.equals(pdf!.content)).toBe(true);
    const other = await x.ondemand.generate({
      ...req,
      driver: driver({ ...POLICY_DATA, policyNumber: 'POL-2' }),
    });
    expect(other[0]!.content.equals(pdf!.content)).toBe(false);
    // A new approved version changes the output for the same driver.
    fake.design.setState('tpl_policy_pack', 'DRAFT', null, 'designer@acme.example');
    fake.design.editContent('tpl_policy_pack', 'v2');
    fake.design.setState('tpl_policy_pack', 'REVIEW', null, 'designer@acme.example');
    fake.design.setState('tpl_policy_pack', 'APPROVED', null, 'approver@acme.example');
    const v2 = await x.ondemand.generate(req);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(v2[0]!.content)).not.toBe(sha(pdf!.content));
  });

  test('missing driver data → MISSING_DATA naming the fields; recorded as an error job', async () => {
    const { policyNumber: _p, ...data } = POLICY_DATA;
    const err = await x.ondemand
      .generate({
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'policy_pack_driver',
        driver: driver(data),
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ExstreamGenerationError);
    expect(err).toMatchObject({ kind: 'MISSING_DATA', status: 400, engineStatusCode: '400' });
    expect(err.message).toContain('/data/policyNumber is required');
    const jobs = await x.runtime.listJobs({ mode: 'ONDEMAND', statuses: ['error'] });
    expect(jobs.items).toHaveLength(1);
  });

  test('a template error → TEMPLATE_ERROR, not an outage: no retry, the circuit stays closed', async () => {
    fake.ondemand.setTemplateError('tpl_policy_pack', 'Variable PolicyHolder is undefined');
    for (let i = 0; i < 5; i++) {
      await expect(
        x.ondemand.generate({
          communicationId: 'tpl_policy_pack',
          driverDataSource: 'policy_pack_driver',
          driver: driver(),
        }),
      ).rejects.toMatchObject({
        kind: 'TEMPLATE_ERROR',
        status: 500,
        message: 'Variable PolicyHolder is undefined',
      });
    }
    expect(fake.count(/\/generate$/)).toBe(5);
    expect(x.client.circuitState).toBe('closed');
  });

  test('unknown communication or wrong driver data source → UNKNOWN_COMMUNICATION', async () => {
    await expect(
      x.ondemand.generate({ communicationId: 'nope', driverDataSource: 'x', driver: driver() }),
    ).rejects.toMatchObject({ kind: 'UNKNOWN_COMMUNICATION', status: 404 });
    await expect(
      x.ondemand.generate({
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'wrong',
        driver: driver(),
      }),
    ).rejects.toMatchObject({ kind: 'UNKNOWN_COMMUNICATION', status: 400 });
  });

  test('the fake: headers are required (Spring 400), Accept branches to raw PDF', async () => {
    const token = (await connect(fake).tokens!.token()).value;
    const url = `${fake.url}/orchestration/api/v1/inputs/ondemand/${DEMO_DOMAIN}/generate`;
    const missing = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      status: 400,
      error: 'Bad Request',
      path: new URL(url).pathname,
    });
    const pdf = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/pdf',
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'policy_pack_driver',
      },
      body: JSON.stringify(driver()),
    });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const [full] = await x.ondemand.generate({
      communicationId: 'tpl_policy_pack',
      driverDataSource: 'policy_pack_driver',
      driver: driver(),
    });
    expect(Buffer.from(await pdf.arrayBuffer()).equals(full!.content)).toBe(true);
  });

  test('an outage on generate is UpstreamUnavailableError, never a generation error', async () => {
    fake.faults.add({ path: /\/generate$/, kind: 'status', status: 502, times: 1 });
    const err = await x.ondemand
      .generate({
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'policy_pack_driver',
        driver: driver(),
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('runtime', () => {
  test('filter DSL: keys by ;, values by ,, escapes /colon/ /semi/ /bsol/', () => {
    expect(filterDsl({ mode: 'BATCH', statuses: ['complete', 'error'] })).toBe(
      'mode:BATCH;statuses:complete,error',
    );
    expect(filterDsl({ externalId: 'a:b;c\\d' })).toBe('externalId:a/colon/b/semi/c/bsol/d');
    expect(filterDsl({})).toBeUndefined();
    expect(() => filterDsl({ externalId: 'a,b' })).toThrow(/cannot contain/);
  });

  test('a held job: holding up the chain, its held steps listed, released step by step to complete', async () => {
    const jobId = fake.runtime.addJob(DEMO_DOMAIN, {
      externalId: 'CASE:1;x\\y',
      flows: [
        [
          { name: 'Input', type: 'input' },
          { name: 'FourEyes', type: 'hold' },
          { name: 'Output', type: 'output' },
        ],
      ],
    });
    fake.runtime.settle();
    const held = await x.runtime.listJobs({ statuses: ['holding'], externalId: 'CASE:1;x\\y' });
    expect(held.items.map((j) => [j.id, j.status, j.externalId])).toEqual([
      [jobId, 'holding', 'CASE:1;x\\y'],
    ]);
    const steps = await x.runtime.heldSteps(jobId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ stepName: 'FourEyes', stepType: 'hold', status: 'holding' });
    await x.runtime.releaseFlowStep(steps[0]!.id);
    fake.runtime.settle();
    expect(await x.runtime.getJob(jobId)).toMatchObject({ status: 'complete' });
    // Releasing again is refused by Exstream (not holding): a considered answer.
    await expect(x.runtime.releaseFlowStep(steps[0]!.id)).rejects.toMatchObject({ status: 409 });
  });

  test('an error step fails its instance and job with msg; stop cancels; reprocessing makes a new job', async () => {
    const failing = fake.runtime.addJob(DEMO_DOMAIN, {
      externalId: 'E1',
      flows: [[{ name: 'Communication', type: 'communication', fail: 'Engine error 42' }]],
    });
    const running = fake.runtime.addJob(DEMO_DOMAIN, { flows: [[{ name: 'Hold', type: 'hold' }]] });
    fake.runtime.settle();
    expect(await x.runtime.getJob(failing)).toMatchObject({ status: 'error', msg: 'Engine error 42' });
    await x.runtime.stopJob(running);
    expect(await x.runtime.getJob(running)).toMatchObject({ status: 'canceled' });
    const newId = await x.runtime.reprocessJob(failing);
    expect(newId).toMatch(/^[0-9a-f-]{36}$/);
    const [original, copy] = [await x.runtime.getJob(failing), await x.runtime.getJob(newId!)];
    expect(copy).toMatchObject({
      externalId: 'E1',
      aggregatedFMCSnapshotId: original!.aggregatedFMCSnapshotId,
    });
    expect(original).toMatchObject({ status: 'error' });
  });

  test('paging of jobs and deleted jobs only with fetchDeleted', async () => {
    for (let i = 0; i < 7; i++) fake.runtime.addJob(DEMO_DOMAIN, { externalId: `B${i}` });
    fake.runtime.settle();
    const p1 = await x.runtime.listJobs({ mode: 'BATCH' }, 0, 3);
    const p3 = await x.runtime.listJobs({ mode: 'BATCH' }, 6, 3);
    expect([p1.items.length, p1.total, p3.items.length]).toEqual([3, 7, 1]);
    const all = await x.runtime.listAllJobs({ mode: 'BATCH', statuses: ['complete'] });
    expect(all).toHaveLength(7);
    const token = (await connect(fake).tokens!.token()).value;
    const del = await fetch(`${fake.url}/orchestration/api/v1/runtime/${DEMO_DOMAIN}/jobs/${all[0]!.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(200);
    expect((await x.runtime.listAllJobs({ mode: 'BATCH' })).map((j) => j.id)).not.toContain(all[0]!.id);
    expect((await x.runtime.listJobs({}, 0, 100, true)).items.map((j) => [j.id, j.status])).toEqual([
      [all[0]!.id, 'deleted'],
    ]);
  });

  test('date filters accept yyyy-MM-dd and date-times; a bad filter key is a 400', async () => {
    fake.runtime.addJob(DEMO_DOMAIN, { startDate: Date.parse('2026-01-10T10:00:00Z') });
    fake.runtime.addJob(DEMO_DOMAIN, { startDate: Date.parse('2026-03-10T10:00:00Z') });
    const since = await x.runtime.listJobs({ startDateStart: new Date('2026-02-01T00:00:00Z') });
    expect(since.items).toHaveLength(1);
    const token = (await connect(fake).tokens!.token()).value;
    const res = await fetch(
      `${fake.url}/orchestration/api/v1/runtime/${DEMO_DOMAIN}/jobs?filter=startDateEnd:2026-02-01`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
    const bad = await fetch(
      `${fake.url}/orchestration/api/v1/runtime/${DEMO_DOMAIN}/jobs?filter=colour:red`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(bad.status).toBe(400);
  });
});

test('the fake answers 401 without a token: Spring body on Exstream, gateway fault on Workflow routes', async () => {
  const exstream = await fetch(`${fake.url}/design/api/v1/domains`);
  expect(exstream.status).toBe(401);
  expect(await exstream.json()).toMatchObject({ status: 401, error: 'Unauthorized' });
  const workflow = await fetch(`${fake.url}/workflow/v1/tasks`, {
    headers: { authorization: 'Bearer nope' },
  });
  expect(workflow.status).toBe(401);
  expect(await workflow.json()).toMatchObject({
    fault: { detail: { errorcode: 'oauth.v2.InvalidAccessToken' } },
  });
});
