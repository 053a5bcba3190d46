import {
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  SchemaMetaFieldDef,
  visit,
  specifiedRules,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
  type FieldNode,
} from 'graphql';
import type { OperationLimits, SecurityConfig } from '../config/index.js';
import { DEFAULT_PAGE } from '../datasources/pagination.js';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { maskError } from './errors.js';
import { RequestRefused, type GraphQLHttpOptions, type PreparedRequest } from './http.js';
import { loadTrustedDocuments, type TrustedDocuments } from './trusted-documents.js';
import { Lru } from '../lru.js';

/**
 * Operation guards of the gateway: every operation, over HTTP (single or
 * batched) and over graphql-ws, is measured before anything runs — depth,
 * aliases, root fields, directives, tokens and cost — and refused with
 * BAD_USER_INPUT and a `reason` naming the limit. A refused operation never
 * reaches a subgraph. The measure runs before GraphQL validation, so it must
 * stay linear in the document even for fragment bombs: each fragment is
 * measured once (per page size) and reused wherever it is spread.
 */

export type LimitReason =
  | 'MAX_DEPTH'
  | 'MAX_ALIASES'
  | 'MAX_ROOT_FIELDS'
  | 'MAX_DIRECTIVES'
  | 'MAX_TOKENS'
  | 'MAX_COST'
  | 'MAX_BATCH'
  | 'MAX_VARIABLE_DEPTH'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'TRUSTED_DOCUMENT_REQUIRED'
  | 'SUBSCRIPTION_OVER_HTTP';

/** An operation refused by a guard: BAD_USER_INPUT with the rule in `reason` (HTTP 400, or 200 under application/json: media.ts). */
export class OperationRefused extends GraphQLErrorWithCode {
  constructor(
    message: string,
    readonly reason: LimitReason,
  ) {
    super(message, ErrorCode.BAD_USER_INPUT, { reason });
    this.name = 'OperationRefused';
  }
}

/**
 * The items a list field without `first` is assumed to return (Case.documents,
 * Case.approvals, Document.deliveries, ...): small lists owned by one object,
 * a handful each in practice. Connection edges take their parent's `first`
 * instead. With 5, a full page of 100 cases with customer, approvals,
 * documents and deliveries estimates about 8,000, within the default 20,000.
 */
export const ASSUMED_LIST_SIZE = 5;

/**
 * How deeply a request's variables may nest (objects and lists). Our inputs
 * nest a few levels; thousands of levels only serve to exhaust a recursive
 * walker somewhere downstream.
 */
export const MAX_VARIABLE_DEPTH = 32;

export interface OperationMeasure {
  /** Nested field levels; a root field is depth 1. Fragments are expanded. */
  depth: number;
  /** Aliased fields, counted where fragments place them. */
  aliases: number;
  /** Fields of the operation's root selection, fragments expanded. */
  rootFields: number;
  /** Directive uses, on the operation, its variables, selections and the fragments it spreads. */
  directives: number;
  /** Every field costs 1; the selection under a list costs once per item expected. */
  cost: number;
  /** Depth of the introspection part (`__schema`, `__type`), root field included. */
  introspectionDepth: number;
  /** Lists nested in the introspection part (`types { fields { args } }` is 3). */
  introspectionLists: number;
}

/**
 * Introspection is answered by the gateway from its own schema, never by a
 * subgraph, and its list sizes are the schema's, not a page: pricing it by
 * assumed list sizes would refuse the standard introspection query (depth 15,
 * "cost" ~50,000 under the rules above) that GraphiQL, Apollo Sandbox and
 * codegen send. Its part of an operation is bounded by shape instead: depth
 * up to this (or maxDepth when larger) and at most INTROSPECTION_MAX_LISTS
 * nested lists; each of its fields costs 1.
 */
export const INTROSPECTION_MAX_DEPTH = 16;
/** `types { fields { args } }` needs 3; a fourth (`fields { type { fields ... } }`) multiplies by the schema again. */
export const INTROSPECTION_MAX_LISTS = 3;

