import Handlebars from 'handlebars';
import { MAX_LANGUAGES, supportedLanguage } from './format.js';

/**
 * What template content may contain, checked when it is written (createTemplate, editTemplate)
 * so that a version cannot even reach review with content that runs code, reaches prototypes or
 * lets customer data turn into markup. The renderer keeps its own runtime guards (private
 * Handlebars environment, prototype access off, fixed helper set); this is the stricter rule for
 * what authors may write.
 *
 * Handlebars:
 * - Expressions are paths (`data.items`, `this`, `@index`, `../name`), literals and the helpers
 *   below. No segment may name JavaScript's object machinery (constructor, __proto__,
 *   prototype, hasOwnProperty, ...).
 * - Helpers: money, date, upper, percent, eq inline; if, unless, each, with as blocks. No
 *   `lookup` (a computed property name defeats the path check), no `log`, no partials
 *   (`{{> x}}`), no decorators (`{{* x}}`, `{{#* inline}}`).
 * - No triple-stash `{{{x}}}` or `{{& x}}`: every value is escaped in HTML and MJML. Nothing we
 *   render needs raw HTML from data, so there is no exception to make.
 *
 * HTML and MJML (`html`, `mjml`):
 * - No <script>, <iframe>, <frame>, <frameset>, <object>, <embed>, <applet>, <base>, <form>;
 *   no event-handler attributes (on...); no javascript: or vbscript: URLs.
 * - An expression may sit in text or in a quoted attribute value; not in a tag or attribute
 *   name, nor in an unquoted value.
 * - In URL attributes (href, src, ...), the scheme and host are written by the author: the value
 *   must begin with https://host/, http://host/, mailto:, tel:, / or # before any expression.
 * - In CSS (style attributes, <style>, <mj-style>, and the styling attributes of mj-*
 *   components) only brand values (`{{brand.primaryColour}}`) may be used: escaping does not stop
 *   `;` or `url(` inside CSS.
 */

export interface TemplateProblem {
  /** Where in the content, e.g. `content.mjml`, `content.print.blocks[2].text`. */
  path: string;
  message: string;
}

/** The helpers the renderer registers; also its `knownHelpers`. */
export const INLINE_HELPERS: readonly string[] = ['money', 'date', 'upper', 'percent', 'eq'];
export const BLOCK_HELPERS: readonly string[] = ['if', 'unless', 'each', 'with'];

/**
 * Property names no template path may use: Object.prototype's (constructor, __proto__,
 * hasOwnProperty, __defineGetter__, ...) and the ways from a function to its source or caller.
 * `name` and `length` stay usable: they are ordinary data fields (customer.name).
 */
const RESERVED_SEGMENTS: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
  'caller',
  'callee',
  'arguments',
]);

/** Data variables Handlebars provides inside blocks. */
const DATA_VARIABLES: ReadonlySet<string> = new Set(['root', 'index', 'key', 'first', 'last']);

const CONTENT_FIELDS = ['subject', 'mjml', 'text', 'html', 'print', 'sms'] as const;
const MARKUP_FIELDS: ReadonlySet<string> = new Set(['mjml', 'html']);
const PRINT_TEXT_KINDS: ReadonlySet<string> = new Set(['heading', 'paragraph', 'signature']);
/** A template string longer than this is not a letter. */
const MAX_TEMPLATE_CHARS = 128 * 1024;

class Refusal extends Error {}

/** The first problem with a template version's content, or null when it may be stored. */
export function templateContentProblem(content: unknown): TemplateProblem | null {
  try {
    checkContent(content);
    return null;
  } catch (err) {
    if (err instanceof ProblemAt) return { path: err.path, message: err.message };
    throw err;
  }
}

