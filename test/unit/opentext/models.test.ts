/**
 * The shipped BPMN models (opentext/models) against the connected-mode contract: one model per
 * process key, exactly the contract's task keys, candidate groups (the defaults of
 * WORKFLOW_STAGE_GROUPS / WORKFLOW_TASK_GROUPS), start variables and outcome handling. The
 * expected values are the contract's tables, written out here; the XML is read with
 * fast-xml-parser directly (not through the fake's interpreter).
 */
import { XMLParser } from 'fast-xml-parser';
import fs from 'node:fs';
import path from 'node:path';

const DIR = path.resolve(__dirname, '../../../opentext/models');

// Contract: WORKFLOW_PROCESS_KEYS default is commsgraph_<kind in lower case> for every kind.
const KINDS = [
  'REGULATED_DOCUMENT',
  'CORRESPONDENCE',
  'MANDATORY_NOTICE',
  'DISPUTE',
  'REISSUE',
  'GENERATION_EXCEPTION',
  'SERVICE',
] as const;
// Contract: WORKFLOW_STAGE_GROUPS and WORKFLOW_TASK_GROUPS defaults.
const STAGE_TASKS = {
  review: 'commsgraph-reviewers',
  approval: 'commsgraph-approvers',
  compliance: 'commsgraph-compliance',
};
const TASKS: Record<(typeof KINDS)[number], Record<string, string>> = {
  REGULATED_DOCUMENT: STAGE_TASKS,
  CORRESPONDENCE: STAGE_TASKS,
  MANDATORY_NOTICE: STAGE_TASKS,
  DISPUTE: { final_response: 'commsgraph-approvers' },
  REISSUE: { authorise_reissue: 'commsgraph-service-agents' },
  GENERATION_EXCEPTION: { work_exception: 'commsgraph-operations' },
  SERVICE: {},
};
const APPROVAL_TASKS = new Set(['review', 'approval', 'compliance', 'final_response', 'authorise_reissue']);
const START_VARIABLES = {
  caseId: 'string',
  caseKind: 'string',
  title: 'string',
  customerId: 'string',
  templateId: 'string',
  requestedBy: 'string',
  stages: 'json',
};
const OPTIONAL = new Set(['customerId', 'templateId']);

type Node = Record<string, unknown>;
const list = (value: unknown): Node[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as Node[]) : [value as Node];

/** Parses with namespace prefixes kept, so `flowable:` attributes are checked by their real names. */
function load(file: string) {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
  });
  const doc = parser.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Node;
  const definitions = doc.definitions as Node;
  const processes = list(definitions.process);
  expect(processes).toHaveLength(1);
  const process = processes[0]!;
  const byId = new Map<string, { kind: string; node: Node }>();
  for (const [kind, value] of Object.entries(process)) {
    if (kind.startsWith('@') || kind === 'documentation' || kind === 'extensionElements') continue;
    for (const node of list(value)) byId.set(node['@id'] as string, { kind, node });
  }
  const flows = list(process.sequenceFlow).map((f) => ({
    id: f['@id'] as string,
    source: f['@sourceRef'] as string,
    target: f['@targetRef'] as string,
    condition: (() => {
      const c = f.conditionExpression as Node | string | undefined;
      return typeof c === 'string' ? c : ((c?.['#text'] as string | undefined) ?? null);
    })(),
  }));
  return { definitions, process, byId, flows };
}

test('there is exactly one model per process key, and nothing else', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.xml'));
  expect(files.sort()).toEqual(KINDS.map((k) => `commsgraph_${k.toLowerCase()}.bpmn20.xml`).sort());
});

