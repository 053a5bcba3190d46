import { createHash } from 'node:crypto';
import { BRANDS } from './brands.js';
import { channelContentProblem, SMS_MAX_CHARS } from './channels.js';
import { TemplateError } from './errors.js';
import { chooseLanguage, declaredLanguages, formatDate, parseIsoDate, resolveLocale } from './format.js';
import { contentHashOf } from './hash.js';
import {
  createTemplateEnvironment,
  type CompiledTemplate,
  type Escaping,
  type LetterFormat,
  type TemplateContext,
} from './handlebars.js';
import type { RenderedPrintBlock } from './pdf.js';
import { createSchemaCompiler, type CompiledSchema } from './validate.js';
import { isFullHtmlDocument, webPage } from './web.js';
import {
  CHANNELS,
  type Brand,
  type Channel,
  type RenderableVersion,
  type RenderedPart,
  type RenderResult,
  type RenderSnapshot,
  type Renderer,
  type TemplateContent,
} from './types.js';

function requireChannelContent(content: TemplateContent, channel: Channel): void {
  if (!(CHANNELS as readonly string[]).includes(channel)) {
    throw new TemplateError(`unknown channel ${JSON.stringify(channel)}`);
  }
  const problem = channelContentProblem(content, channel);
  if (problem) throw new TemplateError(`template version has no ${channel} content: ${problem}`);
}

/** What is compiled for one template version, built up lazily and reused by every document. */
interface VersionEntry {
  schema: CompiledSchema | null;
  templates: Map<string, CompiledTemplate>;
  mjmlHtml: Promise<string> | null;
}

/**
 * Versions are immutable once approved, but a draft may be edited under the same id, so the
 * cache key also covers the content; an unchanged version still compiles exactly once.
 */
function cacheKey(version: RenderableVersion): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([version.content, version.dataSchema]))
    .digest('base64url');
  return `${version.id}:${digest}`;
}

const MAX_CACHED_VERSIONS = 256;

function singleLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/**
 * One language per letter: the version's (the customer's locale choosing where it offers
 * several), dates in one style. The language is part of the approved content, so a reissue of
 * the same version re-renders the same bytes; a version that declares none formats as it always
 * did, in the customer's locale.
 */
export function letterFormat(content: TemplateContent, customerLocale: string): LetterFormat {
  const languages = declaredLanguages(content);
  if (!languages) return { locale: resolveLocale(customerLocale), dateStyle: null };
  return { locale: resolveLocale(chooseLanguage(languages, customerLocale)), dateStyle: 'long' };
}

