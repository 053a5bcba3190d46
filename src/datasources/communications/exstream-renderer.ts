/**
 * The `Renderer` of connected mode: each generation is one Exstream on-demand call
 * (`POST /orchestration/api/v1/inputs/ondemand/{domain}/generate`, contract "Generation is
 * on-demand") with the communication's driver data source and the archived snapshot as the
 * driver document. The document's content is the output Exstream returned for the channel,
 * byte for byte; its `contentHash` is the SHA-256 of those bytes.
 *
 * Exstream's considered answers map to the embedded engine's errors (MISSING_DATA,
 * TEMPLATE_ERROR), so generation handles them as it always has; an outage becomes a
 * RenderUnavailableError, which generation turns into a retry (service.ts).
 */
import { createHash } from 'node:crypto';
import {
  OpenTextAuthError,
  UpstreamProtocolError,
  UpstreamUnavailableError,
} from '../../upstreams/opentext/errors.js';
import type { ExstreamDesignApi } from '../../upstreams/opentext/exstream/design.js';
import { ExstreamGenerationError } from '../../upstreams/opentext/exstream/errors.js';
import { versionId } from './catalogue/mapping.js';
import type { ExstreamOnDemandApi, GeneratedOutput } from '../../upstreams/opentext/exstream/ondemand.js';
import {
  MissingDataError,
  RenderUnavailableError,
  TemplateError,
  type Channel,
  type RenderableVersion,
  type RenderedPart,
  type Renderer,
  type RenderResult,
  type RenderSnapshot,
} from './engine/index.js';

/** How long a communication's driver data source is remembered (it changes only with its manifest). */
const DRIVER_TTL_MS = 60_000;

export interface ExstreamRendererOptions {
  design: Pick<ExstreamDesignApi, 'driverLookup' | 'getResource'>;
  ondemand: Pick<ExstreamOnDemandApi, 'generate'>;
  /** At most this many on-demand calls at once from this process (EXSTREAM_CONCURRENCY). */
  concurrency: number;
  now?: () => number;
}

/** The media type of the output a channel takes (contract): PRINT the PDF, EMAIL the HTML, WEB the HTML else the PDF. */
const OUTPUT_FOR: Record<Channel, readonly string[]> = {
  PRINT: ['application/pdf'],
  EMAIL: ['text/html'],
  WEB: ['text/html', 'application/pdf'],
  MOBILE: ['text/plain'],
};

export class ExstreamRenderer implements Renderer {
  readonly #drivers = new Map<string, { dsn: string; at: number }>();
  readonly #limit: <T>(work: () => Promise<T>) => Promise<T>;
  readonly #now: () => number;

  constructor(private readonly opts: ExstreamRendererOptions) {
    this.#limit = limiter(opts.concurrency);
    this.#now = opts.now ?? Date.now;
  }