describe.each(KINDS)('%s', (kind) => {
  const key = `commsgraph_${kind.toLowerCase()}`;
  const model = load(`${key}.bpmn20.xml`);

  test('is a BPMN 2.0 document with the Flowable namespace, executable, keyed as the contract says', () => {
    expect(model.definitions['@xmlns']).toBe('http://www.omg.org/spec/BPMN/20100524/MODEL');
    expect(model.definitions['@xmlns:flowable']).toBe('http://flowable.org/bpmn');
    expect(model.process['@id']).toBe(key);
    expect(model.process['@isExecutable']).toBe('true');
    // Every flow joins two elements of the process.
    for (const flow of model.flows) {
      expect(model.byId.has(flow.source)).toBe(true);
      expect(model.byId.has(flow.target)).toBe(true);
    }
  });

  test('has exactly the contract task keys, each with its candidate group', () => {
    const tasks = [...model.byId.entries()].filter(([, e]) => e.kind === 'userTask');
    expect(Object.fromEntries(tasks.map(([id, e]) => [id, e.node['@flowable:candidateGroups']]))).toEqual(
      TASKS[kind],
    );
    // Nothing the contract does not name: no other task kinds that would wait for someone.
    const kinds = new Set([...model.byId.values()].map((e) => e.kind));
    for (const k of kinds)
      expect(['startEvent', 'endEvent', 'userTask', 'exclusiveGateway', 'sequenceFlow']).toContain(k);
  });

  test('declares the contract start variables', () => {
    const declared = list(
      (model.process.extensionElements as Node | undefined)?.['commsgraph:startVariable'],
    );
    expect(Object.fromEntries(declared.map((v) => [v['@name'], v['@type']]))).toEqual(START_VARIABLES);
    for (const v of declared)
      expect(v['@required']).toBe(OPTIONAL.has(v['@name'] as string) ? 'false' : 'true');
  });

  test('every approval task is followed by a gateway on <task key>Outcome; rejected goes to an end event, approved does not stop at a task', () => {
    for (const [id, element] of model.byId) {
      if (element.kind !== 'userTask') continue;
      const out = model.flows.filter((f) => f.source === id);
      expect(out).toHaveLength(1);
      if (!APPROVAL_TASKS.has(id)) continue;
      const gateway = model.byId.get(out[0]!.target)!;
      expect(gateway.kind).toBe('exclusiveGateway');
      // No default: a completion without an outcome cannot pass the gateway (the engine refuses it).
      expect(gateway.node['@default']).toBeUndefined();
      const branches = model.flows.filter((f) => f.source === out[0]!.target);
      const compact = (c: string | null) => (c ?? '').replace(/\s+/g, '');
      const rejected = branches.filter((f) => compact(f.condition) === `\${${id}Outcome=='rejected'}`);
      const approved = branches.filter((f) => compact(f.condition) === `\${${id}Outcome=='approved'}`);
      expect(rejected).toHaveLength(1);
      expect(approved).toHaveLength(1);
      expect(branches).toHaveLength(2);
      expect(model.byId.get(rejected[0]!.target)!.kind).toBe('endEvent');
      // The outcome is offered to OpenText's task UI as an enum of exactly these values.
      const properties = list((element.node.extensionElements as Node)['flowable:formProperty']);
      const outcome = properties.find((p) => p['@id'] === `${id}Outcome`)!;
      expect(outcome['@type']).toBe('enum');
      expect(
        list(outcome['flowable:value'])
          .map((v) => v['@id'])
          .sort(),
      ).toEqual(['approved', 'rejected']);
    }
  });

  test("the process starter (CommsGraph's OAuth client) may complete tasks: four-eyes is the graph's rule", () => {
    for (const element of model.byId.values()) {
      if (element.kind !== 'userTask') continue;
      const flag = (element.node.extensionElements as Node)['modeler:initiator-can-complete'];
      expect(String(flag).trim()).toBe('true');
    }
  });
});

test('the staged models open one task per entry of `stages`, in its order, from the entry at stageIndex', () => {
  for (const kind of ['REGULATED_DOCUMENT', 'CORRESPONDENCE', 'MANDATORY_NOTICE']) {
    const model = load(`commsgraph_${kind.toLowerCase()}.bpmn20.xml`);
    const router = model.flows.find((f) => f.source === 'start')!.target;
    expect(model.byId.get(router)!.kind).toBe('exclusiveGateway');
    const routes = model.flows.filter((f) => f.source === router);
    const compact = (c: string | null) => (c ?? '').replace(/\s+/g, '');
    expect(
      Object.fromEntries(routes.filter((f) => f.condition).map((f) => [f.target, compact(f.condition)])),
    ).toEqual({
      review: "${stages[stageIndex]=='REVIEW'}",
      approval: "${stages[stageIndex]=='APPROVAL'}",
      compliance: "${stages[stageIndex]=='COMPLIANCE'}",
    });
    // When no entry is left (or stages is empty) the default flow ends the process as approved.
    const fallback = routes.find((f) => f.id === model.byId.get(router)!.node['@default'])!;
    expect(model.byId.get(fallback.target)!.kind).toBe('endEvent');
    // Each approved branch goes back to the router.
    for (const task of ['review', 'approval', 'compliance']) {
      const approved = model.flows.find(
        (f) => f.source === `${task}Decision` && compact(f.condition).includes("'approved'"),
      )!;
      expect(approved.target).toBe(router);
    }
  }
});