interface Tally {
  depth: number;
  introspectionDepth: number;
  introspectionLists: number;
  aliases: number;
  directives: number;
  cost: number;
  /** Fields directly in this selection set (through fragments): the root-field count at the top. */
  fields: number;
}

const EMPTY: Readonly<Tally> = {
  depth: 0,
  introspectionDepth: 0,
  introspectionLists: 0,
  aliases: 0,
  directives: 0,
  cost: 0,
  fields: 0,
};

/** Where a selection set sits: the page size its list fields take, and whether it is introspection. */
interface Place {
  page: number | undefined;
  introspection: boolean;
}

/** m × c where 0 × ∞ is 0 (an empty page of a bomb costs nothing), never NaN. */
function times(m: number, c: number): number {
  return m === 0 || c === 0 ? 0 : m * c;
}

/**
 * Measures the operation that would run. The document need not be valid yet
 * (this runs before validation): unknown fields cost 1 and have no list size,
 * fragment cycles count once; validation refuses those documents afterwards.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const memo = new Map<string, Tally>();
  const visiting = new Set<string>();
  const queryType = schema.getQueryType();

  function fieldDef(
    parent: GraphQLNamedType | undefined,
    name: string,
  ): GraphQLField<unknown, unknown> | undefined {
    if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
    if (parent && parent === queryType) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name];
    return undefined;
  }

  /** The page a `first` argument asks for: its literal, its variable, the variable's default, or the default page. */
  function firstOf(node: FieldNode): number {
    const arg = node.arguments?.find((a) => a.name.value === 'first');
    let value: unknown = undefined;
    if (arg?.value.kind === Kind.INT) value = Number(arg.value.value);
    else if (arg?.value.kind === Kind.VARIABLE) {
      const name = arg.value.name.value;
      if (variables && Object.prototype.hasOwnProperty.call(variables, name)) value = variables[name];
      else {
        const def = operation.variableDefinitions?.find((v) => v.variable.name.value === name);
        if (def?.defaultValue?.kind === Kind.INT) value = Number(def.defaultValue.value);
      }
    }
    // A missing, null or mistyped `first` gets the default page (execution refuses a mistyped one).
    return typeof value === 'number' && !Number.isNaN(value) ? Math.max(0, value) : DEFAULT_PAGE;
  }

  function field(node: FieldNode, parent: GraphQLNamedType | undefined, place: Place): Tally {
    const aliases = node.alias ? 1 : 0;
    const directives = node.directives?.length ?? 0;
    const introspection =
      place.introspection ||
      (parent !== undefined &&
        parent === queryType &&
        (node.name.value === SchemaMetaFieldDef.name || node.name.value === TypeMetaFieldDef.name));
    if (!node.selectionSet) {
      return introspection
        ? { ...EMPTY, introspectionDepth: 1, aliases, directives, cost: 1, fields: 1 }
        : { ...EMPTY, depth: 1, aliases, directives, cost: 1, fields: 1 };
    }
    const def = fieldDef(parent, node.name.value);
    const type = def ? getNamedType(def.type) : undefined;
    const isList = def ? isListType(getNullableType(def.type)) : false;
    if (introspection) {
      const child = selectionSet(node.selectionSet, type, { page: undefined, introspection: true });
      return {
        ...EMPTY,
        introspectionDepth: 1 + child.introspectionDepth,
        introspectionLists: (isList ? 1 : 0) + child.introspectionLists,
        aliases: aliases + child.aliases,
        directives: directives + child.directives,
        cost: 1 + child.cost,
        fields: 1,
      };
    }
    let multiplier = 1;
    let childPage: number | undefined;
    if (def?.args.some((a) => a.name === 'first')) {
      // A paginated list multiplies directly; a connection hands the page size to its edges.
      if (isList) multiplier = firstOf(node);
      else childPage = firstOf(node);
    } else if (isList) multiplier = place.page ?? ASSUMED_LIST_SIZE;
    const child = selectionSet(node.selectionSet, type, { page: childPage, introspection: false });
    return {
      ...EMPTY,
      depth: 1 + child.depth,
      aliases: aliases + child.aliases,
      directives: directives + child.directives,
      cost: 1 + times(multiplier, child.cost),
      fields: 1,
    };
  }

  function spread(name: string, place: Place): Tally {
    const key = `${name}\u0000${place.page ?? ''}\u0000${place.introspection}`;
    const known = memo.get(key);
    if (known) return known;
    const fragment = fragments.get(name);
    // An unknown fragment or a cycle: validation refuses the document; count nothing more here.
    if (!fragment || visiting.has(name)) return EMPTY;
    visiting.add(name);
    const type = schema.getType(fragment.typeCondition.name.value) ?? undefined;
    const inner = selectionSet(fragment.selectionSet, type, place);
    visiting.delete(name);
    const tally = { ...inner, directives: inner.directives + (fragment.directives?.length ?? 0) };
    memo.set(key, tally);
    return tally;
  }

  function selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined, place: Place): Tally {
    const total: Tally = { ...EMPTY };
    for (const sel of set.selections) {
      let part: Tally;
      if (sel.kind === Kind.FIELD) part = field(sel, parent, place);
      else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) ?? undefined) : parent;
        const inner = selectionSet(sel.selectionSet, type, place);
        part = { ...inner, directives: inner.directives + (sel.directives?.length ?? 0) };
      } else {
        const inner = spread(sel.name.value, place);
        part = { ...inner, directives: inner.directives + (sel.directives?.length ?? 0) };
      }
      // Repeated fields count each time: execution merges them, but a bomb is still a bomb to validate.
      total.depth = Math.max(total.depth, part.depth);
      total.introspectionDepth = Math.max(total.introspectionDepth, part.introspectionDepth);
      total.introspectionLists = Math.max(total.introspectionLists, part.introspectionLists);
      total.aliases += part.aliases;
      total.directives += part.directives;
      total.cost += part.cost;
      total.fields += part.fields;
    }
    return total;
  }

  const root = schema.getRootType(operation.operation) ?? undefined;
  const top = selectionSet(operation.selectionSet, root, { page: undefined, introspection: false });
  let directives = top.directives + (operation.directives?.length ?? 0);
  for (const v of operation.variableDefinitions ?? []) directives += v.directives?.length ?? 0;
  return {
    depth: top.depth,
    aliases: top.aliases,
    rootFields: top.fields,
    directives,
    cost: top.cost,
    introspectionDepth: top.introspectionDepth,
    introspectionLists: top.introspectionLists,
  };
}

