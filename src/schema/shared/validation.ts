import { isInputObjectType, isListType, isNonNullType, isScalarType, type GraphQLInputType } from 'graphql';
import { getMetadataStorage, type ValidatorFn } from 'type-graphql';
import { badInput } from '../../errors/index.js';
import {
  EMAIL_ADDRESS,
  EMAIL_EXPECTED,
  ID_EXPECTED,
  ID_FORMAT,
  jsonProblem,
  PHONE,
  PHONE_EXPECTED,
  textProblem,
  type JsonLimits as JsonLimitsOptions,
  type TextLimits,
} from '../../validation/index.js';

/**
 * Declarative input validation, the first line in front of the services. Input classes carry
 * small decorators (@Text, @Matches, @JsonLimits, @Items, @Email, @Phone); `validateArgs`, given
 * to type-graphql as its `validateFn`, checks every argument of every resolver against them
 * after authorisation and before the resolver runs, so a refused call changes nothing.
 *
 * Whatever has no decorator still gets a default, by GraphQL type: every String is one line of
 * at most DEFAULTS.string.max characters, every ID has our id format, every JSON value stays
 * within DEFAULTS.json, every list within DEFAULTS.listMax items. A refusal is BAD_USER_INPUT
 * with `extensions.field` the path of the offending value from the argument, e.g.
 * `input.title`, `input.data.items[2]`, `input.channels`.
 */

export const DEFAULTS = {
  /** A String field or argument nobody gave a limit: one line (names, keys, cursors). */
  string: { max: 1000, multiline: false } satisfies TextLimits,
  /** A JSON field nobody gave limits. */
  json: { maxBytes: 64 * 1024, maxDepth: 12 } satisfies JsonLimitsOptions,
  listMax: 100,
} as const;

/** The limits the input classes use, in one place so the README can quote them. */
export const LIMITS = {
  /** Case titles, template names. */
  title: 200,
  /** People and teams named in free text: assignee, requestedBy. */
  name: 200,
  team: 100,
  /** Decision comments, reasons, resolutions. */
  comment: 2000,
  /** Investigation notes. */
  note: 4000,
  channelOverrideReason: 500,
  idempotencyKey: 200,
  email: 254,
  /** Customer data merged into documents (the communications service keeps the same cap). */
  data: { maxBytes: 64 * 1024, maxDepth: 12, object: true } satisfies JsonLimitsOptions,
  /** Template content: channel parts (the lifecycle keeps the same 256 KiB cap). */
  templateContent: { maxBytes: 256 * 1024, maxDepth: 8, object: true } satisfies JsonLimitsOptions,
  /** A JSON Schema nests two levels per level of data (properties, then the schema). */
  dataSchema: { maxBytes: 64 * 1024, maxDepth: 32, object: true } satisfies JsonLimitsOptions,
  /** Service-to-service error messages (render faults can be long and span lines). */
  message: 4000,
} as const;

type Rule =
  | { kind: 'text'; limits: TextLimits }
  | { kind: 'pattern'; pattern: RegExp; expected: string }
  | { kind: 'json'; limits: JsonLimitsOptions }
  | { kind: 'items'; min: number; max: number };

// type-graphql identifies input types by their class; any constructor may carry rules.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const rulesByClass = new Map<Function, Map<string, Rule[]>>();
/** GraphQL input type name -> field name -> rules, collected from rulesByClass when first needed. */
const rulesByType = new Map<string, Map<string, Rule[]>>();

function addRule(rule: Rule): PropertyDecorator {
  return (prototype, property) => {
    if (typeof property !== 'string') throw new Error('validation decorators go on named fields');
    const target = prototype.constructor;
    let fields = rulesByClass.get(target);
    if (!fields) rulesByClass.set(target, (fields = new Map()));
    fields.set(property, [...(fields.get(property) ?? []), rule]);
    rulesByType.clear();
  };
}

/** Text of at most `max` characters; `min: 1` refuses blank; `multiline` allows newline and tab. */
export function Text(max: number, opts: { min?: number; multiline?: boolean } = {}): PropertyDecorator {
  return addRule({ kind: 'text', limits: { max, ...opts } });
}

/** The whole value must match; `expected` says what in the error, e.g. "snake_case (claim_letter)". */
export function Matches(pattern: RegExp, expected: string): PropertyDecorator {
  return addRule({ kind: 'pattern', pattern, expected });
}

/** A JSON value within size and depth (see jsonProblem for everything else a JSON value must be). */
export function JsonLimits(limits: JsonLimitsOptions): PropertyDecorator {
  return addRule({ kind: 'json', limits });
}

/** A list of `min` to `max` items. */
export function Items(min: number, max: number): PropertyDecorator {
  return addRule({ kind: 'items', min, max });
}

