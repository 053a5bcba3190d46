import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { parse } from 'graphql';

/**
 * Trusted documents: the operations a deployment's clients were built with,
 * registered by hash in a manifest — the `persisted-documents.json` that
 * GraphQL Code Generator's client preset writes with
 * `persistedDocuments: { hashAlgorithm: sha256 }` (a JSON object, hash ->
 * document text). With a manifest set, the gateway runs only those
 * operations, so a stolen token cannot be used to send arbitrary queries.
 */
export interface TrustedDocuments {
  /** Path of the manifest, for messages. */
  readonly source: string;
  readonly size: number;
  /** The document registered under a sha256 hash (hex), if any. */
  get(hash: string): string | undefined;
  /** Which document a request runs, or why it may not run. */
  resolve(request: TrustedRequest): TrustedResolution;
}

/** The parts of a GraphQL request (HTTP body, GET parameters or graphql-ws payload) that name a document. */
export interface TrustedRequest {
  query?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

export type TrustedResolution =
  | { ok: true; query: string }
  | { ok: false; reason: 'PERSISTED_QUERY_NOT_FOUND' | 'TRUSTED_DOCUMENT_REQUIRED'; message: string };

export class TrustedDocumentsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Trusted documents manifest ${file} is refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'TrustedDocumentsError';
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads and checks a manifest: every key must be the sha256 of its document
 * and every document must parse. A manifest that fails either is refused (the
 * gateway does not start), since running with half a manifest would refuse
 * the very operations it was deployed for. Every problem is listed at once.
 */
export async function loadTrustedDocuments(file: string): Promise<TrustedDocuments> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new TrustedDocumentsError(file, [`cannot be read as JSON: ${(err as Error).message}`]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TrustedDocumentsError(file, ['is not a JSON object of hash -> document text']);
  }
  const documents = new Map<string, string>();
  const problems: string[] = [];
  for (const [hash, text] of Object.entries(json as Record<string, unknown>)) {
    if (!SHA256_HEX.test(hash)) {
      problems.push(`${hash}: not a sha256 hash (64 lowercase hex digits); set hashAlgorithm: sha256`);
      continue;
    }
    if (typeof text !== 'string') {
      problems.push(`${hash}: the document is not a string`);
      continue;
    }
    if (sha256Hex(text) !== hash) {
      problems.push(`${hash}: is not the sha256 of its document`);
      continue;
    }
    try {
      parse(text);
    } catch (err) {
      problems.push(`${hash}: ${(err as Error).message}`);
      continue;
    }
    documents.set(hash, text);
  }
  if (!documents.size && !problems.length) problems.push('registers no documents');
  if (problems.length) throw new TrustedDocumentsError(file, problems);
  return trustedDocuments(file, documents);
}

/** The hash a request names: `extensions.persistedQuery.sha256Hash` (Apollo, client preset) or `documentId` (GraphQL over HTTP). */
function requestedHash(request: TrustedRequest): string | undefined {
  if (typeof request.documentId === 'string') return request.documentId.replace(/^sha256:/, '');
  const ext = request.extensions;
  if (typeof ext === 'object' && ext !== null && 'persistedQuery' in ext) {
    const pq = (ext as { persistedQuery?: unknown }).persistedQuery;
    if (typeof pq === 'object' && pq !== null) {
      const hash = (pq as { sha256Hash?: unknown }).sha256Hash;
      if (typeof hash === 'string') return hash;
    }
  }
  return undefined;
}

function trustedDocuments(source: string, documents: Map<string, string>): TrustedDocuments {
  return {
    source,
    size: documents.size,
    get: (hash) => documents.get(hash),
    resolve(request) {
      const hash = requestedHash(request);
      const text = typeof request.query === 'string' && request.query !== '' ? request.query : undefined;
      if (text !== undefined) {
        // Free text runs only when it is, byte for byte, a registered document.
        const own = sha256Hex(text);
        if ((hash === undefined || hash === own) && documents.has(own)) return { ok: true, query: text };
        return {
          ok: false,
          reason: 'TRUSTED_DOCUMENT_REQUIRED',
          message: 'Only registered operations run here: send the hash of a trusted document',
        };
      }
      if (hash === undefined) {
        return {
          ok: false,
          reason: 'TRUSTED_DOCUMENT_REQUIRED',
          message:
            'Only registered operations run here: send extensions.persistedQuery.sha256Hash or documentId',
        };
      }
      const found = documents.get(hash);
      if (found === undefined) {
        return {
          ok: false,
          reason: 'PERSISTED_QUERY_NOT_FOUND',
          message: 'No trusted document is registered under this hash',
        };
      }
      return { ok: true, query: found };
    },
  };
}