/** Throws OperationRefused for the first limit the measure passes. `!(x <= max)` also refuses NaN. */
export function enforceLimits(m: OperationMeasure, limits: OperationLimits): void {
  const checks: Array<[number, number, LimitReason, string]> = [
    [m.depth, limits.maxDepth, 'MAX_DEPTH', 'Query depth'],
    [
      m.introspectionDepth,
      Math.max(limits.maxDepth, INTROSPECTION_MAX_DEPTH),
      'MAX_DEPTH',
      'Introspection depth',
    ],
    [m.introspectionLists, INTROSPECTION_MAX_LISTS, 'MAX_DEPTH', 'Nested introspection lists'],
    [m.rootFields, limits.maxRootFields, 'MAX_ROOT_FIELDS', 'Root fields'],
    [m.aliases, limits.maxAliases, 'MAX_ALIASES', 'Aliases'],
    [m.directives, limits.maxDirectives, 'MAX_DIRECTIVES', 'Directives'],
    [m.cost, limits.maxCost, 'MAX_COST', 'Query cost'],
  ];
  for (const [value, max, reason, what] of checks) {
    if (!(value <= max)) {
      // A bomb's figures run to 2^1000 and beyond: not worth printing.
      const message =
        Number.isFinite(value) && value < 1e15
          ? `${what} ${value} exceeds the limit of ${max}`
          : `${what} exceeds the limit of ${max} many times over`;
      throw new OperationRefused(message, reason);
    }
  }
}

/** Parses with the token limit: a document over it is refused before it is fully read. */
export function parseLimited(query: string, maxTokens: number): DocumentNode {
  try {
    return parse(query, { maxTokens });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // graphql-js words it "more that" (sic) in 16.x; accept the corrected spelling too.
    if (/Document contains more th(?:at|an) \d+ tokens/.test(message)) {
      throw new OperationRefused(`The document has more than ${maxTokens} tokens`, 'MAX_TOKENS');
    }
    throw new OperationRefused(message, 'GRAPHQL_PARSE_FAILED');
  }
}