export function Email(): PropertyDecorator {
  return (prototype, property) => {
    addRule({ kind: 'text', limits: { max: LIMITS.email } })(prototype, property);
    addRule({ kind: 'pattern', pattern: EMAIL_ADDRESS, expected: EMAIL_EXPECTED })(prototype, property);
  };
}

export function Phone(): PropertyDecorator {
  return addRule({ kind: 'pattern', pattern: PHONE, expected: PHONE_EXPECTED });
}

function rulesFor(typeName: string): Map<string, Rule[]> {
  let rules = rulesByType.get(typeName);
  if (!rules) {
    collectRules();
    rules = rulesByType.get(typeName);
    // Not a class of ours (or no rules): remember that, so the next call does not collect again.
    if (!rules) rulesByType.set(typeName, (rules = new Map()));
  }
  return rules;
}

function collectRules(): void {
  for (const meta of getMetadataStorage().inputTypes) {
    const merged = new Map<string, Rule[]>();
    // Inherited fields keep their rules; the subclass's own rules come first.
    for (let c: unknown = meta.target; typeof c === 'function' && c !== Function.prototype;) {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
      for (const [field, rules] of rulesByClass.get(c as Function) ?? []) {
        merged.set(field, [...(merged.get(field) ?? []), ...rules]);
      }
      c = Object.getPrototypeOf(c);
    }
    rulesByType.set(meta.name, merged);
  }
}

function refuse(path: string, problem: string): never {
  throw badInput(`${path}: ${problem}`, path);
}

function checkString(value: string, scalar: 'String' | 'ID', path: string, rules: Rule[]): void {
  const text = rules.find((r): r is Extract<Rule, { kind: 'text' }> => r.kind === 'text');
  const patterns = rules.filter((r): r is Extract<Rule, { kind: 'pattern' }> => r.kind === 'pattern');
  const problem = textProblem(value, text?.limits ?? DEFAULTS.string);
  if (problem) refuse(path, problem);
  if (scalar === 'ID' && !patterns.length && !ID_FORMAT.test(value)) refuse(path, ID_EXPECTED);
  for (const p of patterns) if (!p.pattern.test(value)) refuse(path, p.expected);
}

function checkValue(value: unknown, type: GraphQLInputType, path: string, rules: Rule[]): void {
  if (value === undefined || value === null) return;
  if (isNonNullType(type)) return checkValue(value, type.ofType, path, rules);
  if (isListType(type)) {
    // GraphQL coerces a single value given for a list into a list of one.
    const items: unknown[] = Array.isArray(value) ? value : [value];
    const size = rules.find((r): r is Extract<Rule, { kind: 'items' }> => r.kind === 'items');
    const min = size?.min ?? 0;
    const max = size?.max ?? DEFAULTS.listMax;
    if (items.length < min || items.length > max) {
      refuse(path, min > 0 ? `${min} to ${max} items` : `at most ${max} items`);
    }
    // The other rules (text, pattern) apply to each item.
    const itemRules = rules.filter((r) => r.kind !== 'items');
    items.forEach((item, i) => checkValue(item, type.ofType, `${path}[${i}]`, itemRules));
    return;
  }
  if (isInputObjectType(type)) {
    const fieldRules = rulesFor(type.name);
    const obj = value as Record<string, unknown>;
    for (const field of Object.values(type.getFields())) {
      checkValue(obj[field.name], field.type, `${path}.${field.name}`, fieldRules.get(field.name) ?? []);
    }
    return;
  }
  if (!isScalarType(type)) return; // enums: GraphQL itself refuses values outside them
  switch (type.name) {
    case 'String':
    case 'ID':
      if (typeof value === 'string') checkString(value, type.name, path, rules);
      return;
    case 'JSON': {
      const json = rules.find((r): r is Extract<Rule, { kind: 'json' }> => r.kind === 'json');
      const problem = jsonProblem(value, json?.limits ?? DEFAULTS.json);
      if (problem) refuse(`${path}${problem.path}`, problem.message);
      return;
    }
    default:
      // Int, Float, Boolean, DateTime: their GraphQL scalars already refuse anything else.
      return;
  }
}

/** The args objects already checked: type-graphql calls validateFn once per argument, we check all at once. */
const checked = new WeakSet<object>();

/**
 * type-graphql's `validateFn`. It receives one argument at a time without its name, so this
 * checks every argument of the field from `info`, once per call (the args object is shared by
 * the calls for one field), against the GraphQL types, which give each value's path.
 */
export const validateArgs: ValidatorFn = (_value, _type, { args, info }) => {
  if (checked.has(args)) return;
  checked.add(args);
  const field = info.parentType.getFields()[info.fieldName];
  if (!field) return;
  for (const arg of field.args) checkValue(args[arg.name], arg.type, arg.name, []);
};

/** For unit tests and tools: checks one argument value against its GraphQL type. */
export function checkArgument(name: string, type: GraphQLInputType, value: unknown): void {
  checkValue(value, type, name, []);
}