const compact = (c: string | null | undefined) => (c ?? '').replace(/\s+/g, '');
/** The expressions of a node's `flowable:executionListener`s for one event. */
function listeners(node: Node, event: string): string[] {
  const extensions = node.extensionElements as Node | undefined;
  return list(extensions?.['flowable:executionListener'])
    .filter((l) => l['@event'] === event)
    .map((l) => compact(l['@expression'] as string));
}

test('the stage counter: stageIndex starts at 0 and each approved stage moves it on by one', () => {
  // Without the increment an approved stage would open itself again for ever; without the
  // initialisation the first routing expression fails (unknown property) and no instance starts.
  for (const kind of ['REGULATED_DOCUMENT', 'CORRESPONDENCE', 'MANDATORY_NOTICE']) {
    const model = load(`commsgraph_${kind.toLowerCase()}.bpmn20.xml`);
    expect(listeners(model.byId.get('start')!.node, 'end')).toEqual([
      "${execution.setVariable('stageIndex',0)}",
    ]);
    for (const task of ['review', 'approval', 'compliance']) {
      const [approved] = model.flows.filter(
        (f) => f.source === `${task}Decision` && compact(f.condition) === `\${${task}Outcome=='approved'}`,
      );
      const node = list(model.process.sequenceFlow).find((f) => f['@id'] === approved!.id)!;
      expect(listeners(node, 'take')).toEqual(["${execution.setVariable('stageIndex',stageIndex+1)}"]);
      // A rejection does not count a stage.
      const rejected = model.flows.find(
        (f) => f.source === `${task}Decision` && compact(f.condition) === `\${${task}Outcome=='rejected'}`,
      )!;
      const rejectedNode = list(model.process.sequenceFlow).find((f) => f['@id'] === rejected.id)!;
      expect(listeners(rejectedNode, 'take')).toEqual([]);
    }
  }
});

test('each process ends when its last task is completed or a task is rejected; SERVICE ends at once', () => {
  const endOf = (model: ReturnType<typeof load>, from: string, condition?: string) => {
    const flow = model.flows.find(
      (f) => f.source === from && (condition === undefined || compact(f.condition) === condition),
    )!;
    return model.byId.get(flow.target)!.kind;
  };
  for (const kind of KINDS) {
    const model = load(`commsgraph_${kind.toLowerCase()}.bpmn20.xml`);
    const starts = [...model.byId.values()].filter((e) => e.kind === 'startEvent');
    expect(starts).toHaveLength(1);
  }
  // SERVICE: no task, the start goes straight to an end event.
  expect(endOf(load('commsgraph_service.bpmn20.xml'), 'start')).toBe('endEvent');
  // The single-task kinds: the task is the first thing, and approving it ends the process.
  for (const [kind, task] of [
    ['DISPUTE', 'final_response'],
    ['REISSUE', 'authorise_reissue'],
  ] as const) {
    const model = load(`commsgraph_${kind.toLowerCase()}.bpmn20.xml`);
    expect(model.flows.find((f) => f.source === 'start')!.target).toBe(task);
    expect(endOf(model, `${task}Decision`, `\${${task}Outcome=='approved'}`)).toBe('endEvent');
  }
  // GENERATION_EXCEPTION: worked once, completed with `resolution` (no outcome), then it ends.
  const exception = load('commsgraph_generation_exception.bpmn20.xml');
  expect(exception.flows.find((f) => f.source === 'start')!.target).toBe('work_exception');
  expect(endOf(exception, 'work_exception')).toBe('endEvent');
  const properties = list(
    (exception.byId.get('work_exception')!.node.extensionElements as Node)['flowable:formProperty'],
  );
  expect(properties.map((p) => [p['@id'], p['@required']])).toEqual([['resolution', 'true']]);
});
