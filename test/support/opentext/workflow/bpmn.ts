/**
 * Reads BPMN 2.0 XML (as Flowable deploys it) into the graph the fake's engine runs. The fake runs
 * the shipped models themselves, so what the tests exercise is what an OpenText administrator
 * deploys. Only the elements our models use are understood; anything else is refused at load, so a
 * model cannot grow an element the fake would silently skip.
 */
import { XMLParser } from 'fast-xml-parser';

export interface Listener {
  /** `start`/`end` on activities and events, `take` on sequence flows. */
  readonly event: string;
  readonly expression: string;
}

export interface FormProperty {
  readonly id: string;
  readonly type: string;
  readonly required: boolean;
  /** Enum values (`flowable:value id`), e.g. `approved`, `rejected`. */
  readonly values: readonly string[];
}

export interface StartVariable {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
}

interface Base {
  readonly id: string;
  readonly name: string | null;
  readonly listeners: readonly Listener[];
}

export type BpmnElement =
  | (Base & { readonly kind: 'startEvent' })
  | (Base & { readonly kind: 'endEvent' })
  | (Base & { readonly kind: 'exclusiveGateway'; readonly defaultFlow: string | null })
  | (Base & {
      readonly kind: 'userTask';
      readonly documentation: string | null;
      /** Literals or expressions, as written in `flowable:candidateGroups` (comma-separated). */
      readonly candidateGroups: readonly string[];
      readonly candidateUsers: readonly string[];
      readonly assignee: string | null;
      /** `flowable:dueDate`: an ISO-8601 duration or date, or an expression giving one. */
      readonly dueDate: string | null;
      readonly formProperties: readonly FormProperty[];
      /** `modeler:initiator-can-complete`; Flowable's default when absent is true. */
      readonly initiatorCanComplete: boolean;
    })
  | (Base & { readonly kind: 'receiveTask' })
  | (Base & { readonly kind: 'intermediateCatchEvent'; readonly trigger: Trigger })
  | (Base & {
      readonly kind: 'boundaryEvent';
      readonly attachedTo: string;
      readonly cancelActivity: boolean;
      readonly trigger: Trigger;
    });

export type Trigger =
  | { readonly type: 'message'; readonly name: string }
  | { readonly type: 'signal'; readonly name: string }
  | { readonly type: 'timer'; readonly duration: string };

export interface SequenceFlow {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly condition: string | null;
  readonly listeners: readonly Listener[];
}

export interface ProcessModel {
  readonly key: string;
  readonly name: string | null;
  readonly documentation: string | null;
  readonly startVariables: readonly StartVariable[];
  readonly elements: ReadonlyMap<string, BpmnElement>;
  readonly flows: ReadonlyMap<string, SequenceFlow>;
  /** Outgoing flows of each element, in document order (the order conditions are tried in). */
  readonly outgoing: ReadonlyMap<string, readonly SequenceFlow[]>;
  readonly startId: string;
}

/** A node of fast-xml-parser's output: attributes as `@_name`, text as `#text`, children by local name. */
type XmlNode = Record<string, unknown>;

const REPEATED = new Set([
  'process',
  'startEvent',
  'endEvent',
  'userTask',
  'receiveTask',
  'exclusiveGateway',
  'intermediateCatchEvent',
  'boundaryEvent',
  'sequenceFlow',
  'executionListener',
  'formProperty',
  'value',
  'startVariable',
  'message',
  'signal',
]);

const KNOWN = new Set([
  'startEvent',
  'endEvent',
  'userTask',
  'receiveTask',
  'exclusiveGateway',
  'intermediateCatchEvent',
  'boundaryEvent',
  'sequenceFlow',
  'documentation',
  'extensionElements',
]);

export function parseBpmnXml(xml: string): XmlNode {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => REPEATED.has(name),
  });
  return parser.parse(xml) as XmlNode;
}

const attr = (node: XmlNode, name: string): string | null => {
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : null;
};
const children = (node: XmlNode | undefined, name: string): XmlNode[] =>
  ((node?.[name] as XmlNode[] | undefined) ?? []).filter((child) => typeof child === 'object');
const child = (node: XmlNode | undefined, name: string): XmlNode | undefined => {
  const value = node?.[name];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? (value as XmlNode) : { '#text': value };
};
const text = (node: XmlNode | undefined, name: string): string | null => {
  const value = node?.[name];
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as XmlNode)['#text'] === 'string') {
    return (value as XmlNode)['#text'] as string;
  }
  return null;
};

function listenersOf(node: XmlNode): Listener[] {
  return children(child(node, 'extensionElements'), 'executionListener').map((listener) => {
    const expression = attr(listener, 'expression');
    if (!expression) throw new Error(`the fake runs expression listeners only (on ${attr(node, 'id')})`);
    return { event: attr(listener, 'event') ?? 'start', expression };
  });
}

function triggerOf(node: XmlNode, messages: Map<string, string>, signals: Map<string, string>): Trigger {
  const id = attr(node, 'id');
  const message = child(node, 'messageEventDefinition');
  if (message) {
    const ref = attr(message, 'messageRef') ?? '';
    return { type: 'message', name: messages.get(ref) ?? ref };
  }
  const signal = child(node, 'signalEventDefinition');
  if (signal) {
    const ref = attr(signal, 'signalRef') ?? '';
    return { type: 'signal', name: signals.get(ref) ?? ref };
  }
  const timer = child(node, 'timerEventDefinition');
  if (timer) {
    const duration = text(timer, 'timeDuration');
    if (!duration) throw new Error(`the fake runs timeDuration timers only (on ${id})`);
    return { type: 'timer', duration };
  }
  throw new Error(`event ${id} has no message, signal or timer definition the fake understands`);
}

