/**
 * Pure input checks, shared by the GraphQL layer (the first line: every argument of every
 * resolver, see src/schema/shared/validation.ts), the JSON scalar and the services (which
 * guard every entry point, including direct calls between subgraphs). No GraphQL here: each
 * check returns a problem (a short sentence) or null, and the caller names the field.
 */

/** Our ids: `cus_001`, `case_<uuid>`, `tpl_claim_letter_v2`, event ids (digits). Also the download route's pattern. */
export const ID_FORMAT = /^[A-Za-z0-9_-]{1,100}$/;
export const ID_EXPECTED = 'an id: 1 to 100 letters, digits, "_" or "-"';

/** A template's document type, which also makes its id (tpl_<documentType>). */
export const DOCUMENT_TYPE = /^[a-z][a-z0-9_]{1,60}$/;

/**
 * An address the email outbox can deliver to (the same shape it checks): a dot-atom local part
 * and a domain of letter-digit-hyphen labels. No display names, quotes, comments or IP literals.
 */
export const EMAIL_ADDRESS =
  /^(?=[^@]{1,64}@)(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
export const EMAIL_EXPECTED = 'an email address such as name@example.com';

/** International format (E.164 digits, spaces allowed for readability), e.g. +44 7700 900123. */
export const PHONE = /^\+[1-9][0-9 ]{6,19}$/;
export const PHONE_EXPECTED = 'international format, e.g. +44 7700 900123';

export interface TextLimits {
  /** Most UTF-16 code units (what String.length counts, as the services do). */
  max: number;
  /** Least characters once trimmed; 1 refuses blank text. */
  min?: number;
  /** Free text: newline, carriage return and tab are allowed. Otherwise one line, no control characters. */
  multiline?: boolean;
}

// Control characters are the point of these patterns. C0, DEL and C1; a single line also
// refuses the Unicode line and paragraph separators, which some renderers break lines at.
// eslint-disable-next-line no-control-regex
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const MULTILINE_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** Half of a surrogate pair: not text; PostgreSQL refuses it inside jsonb. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Characters no text we store may hold, whatever its length: control characters and broken Unicode. */
export function characterProblem(value: string, multiline: boolean): string | null {
  const bad = (multiline ? MULTILINE_FORBIDDEN : SINGLE_LINE_FORBIDDEN).exec(value);
  if (bad) {
    return multiline
      ? `control character ${codePoint(bad[0])} is not allowed (only newline and tab)`
      : `control character ${codePoint(bad[0])} is not allowed (one line of text)`;
  }
  if (LONE_SURROGATE.test(value)) return 'not valid Unicode text (a lone surrogate)';
  return null;
}

export function textProblem(value: string, limits: TextLimits): string | null {
  if (value.length > limits.max) return `at most ${limits.max} characters`;
  const min = limits.min ?? 0;
  if (min > 0 && value.trim().length < min) {
    return min === 1 ? 'must not be blank' : `at least ${min} characters`;
  }
  return characterProblem(value, limits.multiline ?? false);
}

export interface JsonLimits {
  /** Most bytes of the value written as JSON (UTF-8). */
  maxBytes: number;
  /** Most levels of nested objects and arrays; `{"a": [1]}` has two. */
  maxDepth: number;
  /** The value must be a JSON object (not an array, string, ...). */
  object?: boolean;
}

/** Where in a JSON value a problem is, relative to the value: `.items[2].name`, `["a b"]`. */
export interface JsonProblem {
  path: string;
  message: string;
}

/**
 * Keys that name JavaScript's prototype machinery. They are refused rather than dropped: a
 * payload carrying them is either a probe or a mistake, and silently changing what a caller
 * sent would change what gets archived and rendered.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_KEY_LENGTH = 200;

export function pathKey(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that a value is plain JSON within the limits: objects with plain prototypes, arrays,
 * strings (no control characters but newline and tab, no broken Unicode), finite numbers,
 * booleans and null; no reserved keys; nested no deeper than maxDepth; at most maxBytes.
 * The walk stops at the depth limit, so a hostile nesting cannot exhaust the stack.
 * `shapeOnly` checks just the shape (plain JSON, depth, size), for a ceiling that cannot name fields.
 */
export function jsonProblem(
  value: unknown,
  limits: JsonLimits,
  opts: { shapeOnly?: boolean } = {},
): JsonProblem | null {
  if (limits.object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    return { path: '', message: 'must be a JSON object' };
  }
  const found = walk(value, '', 0, limits.maxDepth, !opts.shapeOnly);
  if (found) return found;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > limits.maxBytes) {
    return { path: '', message: `at most ${limits.maxBytes} bytes as JSON (this is ${bytes})` };
  }
  return null;
}

function walk(
  value: unknown,
  path: string,
  depth: number,
  maxDepth: number,
  content: boolean,
): JsonProblem | null {
  switch (typeof value) {
    case 'string': {
      const problem = content ? characterProblem(value, true) : null;
      return problem ? { path, message: problem } : null;
    }
    case 'number':
      return Number.isFinite(value) ? null : { path, message: 'not a JSON number' };
    case 'boolean':
      return null;
    case 'object':
      break;
    default:
      return { path, message: `not a JSON value (${typeof value})` };
  }
  if (value === null) return null;
  if (depth + 1 > maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = walk(value[i], `${path}[${i}]`, depth + 1, maxDepth, content);
      if (found) return found;
    }
    return null;
  }
  if (!isPlainObject(value)) return { path, message: 'not a plain JSON object' };
  for (const key of Object.keys(value)) {
    const at = `${path}${pathKey(key)}`;
    if (content && RESERVED_KEYS.has(key)) {
      return {
        path: at,
        message: `the key "${key}" is not allowed (__proto__, constructor, prototype)`,
      };
    }
    if (content && key.length > MAX_KEY_LENGTH) {
      return { path: at, message: `a key of at most ${MAX_KEY_LENGTH} characters` };
    }
    const keyProblem = content ? characterProblem(key, false) : null;
    if (keyProblem) return { path: at, message: `key: ${keyProblem}` };
    const v = (value as Record<string, unknown>)[key];
    // An in-process caller may leave a property undefined; JSON has no such value and drops it.
    if (v === undefined) continue;
    const found = walk(v, at, depth + 1, maxDepth, content);
    if (found) return found;
  }
  return null;
}