/** `content.language`: absent, one supported BCP 47 tag, or a list of up to MAX_LANGUAGES different ones. */
function checkLanguage(language: unknown): void {
  if (language === undefined) return;
  const tags = Array.isArray(language) ? language : [language];
  const what = `a BCP 47 language tag such as "en-GB", or a list of up to ${MAX_LANGUAGES}`;
  if (!tags.length || tags.length > MAX_LANGUAGES) throw new ProblemAt('content.language', what);
  const seen = new Set<string>();
  tags.forEach((tag: unknown, i) => {
    const at = Array.isArray(language) ? `content.language[${i}]` : 'content.language';
    const canonical = supportedLanguage(tag);
    if (!canonical) throw new ProblemAt(at, `${JSON.stringify(tag)} is not ${what} we can format in`);
    if (seen.has(canonical)) throw new ProblemAt(at, `${canonical} is listed twice`);
    seen.add(canonical);
  });
}

class ProblemAt extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function checkContent(content: unknown): void {
  if (!isRecord(content)) throw new ProblemAt('content', 'a JSON object');
  for (const key of Object.keys(content)) {
    if (key !== 'language' && !(CONTENT_FIELDS as readonly string[]).includes(key)) {
      throw new ProblemAt(`content.${key}`, `not a content field (language, ${CONTENT_FIELDS.join(', ')})`);
    }
  }
  checkLanguage(content.language);
  for (const key of ['subject', 'mjml', 'text', 'html', 'sms'] as const) {
    if (content[key] !== undefined) checkTemplate(content[key], `content.${key}`, MARKUP_FIELDS.has(key));
  }
  const print = content.print;
  if (print === undefined) return;
  if (!isRecord(print)) throw new ProblemAt('content.print', 'an object { title, blocks }');
  checkTemplate(print.title, 'content.print.title', false);
  if (!Array.isArray(print.blocks)) throw new ProblemAt('content.print.blocks', 'a list of blocks');
  print.blocks.forEach((block: unknown, i) => {
    const at = `content.print.blocks[${i}]`;
    if (!isRecord(block)) throw new ProblemAt(at, 'a block { kind, text } or { kind: "table", rows }');
    if (block.kind === 'table') {
      if (!Array.isArray(block.rows)) throw new ProblemAt(`${at}.rows`, 'a list of [label, value] pairs');
      block.rows.forEach((row: unknown, j) => {
        if (!Array.isArray(row) || row.length !== 2) {
          throw new ProblemAt(`${at}.rows[${j}]`, 'a [label, value] pair');
        }
        checkTemplate(row[0], `${at}.rows[${j}][0]`, false);
        checkTemplate(row[1], `${at}.rows[${j}][1]`, false);
      });
    } else if (typeof block.kind === 'string' && PRINT_TEXT_KINDS.has(block.kind)) {
      checkTemplate(block.text, `${at}.text`, false);
    } else {
      throw new ProblemAt(`${at}.kind`, 'heading, paragraph, table or signature');
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one Handlebars source; `markup` adds the HTML rules. */
export function checkTemplate(source: unknown, path: string, markup: boolean): void {
  if (typeof source !== 'string') throw new ProblemAt(path, 'a Handlebars template (text)');
  if (source.length > MAX_TEMPLATE_CHARS)
    throw new ProblemAt(path, `at most ${MAX_TEMPLATE_CHARS} characters`);
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (err) {
    // Handlebars' message quotes the source with a caret between where and what it expected.
    const lines = (err as Error).message.split('\n');
    const what = lines.length > 1 ? ` ${lines[lines.length - 1]}` : '';
    throw new ProblemAt(path, `not a valid Handlebars template: ${lines[0]}${what}`);
  }
  try {
    checkProgram(ast);
    if (markup) checkMarkup(source);
  } catch (err) {
    if (err instanceof Refusal) throw new ProblemAt(path, err.message);
    throw err;
  }
}

// --- Handlebars -------------------------------------------------------------------------------

function checkProgram(program: hbs.AST.Program | undefined): void {
  if (!program) return;
  for (const stmt of program.body) checkStatement(stmt);
}

function checkStatement(node: hbs.AST.Statement): void {
  switch (node.type) {
    case 'ContentStatement':
    case 'CommentStatement':
      return;
    case 'MustacheStatement': {
      const m = node as hbs.AST.MustacheStatement;
      if (!m.escaped) {
        throw new Refusal(
          `unescaped output ${m.loc ? `at line ${m.loc.start.line} ` : ''}({{{ }}} or {{& }}) is not allowed; use {{ }}`,
        );
      }
      checkCall(m.path, m.params, m.hash, 'inline');
      return;
    }
    case 'BlockStatement': {
      const b = node as hbs.AST.BlockStatement;
      checkCall(b.path, b.params, b.hash, 'block');
      checkProgram(b.program);
      checkProgram(b.inverse);
      return;
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
      throw new Refusal('partials ({{> name}}) are not available in templates');
    case 'DecoratorBlock':
    case 'Decorator':
      throw new Refusal('decorators ({{* name}}, {{#* inline}}) are not available in templates');
    default:
      throw new Refusal(`unsupported Handlebars construct ${node.type}`);
  }
}

/** A mustache or block: a helper call when it has parameters (or is a block), else a value. */
function checkCall(
  callee: hbs.AST.PathExpression | hbs.AST.Literal,
  params: hbs.AST.Expression[],
  hash: hbs.AST.Hash | undefined,
  position: 'inline' | 'block',
): void {
  const isCall = position === 'block' || params.length > 0 || (hash?.pairs.length ?? 0) > 0;
  if (callee.type !== 'PathExpression') {
    // Handlebars treats a literal in this place as a name to look up: {{"constructor"}}.
    const name = String((callee as hbs.AST.StringLiteral).value);
    if (isCall) throw new Refusal(`${JSON.stringify(name)} is not a helper`);
    checkSegment(name);
    return;
  }
  const path = callee as hbs.AST.PathExpression;
  if (isCall) {
    const helpers = position === 'block' ? BLOCK_HELPERS : INLINE_HELPERS;
    if (path.data || path.parts.length !== 1 || !helpers.includes(path.parts[0]!)) {
      throw new Refusal(
        `${JSON.stringify(path.original)} is not an available ${position === 'block' ? 'block helper' : 'helper'}` +
          ` (${position === 'block' ? BLOCK_HELPERS.join(', ') : INLINE_HELPERS.join(', ')})`,
      );
    }
  } else {
    checkPath(path);
  }
  for (const p of params) checkExpression(p);
  for (const pair of hash?.pairs ?? []) checkExpression(pair.value);
}

function checkExpression(node: hbs.AST.Expression): void {
  switch (node.type) {
    case 'PathExpression':
      return checkPath(node as hbs.AST.PathExpression);
    case 'SubExpression': {
      const s = node as hbs.AST.SubExpression;
      if (s.path.type !== 'PathExpression') throw new Refusal('a sub-expression must call a helper');
      return checkCall(s.path as hbs.AST.PathExpression, s.params, s.hash, 'inline');
    }
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral':
    case 'UndefinedLiteral':
    case 'NullLiteral':
      return;
    default:
      throw new Refusal(`unsupported Handlebars expression ${node.type}`);
  }
}

function checkPath(path: hbs.AST.PathExpression): void {
  if (path.data) {
    const [head, ...rest] = path.parts;
    if (!head || !DATA_VARIABLES.has(head)) {
      throw new Refusal(`@${head ?? ''} is not available (@root, @index, @key, @first, @last)`);
    }
    rest.forEach(checkSegment);
    return;
  }
  path.parts.forEach(checkSegment);
}

function checkSegment(segment: string): void {
  if (RESERVED_SEGMENTS.has(segment) || segment.startsWith('__')) {
    throw new Refusal(`"${segment}" may not be used in a template path`);
  }
}

// --- HTML and MJML ----------------------------------------------------------------------------

const FORBIDDEN_ELEMENTS: ReadonlySet<string> = new Set([
  'script',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'base',
  'form',
  // <meta http-equiv="refresh" content="0;url=…"> navigates; MJML writes the head's meta itself.
  'meta',
]);
const CSS_ELEMENTS: ReadonlySet<string> = new Set(['style', 'mj-style']);
const URL_ATTRIBUTES: ReadonlySet<string> = new Set([
  'href',
  'src',
  'srcset',
  'action',
  'formaction',
  'background',
  'background-url',
  'poster',
  'cite',
  'xlink:href',
]);
/** Attributes of mj-* components that hold text, not CSS. */
const MJ_TEXT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'alt',
  'title',
  'name',
  'rel',
  'target',
  'lang',
  'dir',
]);
// A relative URL must start with a path character: "/{{x}}" could become "/\evil.com", which
// browsers read as "//evil.com", another site.
const SAFE_URL_PREFIX = /^(?:https?:\/\/[^\s/?#{}]+[/?#]|mailto:|tel:|\/[A-Za-z0-9_.~-]|#)/i;
/** A script scheme anywhere in a value: also inside one, like meta refresh's "0;url=javascript:". */
const SCRIPT_URL = /(?:^|[^A-Za-z0-9+.-])(?:javascript|vbscript):/i;
const BRAND_EXPRESSION = /^\{\{~?\s*brand\.[A-Za-z]+\s*~?\}\}$/;

/** Stands in for an output expression while the markup is scanned. */
const MARK = '\u0000';
/**
 * Stands in for a block tag ({{#if}}, {{else}}, {{/each}}): writes nothing itself, but what it
 * encloses may or may not be written, so markup split by one is read with the block removed.
 */
const BLOCK = '\u0001';
// The marks are control characters on purpose: content cannot contain them.
// eslint-disable-next-line no-control-regex
const BLOCKS = /\u0001/g;

interface Scan {
  text: string;
  /** The output expressions, in order of their marks. */
  expressions: string[];
}

function mask(source: string): Scan {
  const expressions: string[] = [];
  const text = source.replace(/\{\{!--[\s\S]*?--\}\}|\{\{\{?[\s\S]*?\}?\}\}/g, (tag) => {
    const inner = tag.replace(/^\{\{\{?~?\s*/, '');
    if (inner.startsWith('!')) return '';
    if (/^[#/^]/.test(inner) || /^else\b/.test(inner)) return BLOCK;
    expressions.push(tag);
    return MARK;
  });
  return { text, expressions };
}

type BrandOnly = (found: string[], where: string) => void;

function checkMarkup(source: string): void {
  // Content reaching here went through the JSON checks, which refuse these; an in-process caller may not have.
  if (source.includes(MARK) || source.includes(BLOCK))
    throw new Refusal('control characters are not allowed');
  const { text, expressions } = mask(source);
  let next = 0;
  /** The expressions (in order) within a piece of masked text. */
  const marksIn = (piece: string): string[] => {
    const n = piece.split(MARK).length - 1;
    const found = expressions.slice(next, next + n);
    next += n;
    return found;
  };
  const onlyBrand: BrandOnly = (found, where) => {
    const other = found.find((e) => !BRAND_EXPRESSION.test(e));
    if (other) throw new Refusal(`${other} in ${where}: only brand values ({{brand.*}}) may be used in CSS`);
  };

  let i = 0;
  while (i < text.length) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      const stop = end < 0 ? text.length : end + 3;
      marksIn(text.slice(i, stop));
      i = stop;
      continue;
    }
    // A tag may be spelled across block tags: <{{#if x}}script{{/if}}> is still <script>, and
    // <{{#if x}}/{{/if}}script> is <script> when x is false. Block marks around the slash are
    // skipped, and either spelling of the tag is checked.
    let k = i + 1;
    if (text[i] === '<') {
      while (text[k] === BLOCK) k++;
      if (text[k] === '/') k++;
      while (text[k] === BLOCK) k++;
    }
    // eslint-disable-next-line no-control-regex -- the expression mark
    if (text[i] !== '<' || k >= text.length || !/[A-Za-z\u0000]/.test(text[k]!)) {
      if (text[i] === MARK) marksIn(MARK);
      i++;
      continue;
    }
    const closing = text.slice(i + 1, k).includes('/');
    const nameStart = k;
    let j = nameStart;
    while (j < text.length && !/[\s/>]/.test(text[j]!)) j++;
    const rawName = text.slice(nameStart, j);
    if (rawName.includes(MARK)) throw new Refusal('an expression may not make up a tag name');
    const name = rawName.replace(BLOCKS, '').toLowerCase();
    if (FORBIDDEN_ELEMENTS.has(name)) throw new Refusal(`<${name}> is not allowed in templates`);
    j = closing ? scanClosingTag(text, j) : scanAttributes(text, j, name, marksIn, onlyBrand);
    i = j;
    if (!closing && CSS_ELEMENTS.has(name)) {
      const end = text.toLowerCase().indexOf(`</${name}`, i);
      const stop = end < 0 ? text.length : end;
      onlyBrand(marksIn(text.slice(i, stop)), `<${name}>`);
      i = stop;
    }
  }
}

function scanClosingTag(text: string, from: number): number {
  const end = text.indexOf('>', from);
  if (end < 0) return text.length;
  if (text.slice(from, end).includes(MARK))
    throw new Refusal('an expression may not sit inside a closing tag');
  return end + 1;
}

function scanAttributes(
  text: string,
  from: number,
  element: string,
  marksIn: (piece: string) => string[],
  onlyBrand: BrandOnly,
): number {
  let j = from;
  for (;;) {
    // eslint-disable-next-line no-control-regex -- a block mark between attributes
    while (j < text.length && /[\s/\u0001]/.test(text[j]!)) j++;
    if (j >= text.length) return j;
    if (text[j] === '>') return j + 1;
    const nameStart = j;
    while (j < text.length && !/[\s=/>]/.test(text[j]!)) j++;
    const rawName = text.slice(nameStart, j);
    if (rawName.includes(MARK)) {
      throw new Refusal(`an expression may not make up an attribute name in <${element}>`);
    }
    const attr = rawName.replace(BLOCKS, '').toLowerCase();
    if (attr.startsWith('on')) throw new Refusal(`event handler attributes (${attr}) are not allowed`);
    while (j < text.length && /\s/.test(text[j]!)) j++;
    if (text[j] !== '=') continue;
    j++;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    let value: string;
    const quote = text[j];
    if (quote === '"' || quote === "'") {
      const end = text.indexOf(quote, j + 1);
      const stop = end < 0 ? text.length : end;
      value = text.slice(j + 1, stop);
      j = stop + 1;
    } else {
      const start = j;
      while (j < text.length && !/[\s>]/.test(text[j]!)) j++;
      value = text.slice(start, j);
      if (value.includes(MARK)) {
        throw new Refusal(`the value of ${attr} in <${element}> must be quoted when it holds an expression`);
      }
    }
    checkAttribute(element, attr, value, marksIn(value), onlyBrand);
  }
}

function checkAttribute(
  element: string,
  attr: string,
  value: string,
  found: string[],
  onlyBrand: BrandOnly,
): void {
  // Browsers decode character references in attribute values and ignore whitespace and control
  // characters inside a scheme, so "java&#x09;script&colon;" is still a script URL.
  // eslint-disable-next-line no-control-regex -- what browsers skip inside a scheme
  const compact = decodeReferences(value.replace(BLOCKS, '')).replace(/[\s\u0000-\u001f]+/g, '');
  if (SCRIPT_URL.test(compact)) throw new Refusal(`${attr} in <${element}>: script URLs are not allowed`);
  if (URL_ATTRIBUTES.has(attr)) {
    if (value.includes(BLOCK)) {
      throw new Refusal(
        `${attr} in <${element}>: a URL may not be put together with blocks ({{#if}}, {{#each}}); put the block around the element`,
      );
    }
    if (found.length && !SAFE_URL_PREFIX.test(value.slice(0, value.indexOf(MARK)))) {
      throw new Refusal(
        `${attr} in <${element}>: write the start of the URL yourself (https://host/, mailto:, tel:, / or #) before any expression`,
      );
    }
    return;
  }
  if (attr === 'style' || (element.startsWith('mj-') && !MJ_TEXT_ATTRIBUTES.has(attr))) {
    onlyBrand(found, `${attr} of <${element}>`);
  }
}

const NAMED_REFERENCES: Record<string, string> = { colon: ':', tab: '\t', newline: '\n', sol: '/' };

function decodeReferences(value: string): string {
  return value.replace(/&(?:#x([0-9a-f]+)|#([0-9]+)|([a-z]+));?/gi, (ref, hex, dec, name) => {
    if (hex || dec) {
      const cp = parseInt((hex ?? dec) as string, hex ? 16 : 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    return NAMED_REFERENCES[(name as string).toLowerCase()] ?? ref;
  });
}