/** Every executable process of a BPMN document. */
export function loadProcessModels(xml: string): ProcessModel[] {
  const definitions = child(parseBpmnXml(xml), 'definitions');
  if (!definitions) throw new Error('not a BPMN 2.0 document: no <definitions>');
  const messages = new Map(
    children(definitions, 'message').map((m) => [attr(m, 'id') ?? '', attr(m, 'name') ?? '']),
  );
  const signals = new Map(
    children(definitions, 'signal').map((s) => [attr(s, 'id') ?? '', attr(s, 'name') ?? '']),
  );
  return children(definitions, 'process')
    .filter((process) => attr(process, 'isExecutable') !== 'false')
    .map((process) => toModel(process, messages, signals));
}

function toModel(
  process: XmlNode,
  messages: Map<string, string>,
  signals: Map<string, string>,
): ProcessModel {
  const key = attr(process, 'id');
  if (!key) throw new Error('a <process> without id');
  for (const name of Object.keys(process)) {
    if (!name.startsWith('@_') && !KNOWN.has(name))
      throw new Error(`${key}: the fake does not interpret <${name}>`);
  }
  const elements = new Map<string, BpmnElement>();
  const add = (element: BpmnElement) => {
    if (elements.has(element.id)) throw new Error(`${key}: duplicate id ${element.id}`);
    elements.set(element.id, element);
  };
  const base = (node: XmlNode) => ({
    id: attr(node, 'id') ?? '',
    name: attr(node, 'name'),
    listeners: listenersOf(node),
  });

  for (const node of children(process, 'startEvent')) add({ kind: 'startEvent', ...base(node) });
  for (const node of children(process, 'endEvent')) add({ kind: 'endEvent', ...base(node) });
  for (const node of children(process, 'receiveTask')) add({ kind: 'receiveTask', ...base(node) });
  for (const node of children(process, 'exclusiveGateway')) {
    add({ kind: 'exclusiveGateway', ...base(node), defaultFlow: attr(node, 'default') });
  }
  for (const node of children(process, 'intermediateCatchEvent')) {
    add({ kind: 'intermediateCatchEvent', ...base(node), trigger: triggerOf(node, messages, signals) });
  }
  for (const node of children(process, 'boundaryEvent')) {
    add({
      kind: 'boundaryEvent',
      ...base(node),
      attachedTo: attr(node, 'attachedToRef') ?? '',
      cancelActivity: attr(node, 'cancelActivity') !== 'false',
      trigger: triggerOf(node, messages, signals),
    });
  }
  for (const node of children(process, 'userTask')) {
    const extensions = child(node, 'extensionElements');
    const split = (value: string | null) =>
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const canComplete = text(extensions, 'initiator-can-complete');
    add({
      kind: 'userTask',
      ...base(node),
      documentation: text(node, 'documentation'),
      candidateGroups: split(attr(node, 'candidateGroups')),
      candidateUsers: split(attr(node, 'candidateUsers')),
      assignee: attr(node, 'assignee'),
      dueDate: attr(node, 'dueDate'),
      formProperties: children(extensions, 'formProperty').map((property) => ({
        id: attr(property, 'id') ?? '',
        type: attr(property, 'type') ?? 'string',
        required: attr(property, 'required') === 'true',
        values: children(property, 'value').map((value) => attr(value, 'id') ?? ''),
      })),
      initiatorCanComplete: canComplete === null ? true : canComplete.trim() !== 'false',
    });
  }

  const flows = new Map<string, SequenceFlow>();
  const outgoing = new Map<string, SequenceFlow[]>();
  for (const node of children(process, 'sequenceFlow')) {
    const flow: SequenceFlow = {
      id: attr(node, 'id') ?? '',
      source: attr(node, 'sourceRef') ?? '',
      target: attr(node, 'targetRef') ?? '',
      condition: text(node, 'conditionExpression'),
      listeners: listenersOf(node),
    };
    for (const end of [flow.source, flow.target]) {
      if (!elements.has(end)) throw new Error(`${key}: flow ${flow.id} refers to unknown element ${end}`);
    }
    flows.set(flow.id, flow);
    outgoing.set(flow.source, [...(outgoing.get(flow.source) ?? []), flow]);
  }

  const starts = [...elements.values()].filter((element) => element.kind === 'startEvent');
  if (starts.length !== 1) throw new Error(`${key}: the fake needs exactly one start event`);
  const processExtensions = child(process, 'extensionElements');
  return {
    key,
    name: attr(process, 'name'),
    documentation: text(process, 'documentation'),
    startVariables: children(processExtensions, 'startVariable').map((variable) => ({
      name: attr(variable, 'name') ?? '',
      type: attr(variable, 'type') ?? 'string',
      required: attr(variable, 'required') === 'true',
    })),
    elements,
    flows,
    outgoing,
    startId: starts[0]!.id,
  };
}