/**
 * Documents by text, as parseLimited left them: parsed, or refused (the refusal kept, to be
 * thrown again as a new error). Clients send the same few texts over and over; parsing each
 * again was per-request work with the same answer every time. Bounded by count and by the
 * total length of the texts held, so a stream of distinct documents only turns the cache over.
 */
export const DOCUMENT_CACHE = { maxEntries: 1_000, maxTextChars: 1_000_000 } as const;
/** Measures kept per document and operation, one per distinct set of page sizes it was asked with. */
const MEASURES_PER_DOCUMENT = 32;

type Parsed = { document: DocumentNode } | { refused: { message: string; reason: LimitReason } };

export function documentCache(maxTokens: number): (query: string) => DocumentNode {
  const known = new Lru<string, Parsed>(DOCUMENT_CACHE.maxEntries, DOCUMENT_CACHE.maxTextChars);
  return (query) => {
    let entry = known.get(query);
    if (!entry) {
      try {
        entry = { document: parseLimited(query, maxTokens) };
      } catch (err) {
        if (!(err instanceof OperationRefused)) throw err;
        entry = { refused: { message: err.message, reason: err.reason } };
      }
      known.set(query, entry, query.length);
    }
    if ('refused' in entry) throw new OperationRefused(entry.refused.message, entry.refused.reason);
    return entry.document;
  };
}

/** The variables a document passes as a `first` argument: the only ones measureOperation reads. */
function pageVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if (node.name.value === 'first' && node.value.kind === Kind.VARIABLE) names.add(node.value.name.value);
    },
  });
  return [...names];
}

/**
 * measureOperation, remembered per document, operation and page sizes. The key holds what
 * firstOf reads of each page variable: absent (the default applies), a number, or anything
 * else (the default page).
 */
export function measureCache(schema: GraphQLSchema): typeof measureOperation {
  const byDocument = new WeakMap<
    DocumentNode,
    { pages: string[]; measures: Lru<string, OperationMeasure> }
  >();
  return (s, document, operation, variables) => {
    if (s !== schema) return measureOperation(s, document, operation, variables);
    let known = byDocument.get(document);
    if (!known) {
      known = { pages: pageVariables(document), measures: new Lru(MEASURES_PER_DOCUMENT) };
      byDocument.set(document, known);
    }
    const values = known.pages.map((name) => {
      if (!variables || !Object.prototype.hasOwnProperty.call(variables, name)) return '-';
      const v = variables[name];
      return typeof v === 'number' ? String(v) : 'x';
    });
    const key = `${operation.name?.value ?? ''}\u0000${operation.loc?.start ?? ''}\u0000${values.join(',')}`;
    let measure = known.measures.get(key);
    if (!measure) {
      measure = measureOperation(schema, document, operation, variables);
      known.measures.set(key, measure);
    }
    return measure;
  };
}

/** How deeply a JSON value nests, walked without recursion; stops counting past `max`. */
export function nestingDepth(value: unknown, max: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > deepest) deepest = d + 1;
    if (deepest > max) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** "Did you mean ...?" as graphql-js words it (the same pattern Apollo Server strips from validation errors). */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

/** One operation's request parameters, as in an HTTP body, GET parameters or a graphql-ws payload. */
export interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
  documentId?: unknown;
}

export interface AdmittedOperation {
  /** The request to run: the trusted document's text in `query`, the hash fields removed. */
  request: OperationRequest;
  /** The parsed document, when there was a query and it parsed. */
  document?: DocumentNode;
  operation?: OperationDefinitionNode;
}

