/**
 * Exstream on-demand generation of the fake:
 * `POST /orchestration/api/v1/inputs/ondemand/{domain}/generate` (api-reference §3.1, §11
 * "Exstream on-demand").
 *
 * - `communicationId` and `driverDataSource` headers are required: missing → 400 Spring error.
 * - Unknown communication (or one without an approved version) → 404 with the error envelope;
 *   a `driverDataSource` that is not the manifest's driver → 400 envelope.
 * - Generation always uses the communication's latest APPROVED version.
 * - The driver must be JSON; with a driver schema set for the communication (fake-only
 *   `setDriverSchema`, the demo seeds the project's template schemas), a document whose `data`
 *   fails it → 400 envelope naming the missing fields, `statusCode:"400"`.
 * - A template error set with the fake-only `setTemplateError` → 500 envelope, `statusCode:"500"`.
 * - One output per manifest queue: PDF → `application/pdf`, HTML → `text/html`, SMS →
 *   `text/plain` [I], Empower → `application/vnd.exstream-empower` (base64 of `{documentId}`).
 * - `Accept` none or `*\/*` → the full JSON; `application/pdf` → the raw PDF; `application/json`
 *   → `{documentId}` of the Empower output.
 * - Every call that reached the engine is recorded as a runtime job, `mode: ONDEMAND`; the
 *   fake-only `externalId` header sets its `externalId` (the real way is not public, §13.1).
 */
import Ajv2020 from 'ajv/dist/2020';
import type { FakeRequest, FakeResponse } from '../types.js';
import { json, springError } from '../types.js';
import type { FakeDesign } from './design.js';
import { empowerDocumentId, renderHtml, renderPdf, renderSms, type RenderInput } from './render.js';
import type { FakeRuntime } from './runtime.js';

const OUTPUTS: Record<string, { mimeType: string; render: (i: RenderInput) => Buffer }> = {
  PDF: { mimeType: 'application/pdf', render: renderPdf },
  HTML: { mimeType: 'text/html', render: renderHtml },
  SMS: { mimeType: 'text/plain', render: renderSms },
  EMPOWER: {
    mimeType: 'application/vnd.exstream-empower',
    render: (i) => Buffer.from(JSON.stringify({ documentId: empowerDocumentId(i) })),
  },
};

export class FakeOnDemand {
  readonly #schemas = new Map<string, (data: unknown) => string[]>();
  readonly #templateErrors = new Map<string, string>();
  readonly #ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });

  constructor(
    readonly design: FakeDesign,
    readonly runtime: FakeRuntime,
  ) {}

  /** Fake-only: the JSON Schema the driver's `data` must satisfy for this communication. */
  setDriverSchema(communicationId: string, schema: Record<string, unknown>): void {
    const copy = { ...schema };
    delete copy.$id;
    const validate = this.#ajv.compile(copy);
    this.#schemas.set(communicationId, (data) => {
      if (validate(data)) return [];
      return (validate.errors ?? []).map((e) =>
        e.keyword === 'required'
          ? `/data${e.instancePath}/${String(e.params.missingProperty)} is required`
          : `/data${e.instancePath} ${e.message ?? e.keyword}`,
      );
    });
  }

  /** Fake-only: every generation of this communication fails as a template error (null clears it). */
  setTemplateError(communicationId: string, message: string | null): void {
    if (message === null) this.#templateErrors.delete(communicationId);
    else this.#templateErrors.set(communicationId, message);
  }

  handle(req: FakeRequest, domainId: string): FakeResponse {
    const communicationId = header(req, 'communicationid');
    const driverDataSource = header(req, 'driverdatasource');
    for (const [name, value] of [
      ['communicationId', communicationId],
      ['driverDataSource', driverDataSource],
    ] as const) {
      if (!value) {
        return springError(
          400,
          `Required request header '${name}' for method parameter type String is not present`,
          req.path,
        );
      }
    }
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (contentType !== 'application/json' && contentType !== 'application/xml') {
      return springError(415, `Content-Type '${contentType}' is not supported`, req.path);
    }
    const externalId = header(req, 'externalid');
    const approved = this.design.approved(communicationId!);
    if (!this.design.exists(communicationId!) || !approved) {
      return envelopeError(404, `Communication ${communicationId} not found or has no approved version`);
    }
    const manifest = this.design.manifestOf(communicationId!);
    const driver = manifest?.dsnlist.find((d) => d.type === 'driver');
    if (!manifest || driver?.prodDsn !== driverDataSource) {
      return envelopeError(
        400,
        `Driver data source ${driverDataSource} is not the driver of communication ${communicationId}`,
      );
    }
    let document: unknown;
    try {
      document = req.json();
    } catch {
      this.runtime.recordOnDemand(domainId, externalId, 'Driver file could not be parsed');
      return envelopeError(400, 'Driver file could not be parsed');
    }
    const data = (document as { data?: unknown } | null)?.data;
    const problems = this.#schemas.get(communicationId!)?.(data ?? {}) ?? [];
    if (problems.length) {
      const message = `Driver data is missing or invalid: ${problems.join('; ')}`;
      this.runtime.recordOnDemand(domainId, externalId, message);
      return envelopeError(400, message);
    }
    const templateError = this.#templateErrors.get(communicationId!);
    if (templateError) {
      this.runtime.recordOnDemand(domainId, externalId, templateError);
      return envelopeError(500, templateError);
    }
    this.runtime.recordOnDemand(domainId, externalId, null);
    const input: RenderInput = {
      communicationId: communicationId!,
      name: approved.resource.name,
      version: approved.version.version,
      content: approved.version.content,
      driver: document,
    };
    const outputs = manifest.queueList.map((queue) => {
      const kind = OUTPUTS[queue.driver.toUpperCase()];
      if (!kind) throw new Error(`the fake cannot render queue driver ${queue.driver}`);
      return {
        content: kind.render(input),
        mimeType: kind.mimeType,
        engineOutputContext: { queueName: queue.name, fileName: approved.resource.name, customerNumber: '1' },
      };
    });
    const accept = String(req.headers.accept ?? '*/*');
    if (accept.includes('application/pdf')) {
      const pdf = outputs.find((o) => o.mimeType === 'application/pdf');
      if (!pdf) return springError(406, 'The communication has no PDF output', req.path);
      return { status: 200, headers: { 'content-type': 'application/pdf' }, body: pdf.content };
    }
    if (accept === 'application/json') {
      const empower = outputs.find((o) => o.mimeType === 'application/vnd.exstream-empower');
      if (!empower) return springError(406, 'The communication has no Empower output', req.path);
      return json(200, JSON.parse(empower.content.toString('utf8')));
    }
    return json(200, {
      status: 'success',
      data: outputs.map((o) => ({ ...o, content: o.content.toString('base64') })),
    });
  }
}

function header(req: FakeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The orchestration error envelope; `statusCode` is a string (api-reference §3.1). */
function envelopeError(status: number, message: string): FakeResponse {
  return json(status, {
    status: 'error',
    data: [{ errorMessage: message, statusCode: String(status), engineOutputContext: {} }],
  });
}
