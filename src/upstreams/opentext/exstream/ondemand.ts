/**
 * Exstream on-demand generation:
 * `POST {EXSTREAM_URL}/orchestration/api/v1/inputs/ondemand/{domain}/generate` (api-reference §3.1).
 *
 * Not idempotent and without an idempotency key (§13.1), so the HTTP layer never repeats it
 * after it may have reached Exstream; the caller (generation) owns the retry and keeps one
 * document per idempotency key, as the contract says.
 */
import { z } from 'zod';
import type { UpstreamClient, UpstreamResponse } from '../http.js';
import { SpringError, parseBody } from './common.js';
import { ExstreamGenerationError, type GenerationFailureKind } from './errors.js';

/** One output of the full response (`OrchestrationResponseData` [V:sdk]); `content` is base64. */
const OutputItem = z.object({
  content: z.string(),
  mimeType: z.string(),
  engineOutputContext: z.record(z.string(), z.unknown()).nullish(),
});

const FullResponse = z.object({
  status: z.literal('success'),
  data: z.array(OutputItem),
  details: z.string().nullish(),
});

/** `{status:"error",data:[{errorMessage,statusCode,engineOutputContext}]}` [V:sdk]; `statusCode` is a string. */
const ErrorEnvelope = z.object({
  status: z.literal('error'),
  data: z
    .array(
      z.object({
        errorMessage: z.string().nullish(),
        statusCode: z.union([z.string(), z.number()]).nullish(),
        engineOutputContext: z.record(z.string(), z.unknown()).nullish(),
      }),
    )
    .default([]),
});

export interface GeneratedOutput {
  content: Buffer;
  mimeType: string;
  engineOutputContext: Record<string, unknown>;
}

export interface GenerateRequest {
  /** The communication (template) id. */
  communicationId: string;
  /** `prodDsn` of the communication set's driver (ExstreamDesignApi.driverLookup). */
  driverDataSource: string;
  /** The driver document: `{customer, data, case, issuedAt}` (the contract). */
  driver: unknown;
  /** Service client that imports into Empower, for Empower outputs. */
  empowerUser?: string;
  signal?: AbortSignal;
}

function isErrorEnvelope(body: Buffer): boolean {
  try {
    return ErrorEnvelope.safeParse(JSON.parse(body.toString('utf8'))).success;
  } catch {
    return false;
  }
}

/**
 * Which kind of failure an error answer is. The HTTP status that goes with the envelope is not
 * documented (§13.6), so [I]: a 4xx `statusCode` (or status) that is not 401/403/404 is the
 * record's data; 404 is an unknown communication; a 5xx envelope is the engine failing on the
 * communication: a template error. Change it here if a real deployment says otherwise.
 */
function classify(status: number, engineStatus: number | undefined, message: string): GenerationFailureKind {
  const code = engineStatus ?? status;
  if (code === 404) return 'UNKNOWN_COMMUNICATION';
  if (/driver data source|not the driver of/i.test(message)) return 'UNKNOWN_COMMUNICATION';
  if (code >= 500) return 'TEMPLATE_ERROR';
  if (code === 401 || code === 403) return 'REJECTED';
  if (code >= 400) return 'MISSING_DATA';
  return 'REJECTED';
}

export class ExstreamOnDemandApi {
  constructor(
    private readonly client: UpstreamClient,
    readonly domain: string,
  ) {}

  /** The full response: every output of the communication, decoded. */
  async generate(request: GenerateRequest): Promise<GeneratedOutput[]> {
    const response = await this.client.request({
      operation: 'ondemand.generate',
      method: 'POST',
      path: `/orchestration/api/v1/inputs/ondemand/${encodeURIComponent(this.domain)}/generate`,
      headers: {
        communicationId: request.communicationId,
        driverDataSource: request.driverDataSource,
        // No Accept (or */*) gives the full JSON with every output [V:coll][V:sdk].
        accept: '*/*',
        ...(request.empowerUser ? { empowerUser: request.empowerUser } : {}),
      },
      body: { json: request.driver },
      idempotent: false,
      isApplicationError: (_status, body) => isErrorEnvelope(body),
      signal: request.signal,
    });
    if (response.status !== 200) this.#fail(response);
    const body = parseBody(FullResponse, response, 'ondemand.generate');
    return body.data.map((item) => ({
      content: Buffer.from(item.content, 'base64'),
      mimeType: item.mimeType,
      engineOutputContext: item.engineOutputContext ?? {},
    }));
  }

  #fail(response: UpstreamResponse): never {
    const envelope = ErrorEnvelope.safeParse(response.json());
    if (envelope.success) {
      const first = envelope.data.data[0];
      const message = first?.errorMessage ?? `Exstream answered ${response.status}`;
      const engineStatus =
        first?.statusCode !== undefined && first?.statusCode !== null ? Number(first.statusCode) : undefined;
      throw new ExstreamGenerationError(
        classify(response.status, Number.isNaN(engineStatus) ? undefined : engineStatus, message),
        message,
        response.status,
        first?.statusCode !== undefined && first?.statusCode !== null ? String(first.statusCode) : undefined,
        first?.engineOutputContext ?? undefined,
      );
    }
    const spring = SpringError.safeParse(response.json());
    const message =
      (spring.success ? spring.data.message : undefined) ?? `Exstream answered ${response.status}`;
    throw new ExstreamGenerationError(
      classify(response.status, undefined, message),
      message,
      response.status,
    );
  }
}