export interface GatewayGuards {
  /** Apollo Server options of the gateway. */
  readonly apollo: {
    parseOptions: { maxTokens: number };
    allowBatchedHttpRequests: boolean;
    hideSchemaDetailsFromClientErrors: boolean;
    persistedQueries: false;
  };
  /** Reading and checking HTTP requests (body size, batches, each operation). */
  readonly http: GraphQLHttpOptions;
  /** maskError, plus "did you mean" hidden when field suggestions are off (also for variable errors, which Apollo leaves). */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** graphql-ws `onSubscribe`: the same checks, then validation, for a socket's operation. */
  onSubscribe(payload: OperationRequest): Omit<ExecutionArgs, 'contextValue'> | GraphQLError[];
  /** The checks for one operation, its trusted document resolved; throws OperationRefused. */
  admit(request: OperationRequest): AdmittedOperation;
}

/**
 * The guards for a schema under the security settings. Loads the trusted
 * documents manifest when one is set (a bad manifest refuses the start).
 */
export async function createGatewayGuards(
  schema: GraphQLSchema,
  security: SecurityConfig,
): Promise<GatewayGuards> {
  const limits = security.limits;
  const trusted: TrustedDocuments | null = security.trustedDocuments
    ? await loadTrustedDocuments(security.trustedDocuments)
    : null;
  const rules: ValidationRule[] = security.introspection
    ? [...specifiedRules]
    : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const hide = (message: string) => (security.fieldSuggestions ? message : withoutSuggestions(message));
  const parseKnown = documentCache(limits.maxTokens);
  const measure = measureCache(schema);

  function admit(request: OperationRequest): AdmittedOperation {
    let query = request.query;
    let out = request;
    if (trusted) {
      const resolved = trusted.resolve(request);
      if (!resolved.ok) throw new OperationRefused(resolved.message, resolved.reason);
      query = resolved.query;
      // The hash did its work; what runs is the registered text.
      const { documentId: _id, extensions, ...rest } = request;
      out = { ...rest, query };
      if (typeof extensions === 'object' && extensions !== null && !Array.isArray(extensions)) {
        const { persistedQuery: _pq, ...others } = extensions as Record<string, unknown>;
        if (Object.keys(others).length) out.extensions = others;
      }
    }
    if (
      request.variables !== undefined &&
      nestingDepth(request.variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH
    ) {
      throw new OperationRefused(
        `Variables nest deeper than ${MAX_VARIABLE_DEPTH} levels`,
        'MAX_VARIABLE_DEPTH',
      );
    }
    // No text: Apollo Server refuses the request with its own coded error (nothing runs).
    if (typeof query !== 'string' || query === '') return { request: out };
    const document = parseKnown(query);
    const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
    const operation = getOperationAST(document, operationName) ?? undefined;
    // An ambiguous or unknown operation name: refused by Apollo Server / below, before execution.
    if (!operation) return { request: out, document };
    const variables =
      typeof request.variables === 'object' && request.variables !== null && !Array.isArray(request.variables)
        ? (request.variables as Record<string, unknown>)
        : undefined;
    enforceLimits(measure(schema, document, operation, variables), limits);
    return { request: out, document, operation };
  }

  /** The refusal of one operation as an HTTP refusal; a batch names which operation. */
  function refuse(err: unknown, index?: number): never {
    if (err instanceof OperationRefused) {
      const where = index === undefined ? '' : `Operation ${index + 1} of the batch: `;
      throw new RequestRefused(400, `${where}${err.message}`, err.reason);
    }
    throw err;
  }

  /**
   * An HTTP operation: what `admit` checks, and not a subscription. Those
   * need a socket (graphql-ws on the same URL); over HTTP the stitched
   * executor has no stream to give and would fail unexpectedly instead.
   */
  function admitHttp(request: OperationRequest): AdmittedOperation {
    const admitted = admit(request);
    if (admitted.operation?.operation === 'subscription') {
      throw new OperationRefused(
        'Subscriptions run over graphql-ws (the graphql-transport-ws protocol) on this same URL, not over HTTP',
        'SUBSCRIPTION_OVER_HTTP',
      );
    }
    return admitted;
  }

  function prepare(request: PreparedRequest): PreparedRequest {
    if (request.method === 'POST') {
      const body = request.body;
      if (Array.isArray(body)) {
        if (limits.maxBatch <= 1) {
          throw new RequestRefused(400, 'Batched requests are turned off here', 'MAX_BATCH');
        }
        if (body.length > limits.maxBatch) {
          throw new RequestRefused(
            400,
            `A batch of ${body.length} operations exceeds the limit of ${limits.maxBatch}`,
            'MAX_BATCH',
          );
        }
        // Every operation passes before any runs: a batch is refused whole.
        const admitted = body.map((piece: unknown, i) => {
          if (typeof piece !== 'object' || piece === null || Array.isArray(piece)) return piece;
          try {
            return admitHttp(piece as OperationRequest).request;
          } catch (err) {
            return refuse(err, i);
          }
        });
        return { ...request, body: admitted };
      }
      if (typeof body === 'object' && body !== null) {
        try {
          return { ...request, body: admitHttp(body as OperationRequest).request };
        } catch (err) {
          return refuse(err);
        }
      }
      // Not JSON: Apollo Server refuses it (400) without running anything.
      return request;
    }
    if (request.method === 'GET') {
      const params = new URLSearchParams(request.search);
      // Apollo Server reads a parameter only when it is given once; so do we.
      const once = (name: string) => {
        const all = params.getAll(name);
        return all.length === 1 ? all[0] : undefined;
      };
      const json = (name: string): unknown => {
        const raw = once(name);
        if (raw === undefined) return undefined;
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          // Apollo Server refuses unparseable JSON parameters itself.
          return undefined;
        }
      };
      let admitted: AdmittedOperation;
      try {
        admitted = admitHttp({
          query: once('query'),
          operationName: once('operationName'),
          variables: json('variables'),
          extensions: json('extensions'),
          documentId: once('documentId'),
        });
      } catch (err) {
        return refuse(err);
      }
      if (trusted && typeof admitted.request.query === 'string') {
        params.set('query', admitted.request.query);
        params.delete('documentId');
        if (admitted.request.extensions === undefined) params.delete('extensions');
        else params.set('extensions', JSON.stringify(admitted.request.extensions));
      }
      return { ...request, search: `?${params.toString()}` };
    }
    return request;
  }

  function coded(errors: readonly GraphQLError[], reason: LimitReason): GraphQLError[] {
    return errors.map((e) => new OperationRefused(hide(e.message), reason));
  }

  function onSubscribe(payload: OperationRequest): Omit<ExecutionArgs, 'contextValue'> | GraphQLError[] {
    let admitted: AdmittedOperation;
    try {
      admitted = admit(payload);
    } catch (err) {
      if (err instanceof OperationRefused) return [err];
      throw err;
    }
    const { document, operation } = admitted;
    if (!document) {
      return [new OperationRefused('The operation has no query', 'GRAPHQL_PARSE_FAILED')];
    }
    if (!operation) {
      return [
        new OperationRefused(
          'No single operation to run: name one with operationName',
          'GRAPHQL_VALIDATION_FAILED',
        ),
      ];
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length) return coded(invalid, 'GRAPHQL_VALIDATION_FAILED');
    const variableValues =
      typeof payload.variables === 'object' && payload.variables !== null
        ? (payload.variables as Record<string, unknown>)
        : undefined;
    // Variables of the wrong type are the client's fault; coerced here they are coded as such.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {}, {
      maxErrors: 20,
    });
    if (coerced.errors) return coded(coerced.errors, 'GRAPHQL_VALIDATION_FAILED');
    return {
      schema,
      document,
      operationName: operation.name?.value,
      variableValues,
    };
  }

  return {
    apollo: {
      parseOptions: { maxTokens: limits.maxTokens },
      allowBatchedHttpRequests: limits.maxBatch > 1,
      hideSchemaDetailsFromClientErrors: !security.fieldSuggestions,
      // Automatic persisted queries would run a hash the guards never saw the text of;
      // registered hashes are trusted documents, resolved above.
      persistedQueries: false,
    },
    http: { maxBodyBytes: limits.maxBodyBytes, prepare },
    formatError(formatted, error) {
      const masked = maskError(formatted, error);
      return security.fieldSuggestions ? masked : { ...masked, message: withoutSuggestions(masked.message) };
    },
    onSubscribe,
    admit,
  };
}
