import Handlebars from 'handlebars';
import { TemplateError } from './errors.js';
import { formatDate, formatMoney, formatPercent, resolveLocale, type DateStyle } from './format.js';
import { INLINE_HELPERS } from './sandbox.js';
import type { Brand, RenderSnapshot } from './types.js';

export interface TemplateContext {
  customer: RenderSnapshot['customer'];
  data: Record<string, unknown>;
  case: { id: string; title: string } | null;
  brand: Brand;
  issuedAt: string;
  /** How the letter writes dates and amounts; the helpers read it, templates need not. */
  letter: LetterFormat;
}

/**
 * A letter's formats. `locale` is the letter's language (or, for a version that declares none,
 * the customer's locale, as such versions always rendered). `dateStyle` is the one way every
 * date of the letter is written; null for a version that declares no language, where each
 * {{date}} call chose (and still chooses, so it re-renders byte for byte).
 */
export interface LetterFormat {
  locale: string;
  dateStyle: DateStyle | null;
}

/** 'html' escapes every {{expression}} (HTML and MJML); 'none' is for text, SMS, subjects and PDF. */
export type Escaping = 'html' | 'none';

export type CompiledTemplate = (context: TemplateContext) => string;

/**
 * Explicit `false` (rather than the library default) also stops Handlebars from logging a
 * console warning each time a template probes a prototype property such as `constructor`.
 */
const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
};

/**
 * Only our helpers and the built-in blocks can be called: with knownHelpersOnly, a call of
 * anything else fails to compile instead of being looked up at run time. `log` is off (it is
 * unregistered too). Template authoring is stricter still (see sandbox.ts).
 */
const KNOWN_HELPERS: KnownHelpers = {
  ...Object.fromEntries(INLINE_HELPERS.map((h) => [h, true])),
  log: false,
};
type KnownHelpers = NonNullable<CompileOptions['knownHelpers']>;
type CompileOptions = NonNullable<Parameters<typeof Handlebars.compile>[1]>;

/** {{{x}}} or {{& x}} anywhere in a template: raw output, which HTML parts never allow. */
function hasUnescapedOutput(program: hbs.AST.Program | undefined): boolean {
  return !!program?.body.some((node) => {
    if (node.type === 'MustacheStatement') return !(node as hbs.AST.MustacheStatement).escaped;
    if (node.type === 'BlockStatement') {
      const block = node as hbs.AST.BlockStatement;
      return hasUnescapedOutput(block.program) || hasUnescapedOutput(block.inverse);
    }
    return false;
  });
}

/** Handlebars passes helper arguments positionally with its options object last. */
function splitHelperArgs(args: unknown[]): { params: unknown[]; root: Partial<TemplateContext> } {
  const options = args[args.length - 1] as Handlebars.HelperOptions;
  // `HelperOptions.data` is typed `any` by the library; narrow it to the context we passed in.
  const data: unknown = options?.data;
  const root =
    typeof data === 'object' && data !== null && 'root' in data
      ? (data as { root: unknown }).root
      : undefined;
  return {
    params: args.slice(0, -1),
    root: typeof root === 'object' && root !== null ? (root as Partial<TemplateContext>) : {},
  };
}

/** The locale the letter's dates and amounts are written in. */
function letterLocale(root: Partial<TemplateContext>): string {
  return root.letter?.locale ?? resolveLocale(root.customer?.locale);
}

function moneyHelper(...args: unknown[]): string {
  const { params, root } = splitHelperArgs(args);
  const [amount, currency] = params;
  return formatMoney(amount, currency ?? root.data?.currency, letterLocale(root));
}

/**
 * {{date value}}: in a letter with a language, every date the one way (the language's long
 * date, "4 December 2026"), whatever style a call names; a version without a language keeps
 * its per-call style ("iso", the default, or "long").
 */
function dateHelper(...args: unknown[]): string {
  const { params, root } = splitHelperArgs(args);
  const [value, style = 'iso'] = params;
  if (style !== 'iso' && style !== 'long') {
    throw new TemplateError(`date: unknown format ${JSON.stringify(style)} (use "iso" or "long")`);
  }
  return formatDate(value, root.letter?.dateStyle ?? (style as DateStyle), letterLocale(root));
}

function percentHelper(...args: unknown[]): string {
  const { params, root } = splitHelperArgs(args);
  return formatPercent(params[0], letterLocale(root));
}

/** Strict equality, for choosing wording by a status: {{#if (eq data.outcome "UPHELD")}}. */
function eqHelper(...args: unknown[]): boolean {
  const [a, b] = splitHelperArgs(args).params;
  return a === b;
}

function upperHelper(...args: unknown[]): string {
  const [value] = splitHelperArgs(args).params;
  return value === null || value === undefined ? '' : String(value).toUpperCase();
}

export interface TemplateEnvironment {
  compile(source: string, escaping: Escaping, label: string): CompiledTemplate;
}

export function createTemplateEnvironment(): TemplateEnvironment {
  // A private environment so helpers registered elsewhere in the process cannot reach templates.
  const hb = Handlebars.create();
  // `log` would write template-controlled text straight to the console, past our logger.
  hb.unregisterHelper('log');
  // Inline partials are a way to define template code at run time; we offer no partials at all.
  hb.unregisterDecorator('inline');
  hb.registerHelper('money', moneyHelper);
  hb.registerHelper('date', dateHelper);
  hb.registerHelper('upper', upperHelper);
  hb.registerHelper('percent', percentHelper);
  hb.registerHelper('eq', eqHelper);

  return {
    compile(source, escaping, label) {
      // Handlebars compiles lazily on first call; parse now so a syntax error surfaces once, here.
      let ast: hbs.AST.Program;
      try {
        ast = hb.parse(source);
      } catch (err) {
        throw new TemplateError(`${label}: ${(err as Error).message}`, { cause: err });
      }
      // Whatever got into the store, customer data never reaches HTML unescaped.
      if (escaping === 'html' && hasUnescapedOutput(ast)) {
        throw new TemplateError(`${label}: unescaped output ({{{ }}} or {{& }}) is not allowed in HTML`);
      }
      const template = hb.compile<TemplateContext>(source, {
        strict: false,
        noEscape: escaping === 'none',
        knownHelpers: KNOWN_HELPERS,
        knownHelpersOnly: true,
      });
      const run = (context: TemplateContext): string => {
        try {
          return template(context, RUNTIME_OPTIONS);
        } catch (err) {
          throw new TemplateError(`${label}: ${(err as Error).message}`, { cause: err });
        }
      };
      // Text without a single mustache (most table labels and headings of a letter) renders to
      // the same string whatever the context: run it once, then hand out that string.
      if (ast.body.every((statement) => statement.type === 'ContentStatement')) {
        let text: string | undefined;
        return (context) => (text ??= run(context));
      }
      return run;
    },
  };
}