  async render(
    version: RenderableVersion,
    channel: Channel,
    snapshot: RenderSnapshot,
  ): Promise<RenderResult> {
    const communicationId = version.templateId;
    if (!communicationId) throw new TemplateError(`template version ${version.id} names no communication`);
    try {
      return await this.#limit(async () => {
        const driverDataSource = await this.#driverOf(communicationId);
        const outputs = await this.opts.ondemand.generate({
          communicationId,
          driverDataSource,
          // The same snapshot the embedded engine archives (contract); nothing else.
          driver: {
            customer: snapshot.customer,
            data: snapshot.data,
            case: snapshot.case ?? null,
            issuedAt: snapshot.issuedAt,
          },
        });
        return toResult(outputs, channel, communicationId, version.templateName ?? communicationId, snapshot);
      });
    } catch (err) {
      throw this.#translate(err, communicationId);
    }
  }

  /**
   * The communication's approved version in Exstream Design now, read fresh (not from the
   * catalogue's mirror, which may be a refresh behind): on-demand generation uses it, whatever
   * the graph pinned (contract "Generation is on-demand"). An outage is one like the call's.
   */
  async currentVersionId(version: RenderableVersion): Promise<string | null> {
    const communicationId = version.templateId;
    if (!communicationId) return null;
    try {
      const approved = await this.opts.design.getResource(communicationId, { state: 'APPROVED' });
      return approved ? versionId(communicationId, approved.version) : null;
    } catch (err) {
      throw this.#translate(err, communicationId);
    }
  }

  async #driverOf(communicationId: string): Promise<string> {
    const cached = this.#drivers.get(communicationId);
    if (cached && this.#now() - cached.at < DRIVER_TTL_MS) return cached.dsn;
    const found = await this.opts.design.driverLookup(communicationId);
    if (!found) {
      throw new TemplateError(
        `Exstream communication ${communicationId} has no communication set with a driver data source`,
      );
    }
    this.#drivers.set(communicationId, { dsn: found.driverDataSource, at: this.#now() });
    return found.driverDataSource;
  }

  #translate(err: unknown, communicationId: string): unknown {
    if (err instanceof ExstreamGenerationError) {
      switch (err.kind) {
        case 'MISSING_DATA':
          return new MissingDataError([], [err.message]);
        case 'TEMPLATE_ERROR':
          return new TemplateError(`Exstream: ${err.message}`, { cause: err });
        case 'UNKNOWN_COMMUNICATION':
          // The manifest may have moved on: look the driver up afresh next time.
          this.#drivers.delete(communicationId);
          return new TemplateError(`Exstream: ${err.message}`, { cause: err });
        case 'REJECTED':
          return new TemplateError(`Exstream refused the generation: ${err.message}`, { cause: err });
      }
    }
    // A deployment or an upstream that cannot serve now: the record waits and is tried again.
    if (
      err instanceof UpstreamUnavailableError ||
      err instanceof OpenTextAuthError ||
      err instanceof UpstreamProtocolError
    ) {
      return new RenderUnavailableError(err.message, { cause: err });
    }
    return err;
  }
}

function toResult(
  outputs: GeneratedOutput[],
  channel: Channel,
  communicationId: string,
  name: string,
  snapshot: RenderSnapshot,
): RenderResult {
  const wanted = OUTPUT_FOR[channel];
  const output = wanted
    .map((type) => outputs.find((o) => mediaTypeOf(o.mimeType) === type))
    .find((o) => o !== undefined);
  if (!output) {
    throw new TemplateError(
      `Exstream communication ${communicationId} gave no ${wanted.join(' or ')} output for ${channel} ` +
        `(it gave ${outputs.map((o) => o.mimeType).join(', ') || 'nothing'})`,
    );
  }
  const mediaType = mediaTypeOf(output.mimeType);
  const body = output.content;
  const parts: RenderedPart[] = [];
  switch (channel) {
    case 'PRINT':
      parts.push({ name: 'document.pdf', mediaType, body });
      break;
    case 'EMAIL': {
      const subject = typeof snapshot.data.subject === 'string' ? snapshot.data.subject : name;
      parts.push(
        { name: 'body.html', mediaType, body },
        // Derived for mail clients without HTML; the content (and its hash) is Exstream's HTML.
        { name: 'body.txt', mediaType: 'text/plain', body: Buffer.from(`${htmlToText(body)}\n`, 'utf8') },
        { name: 'subject.txt', mediaType: 'text/plain', body: Buffer.from(singleLine(subject), 'utf8') },
      );
      break;
    }
    case 'WEB':
      parts.push({ name: mediaType === 'text/html' ? 'index.html' : 'document.pdf', mediaType, body });
      break;
    case 'MOBILE':
      parts.push({ name: 'sms.txt', mediaType, body });
      break;
  }
  return { parts, mediaType, contentHash: createHash('sha256').update(body).digest('hex') };
}

function mediaTypeOf(mime: string): string {
  return mime.split(';')[0]!.trim().toLowerCase();
}

function singleLine(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .slice(0, 300);
}

function htmlToText(html: Buffer): string {
  return html
    .toString('utf8')
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, '')
    .replace(/<\/(p|div|h[1-6]|li|tr|br)>|<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Runs at most `n` tasks at once; the rest wait in order. */
function limiter(n: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next in line, so none can jump in between.
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