function utf8(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/* eslint-disable @typescript-eslint/no-require-imports -- deferred loads of our own modules, typed by their imports */
/**
 * MJML (with its CSS inliner) and pdfkit (with fontkit and the fonts) take a second or more to
 * load between them, and most starts render nothing: they are loaded by the first email or letter
 * a thread renders, not by every start (issue 13, item 4). A render worker loads them on its first job.
 */
let mjmlModule: typeof import('./mjml.js') | undefined;
const mjml = () => (mjmlModule ??= require('./mjml.js') as typeof import('./mjml.js'));
let printModules: { pdf: typeof import('./pdf.js'); fonts: typeof import('./fonts.js') } | undefined;
const printing = () =>
  (printModules ??= {
    pdf: require('./pdf.js') as typeof import('./pdf.js'),
    fonts: require('./fonts.js') as typeof import('./fonts.js'),
  });
/* eslint-enable @typescript-eslint/no-require-imports */

export function createRenderer(opts: { brands?: Record<string, Brand> } = {}): Renderer {
  const brands = opts.brands ?? BRANDS;
  const env = createTemplateEnvironment();
  const schemas = createSchemaCompiler();
  const cache = new Map<string, VersionEntry>();

  function entryFor(version: RenderableVersion): VersionEntry {
    const key = cacheKey(version);
    let entry = cache.get(key);
    if (entry) {
      // Re-insert so Map order is least-recently-used first.
      cache.delete(key);
      cache.set(key, entry);
      return entry;
    }
    entry = { schema: null, templates: new Map(), mjmlHtml: null };
    cache.set(key, entry);
    if (cache.size > MAX_CACHED_VERSIONS) {
      const [oldestKey, oldest] = cache.entries().next().value as [string, VersionEntry];
      cache.delete(oldestKey);
      oldest.schema?.dispose();
    }
    return entry;
  }

  function template(
    entry: VersionEntry,
    part: string,
    source: string,
    escaping: Escaping,
    label: string,
  ): CompiledTemplate {
    let compiled = entry.templates.get(part);
    if (!compiled) {
      compiled = env.compile(source, escaping, label);
      entry.templates.set(part, compiled);
    }
    return compiled;
  }

  function mjmlHtml(entry: VersionEntry, source: string, label: string): Promise<string> {
    if (!entry.mjmlHtml) {
      entry.mjmlHtml = mjml().compileMjml(source, label);
      // The rejection is delivered to every caller that awaits it; this only stops Node from
      // reporting it as unhandled while it sits in the cache.
      entry.mjmlHtml.catch(() => undefined);
    }
    return entry.mjmlHtml;
  }

  async function renderEmail(
    version: RenderableVersion,
    entry: VersionEntry,
    context: TemplateContext,
  ): Promise<RenderedPart[]> {
    const content = version.content as Required<Pick<TemplateContent, 'mjml' | 'subject' | 'text'>>;
    const label = `template version ${version.id} EMAIL`;
    // A line break in a subject would end the mail header; the outbox also guards against it.
    const subject = singleLine(
      template(entry, 'subject', content.subject, 'none', `${label} subject`)(context),
    );
    if (!subject) throw new TemplateError(`${label}: subject rendered empty`);
    const html = await mjmlHtml(entry, content.mjml, `${label} MJML`);
    const body = template(entry, 'mjml', html, 'html', `${label} HTML`)(context);
    const text = template(
      entry,
      'text',
      content.text,
      'none',
      `${label} text`,
    )(context).replace(/^\s*\n|\s+$/g, '');
    return [
      { name: 'body.html', mediaType: 'text/html', body: utf8(body) },
      { name: 'body.txt', mediaType: 'text/plain', body: utf8(`${text}\n`) },
      { name: 'subject.txt', mediaType: 'text/plain', body: utf8(subject) },
    ];
  }

  function renderWeb(
    version: RenderableVersion,
    entry: VersionEntry,
    context: TemplateContext,
  ): RenderedPart[] {
    const content = version.content;
    const label = `template version ${version.id} WEB`;
    const body = template(entry, 'html', content.html ?? '', 'html', `${label} HTML`)(context);
    if (isFullHtmlDocument(body)) return [{ name: 'index.html', mediaType: 'text/html', body: utf8(body) }];
    const title = content.subject
      ? singleLine(template(entry, 'subject', content.subject, 'none', `${label} title`)(context))
      : content.print
        ? singleLine(template(entry, 'print.title', content.print.title, 'none', `${label} title`)(context))
        : context.brand.name;
    const page = webPage({
      brand: context.brand,
      locale: context.letter.locale,
      title,
      body,
    });
    return [{ name: 'index.html', mediaType: 'text/html', body: utf8(page) }];
  }

  function renderSms(
    version: RenderableVersion,
    entry: VersionEntry,
    context: TemplateContext,
  ): RenderedPart[] {
    const label = `template version ${version.id} MOBILE`;
    const text = template(entry, 'sms', version.content.sms ?? '', 'none', `${label} SMS`)(context).trim();
    // Code points, so an emoji or other astral character counts once, as the handset shows it.
    const length = [...text].length;
    if (length === 0) throw new TemplateError(`${label}: SMS rendered empty`);
    if (length > SMS_MAX_CHARS) {
      throw new TemplateError(`${label}: SMS is ${length} characters; the limit is ${SMS_MAX_CHARS}`);
    }
    return [{ name: 'sms.txt', mediaType: 'text/plain', body: utf8(text) }];
  }

  async function renderPrint(
    version: RenderableVersion,
    entry: VersionEntry,
    context: TemplateContext,
  ): Promise<RenderedPart[]> {
    const print = version.content.print!;
    const label = `template version ${version.id} PRINT`;
    const render = (part: string, source: string): string =>
      template(entry, part, source, 'none', `${label} ${part}`)(context);
    const blocks: RenderedPrintBlock[] = print.blocks.map((block, i): RenderedPrintBlock => {
      switch (block.kind) {
        case 'table':
          return {
            kind: 'table',
            rows: block.rows.map(([l, v], j): [string, string] => [
              render(`blocks.${i}.rows.${j}.label`, l),
              render(`blocks.${i}.rows.${j}.value`, v),
            ]),
          };
        case 'heading':
        case 'paragraph':
        case 'signature':
          return { kind: block.kind, text: render(`blocks.${i}.text`, block.text) };
        default:
          throw new TemplateError(
            `${label}: unknown block kind ${JSON.stringify((block as { kind: unknown }).kind)}`,
          );
      }
    });
    const locale = context.letter.locale;
    const { pdf: letters, fonts } = printing();
    const pdf = await letters.renderLetterPdf(
      {
        brand: context.brand,
        recipient: {
          id: context.customer.id,
          name: context.customer.name,
          address: context.customer.address,
        },
        issuedAt: parseIsoDate(context.issuedAt, 'issuedAt'),
        issuedLabel: formatDate(context.issuedAt, 'long', locale),
        caseRef: context.case,
        title: singleLine(render('print.title', print.title)),
        blocks,
      },
      fonts.printFonts(),
    );
    return [{ name: 'document.pdf', mediaType: 'application/pdf', body: pdf }];
  }

  return {
    async render(
      version: RenderableVersion,
      channel: Channel,
      snapshot: RenderSnapshot,
    ): Promise<RenderResult> {
      requireChannelContent(version.content, channel);
      const brandId = snapshot.customer.brand;
      // Own properties only: a brand id of "constructor" must not find Object.prototype's.
      const brand = Object.prototype.hasOwnProperty.call(brands, brandId) ? brands[brandId] : undefined;
      if (!brand) throw new TemplateError(`unknown brand ${JSON.stringify(brandId)}`);
      parseIsoDate(snapshot.issuedAt, 'issuedAt');

      const entry = entryFor(version);
      if (!entry.schema) entry.schema = schemas.compile(version.dataSchema, `template version ${version.id}`);
      entry.schema.check(snapshot.data);

      const context: TemplateContext = {
        customer: snapshot.customer,
        data: snapshot.data,
        case: snapshot.case ?? null,
        brand,
        issuedAt: snapshot.issuedAt,
        letter: letterFormat(version.content, snapshot.customer.locale),
      };
      let parts: RenderedPart[];
      let mediaType: string;
      switch (channel) {
        case 'PRINT':
          parts = await renderPrint(version, entry, context);
          mediaType = 'application/pdf';
          break;
        case 'EMAIL':
          parts = await renderEmail(version, entry, context);
          mediaType = 'multipart/alternative';
          break;
        case 'WEB':
          parts = renderWeb(version, entry, context);
          mediaType = 'text/html';
          break;
        case 'MOBILE':
          parts = renderSms(version, entry, context);
          mediaType = 'text/plain';
          break;
      }
      return { parts, contentHash: contentHashOf(parts), mediaType };
    },
  };
}
