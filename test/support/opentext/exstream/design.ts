/**
 * Exstream design resources (DAS) of the fake: `/design/api/v1/...` (api-reference §5, §11
 * "Exstream design").
 *
 * - Resources with versions and states; the standard workflow's transitions only (DRAFT →
 *   REVIEW → APPROVED | REJECTED, REJECTED → DRAFT, APPROVED → DRAFT); anything else is 400
 *   `invalidStateForUpdate`. APPROVED → DRAFT makes version+1, and the approved version stays
 *   fetchable with `?state=APPROVED` or `?version=`.
 * - Every state change appends a STATE history entry (`modifiedBy` = the token subject,
 *   `revision` + 1). History is unpaged, oldest first.
 * - `restrictApproval` on the domain: approving is refused (403 `permissionDenied`) to the
 *   subject who last changed the version's content [I: the reference says "probably modifier
 *   may not approve"; the fake reads "modifier" as the content's last author, so that a
 *   service client that only moves states can approve an author's work].
 * - A resource locked by someone else refuses state changes (409 `resourceLocked`).
 * - `GET /resources/{d}` takes the dotted `filter.*` parameters and the older `filter=` DSL,
 *   `offset`/`count` item paging and the page envelope.
 * - `links` and the communication set's manifest (unwrapped) for the driver lookup.
 */
import { randomUUID } from 'node:crypto';
import type { FakeCaller, FakeRequest, FakeResponse } from '../types.js';
import { FakeHttpError, json, springError } from '../types.js';
import { dataResponse, page, parseFilterDsl } from './common.js';

export type DesignState = 'DRAFT' | 'REVIEW' | 'APPROVED' | 'REJECTED';

const TRANSITIONS: Record<DesignState, DesignState[]> = {
  DRAFT: ['REVIEW'],
  REVIEW: ['APPROVED', 'REJECTED'],
  REJECTED: ['DRAFT'],
  APPROVED: ['DRAFT'],
};

interface Version {
  version: number;
  state: DesignState;
  stateComment: string | null;
  content: Buffer;
  contentMimeType: string;
  createdBy: string;
  createdDate: string;
  lastModifiedBy: string;
  lastModifiedDate: string;
  /** Who last changed the content (restrictApproval). */
  author: string;
  locked: boolean;
  lockedBy: string | null;
}

interface History {
  id: string;
  modifiedBy: string;
  modifiedDate: string;
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  state: string;
  historyType: 'CREATE' | 'STATE' | 'METADATA' | 'CONTENT';
  auditedComment: string | null;
  type: string;
  version: number;
  revision: number;
}

interface Resource {
  id: string;
  name: string;
  type: string;
  description: string;
  versions: Version[];
  history: History[];
  revision: number;
}

export interface ManifestQueue {
  driver: string;
  name: string;
  prodFile?: string;
  use?: string;
}

export interface Manifest {
  applicationName: string;
  dsnlist: Array<{ name: string; prodDsn: string; resourceId: string; type: string }>;
  queueList: ManifestQueue[];
}

export interface DomainSettings {
  id: string;
  workflow: 'NORMAL' | 'SIMPLE' | 'ADVANCED';
  restrictApproval: boolean;
}

export interface CommunicationSeed {
  id?: string;
  name: string;
  /** The content of the first version (any bytes: the fake renders from its hash). */
  content: string | Buffer;
  /** Where the first version ends up: DRAFT, or walked through REVIEW to APPROVED. */
  state?: 'DRAFT' | 'REVIEW' | 'APPROVED';
  author?: string;
  approver?: string;
  /** Manifest queues: their drivers decide the outputs (PDF, HTML, SMS, Empower). */
  queues: ManifestQueue[];
  /** The driver data source's production name (`prodDsn`). */
  driverDsn: string;
  description?: string;
}

const iso = (t: number) => new Date(t).toISOString();

export class FakeDesign {
  readonly #domains = new Map<string, DomainSettings>();
  readonly #resources = new Map<string, Resource>();
  readonly #links: Array<{
    linkSubjectId: string;
    subjectVersion: number;
    linkObjectId: string;
    typeId: string;
  }> = [];
  readonly #manifests = new Map<string, Manifest>();

  constructor(readonly now: () => number) {}

  addDomain(domain: Partial<DomainSettings> & { id: string }): void {
    this.#domains.set(domain.id, { workflow: 'NORMAL', restrictApproval: false, ...domain });
  }

  domain(id: string): DomainSettings | undefined {
    return this.#domains.get(id);
  }

  /** Seeds a communication (exstrapplication), its communication set, link and manifest. */
  addCommunication(seed: CommunicationSeed): string {
    const id = seed.id ?? randomUUID();
    const author = seed.author ?? 'designer@acme.example';
    const approver = seed.approver ?? 'approver@acme.example';
    const resource = this.#create(
      id,
      seed.name,
      'exstrapplication',
      Buffer.from(seed.content),
      author,
      seed.description,
    );
    if (seed.state === 'REVIEW' || seed.state === 'APPROVED') {
      this.#transition(resource, 'REVIEW', 'Ready for review', author);
      if (seed.state === 'APPROVED') this.#transition(resource, 'APPROVED', 'Approved', approver);
    }
    const setId = `${id}-set`;
    const set = this.#create(setId, `${seed.name} (set)`, 'exstrcommunicationset', Buffer.from('{}'), author);
    this.#transition(set, 'REVIEW', null, author);
    this.#transition(set, 'APPROVED', null, approver);
    this.#links.push({
      linkSubjectId: id,
      subjectVersion: 1,
      linkObjectId: setId,
      typeId: 'exstrcommunicationset',
    });
    this.#manifests.set(setId, {
      applicationName: seed.name,
      dsnlist: [{ name: 'Driver', prodDsn: seed.driverDsn, resourceId: randomUUID(), type: 'driver' }],
      queueList: seed.queues.map((q) => ({ prodFile: `${q.name}.out`, use: 'production', ...q })),
    });
    return id;
  }

  /** Fake-only: a designer edits the content of the latest version, which must be DRAFT. */
  editContent(id: string, content: string | Buffer, by = 'designer@acme.example'): void {
    const resource = this.#resources.get(id);
    if (!resource) throw new Error(`no resource ${id}`);
    const latest = resource.versions.at(-1)!;
    if (latest.state !== 'DRAFT')
      throw new Error(`resource ${id} v${latest.version} is ${latest.state}, not DRAFT`);
    latest.content = Buffer.from(content);
    latest.author = by;
    latest.lastModifiedBy = by;
    latest.lastModifiedDate = iso(this.now());
    this.#record(resource, latest, by, 'UPDATE', 'CONTENT', null);
  }

  /** Fake-only: move a resource's state as someone else would in Designer (bypasses restrictApproval). */
  setState(id: string, state: DesignState, comment: string | null, by: string): void {
    const resource = this.#resources.get(id);
    if (!resource) throw new Error(`no resource ${id}`);
    this.#transition(resource, state, comment, by);
  }

  /** The latest APPROVED version of a communication, for on-demand generation. */
  approved(id: string): { resource: Resource; version: Version } | undefined {
    const resource = this.#resources.get(id);
    const version = resource?.versions.filter((v) => v.state === 'APPROVED').at(-1);
    return resource && version ? { resource, version } : undefined;
  }

  exists(id: string): boolean {
    return this.#resources.get(id)?.type === 'exstrapplication';
  }

  manifestOf(communicationId: string): Manifest | undefined {
    const link = this.#links.find((l) => l.linkSubjectId === communicationId);
    return link ? this.#manifests.get(link.linkObjectId) : undefined;
  }

  handle(req: FakeRequest, caller: FakeCaller): FakeResponse {
    const rest = req.path.slice('/design/api/v1'.length);
    const seg = rest.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'GET' && seg.length === 1 && seg[0] === 'domains') {
      const domains = [...this.#domains.values()].map((d) => ({
        ...d,
        production: false,
        jobTracing: true,
        parent: null,
      }));
      return json(200, page(domains, req.query));
    }
    const [area, domainId, ...tail] = seg;
    if (!domainId) return springError(404, 'Not found', req.path);
    if (!this.#domains.has(domainId)) return springError(404, `domainNotFound: ${domainId}`, req.path);
    if (area === 'resources') return this.#resourcesRoute(req, caller, domainId, tail);
    if (area === 'links' && tail.length === 0 && req.method === 'GET') return this.#linksRoute(req);
    if (area === 'manifests' && tail[0] === 'communication-set' && tail[1] && req.method === 'GET') {
      const manifest = this.#manifests.get(tail[1]);
      // Unwrapped: no {status,data} envelope (api-reference §5.8).
      return manifest ? json(200, manifest) : springError(404, `Manifest not found: ${tail[1]}`, req.path);
    }
    return springError(404, 'Not found', req.path);
  }

  #resourcesRoute(req: FakeRequest, caller: FakeCaller, domainId: string, tail: string[]): FakeResponse {
    if (tail.length === 0 && req.method === 'GET') return json(200, page(this.#list(req.query), req.query));
    if (tail[0] === 'history' && tail[1] && tail.length === 2 && req.method === 'GET') {
      const resource = this.#resources.get(tail[1]);
      if (!resource) return springError(404, `Resource not found: ${tail[1]}`, req.path);
      const type = req.query.get('historyType');
      // Unpaged, oldest first (api-reference §5.7).
      return json(200, dataResponse(resource.history.filter((h) => !type || h.historyType === type)));
    }
    const resource = tail[0] ? this.#resources.get(tail[0]) : undefined;
    if (!resource) return springError(404, `Resource not found: ${tail[0] ?? ''}`, req.path);
    if (tail.length === 1 && req.method === 'GET') {
      return json(200, dataResponse(this.#view(resource, this.#pick(resource, req.query, req.path))));
    }
    if (tail.length === 2 && tail[1] === 'content' && req.method === 'GET') {
      const version = this.#pick(resource, req.query, req.path);
      return { status: 200, headers: { 'content-type': version.contentMimeType }, body: version.content };
    }
    if (tail.length === 2 && tail[1] === 'state' && req.method === 'PUT') {
      return this.#changeState(req, caller, domainId, resource);
    }
    if (tail.length === 2 && tail[1] === 'lock' && (req.method === 'POST' || req.method === 'DELETE')) {
      const version = this.#pick(resource, req.query, req.path);
      if (req.method === 'POST') {
        if (version.locked && version.lockedBy !== caller.subject) {
          return springError(409, `resourceLocked: locked by ${version.lockedBy}`, req.path);
        }
        version.locked = true;
        version.lockedBy = caller.subject;
      } else {
        if (version.locked && version.lockedBy !== caller.subject && req.query.get('force') !== 'true') {
          return springError(409, `resourceLocked: locked by ${version.lockedBy}`, req.path);
        }
        version.locked = false;
        version.lockedBy = null;
      }
      return json(200, dataResponse(this.#view(resource, version)));
    }
    return springError(404, 'Not found', req.path);
  }

  #changeState(req: FakeRequest, caller: FakeCaller, domainId: string, resource: Resource): FakeResponse {
    const body = req.json<{ state?: string; auditedComment?: string; locked?: boolean }>();
    const target = body.state as DesignState | undefined;
    if (!target || !(target in TRANSITIONS)) {
      return springError(400, `invalidStateForUpdate: unknown state ${String(body.state)}`, req.path);
    }
    const latest = resource.versions.at(-1)!;
    if (latest.locked && latest.lockedBy !== caller.subject) {
      return springError(409, `resourceLocked: ${resource.id} is locked by ${latest.lockedBy}`, req.path);
    }
    if (!TRANSITIONS[latest.state].includes(target)) {
      return springError(
        400,
        `invalidStateForUpdate: cannot change ${resource.id} v${latest.version} from ${latest.state} to ${target}`,
        req.path,
      );
    }
    if (
      target === 'APPROVED' &&
      this.#domains.get(domainId)!.restrictApproval &&
      latest.author === caller.subject
    ) {
      return springError(
        403,
        `permissionDenied: ${caller.subject} modified ${resource.id} and may not approve it`,
        req.path,
      );
    }
    const version = this.#transition(resource, target, body.auditedComment ?? null, caller.subject);
    if (body.locked) {
      version.locked = true;
      version.lockedBy = caller.subject;
    }
    return json(200, dataResponse(this.#view(resource, version)));
  }

  #linksRoute(req: FakeRequest): FakeResponse {
    const subject = req.query.get('linkSubjectId');
    const types = req.query.get('filter.types')?.split(',');
    const links = this.#links.filter(
      (l) => (!subject || l.linkSubjectId === subject) && (!types || types.includes(l.typeId)),
    );
    return json(200, page(links, req.query));
  }

  #create(
    id: string,
    name: string,
    type: string,
    content: Buffer,
    author: string,
    description = '',
  ): Resource {
    const t = iso(this.now());
    const resource: Resource = { id, name, type, description, versions: [], history: [], revision: 0 };
    const version: Version = {
      version: 1,
      state: 'DRAFT',
      stateComment: null,
      content,
      contentMimeType: 'application/octet-stream',
      createdBy: author,
      createdDate: t,
      lastModifiedBy: author,
      lastModifiedDate: t,
      author,
      locked: false,
      lockedBy: null,
    };
    resource.versions.push(version);
    this.#resources.set(id, resource);
    this.#record(resource, version, author, 'INSERT', 'CREATE', null);
    return resource;
  }

  #transition(resource: Resource, target: DesignState, comment: string | null, by: string): Version {
    const latest = resource.versions.at(-1)!;
    const t = iso(this.now());
    let version = latest;
    if (latest.state === 'APPROVED' && target === 'DRAFT') {
      // A new version; the approved one stays as it is.
      version = {
        ...latest,
        version: latest.version + 1,
        content: Buffer.from(latest.content),
        createdBy: by,
        createdDate: t,
        locked: false,
        lockedBy: null,
      };
      resource.versions.push(version);
    }
    version.state = target;
    version.stateComment = comment;
    version.lastModifiedBy = by;
    version.lastModifiedDate = t;
    this.#record(resource, version, by, 'UPDATE', 'STATE', comment);
    return version;
  }

  #record(
    resource: Resource,
    version: Version,
    by: string,
    operation: History['operation'],
    historyType: History['historyType'],
    comment: string | null,
  ): void {
    resource.history.push({
      id: resource.id,
      modifiedBy: by,
      modifiedDate: iso(this.now()),
      operation,
      state: version.state,
      historyType,
      auditedComment: comment,
      type: resource.type,
      version: version.version,
      revision: ++resource.revision,
    });
  }

  #pick(resource: Resource, query: URLSearchParams, path: string): Version {
    const wanted = query.get('version');
    const state = query.get('state');
    const candidates = resource.versions.filter(
      (v) => (!wanted || v.version === Number(wanted)) && (!state || v.state === state),
    );
    const version = candidates.at(-1);
    if (!version) {
      throw new FakeHttpError(
        404,
        springError(
          404,
          `Resource version not found: ${resource.id} ${wanted ?? ''} ${state ?? ''}`.trim(),
          path,
        ).body,
      );
    }
    return version;
  }

  #list(query: URLSearchParams): object[] {
    // The dotted form of the cloud collection, or the CE 21.2 `filter=` DSL (api-reference §5.1).
    const dsl = parseFilterDsl(query.get('filter'), [
      'types',
      'states',
      'ids',
      'name',
      'searchString',
      'latestVersion',
      'locked',
      'hasApprovedVersion',
    ]);
    const param = (name: string): string[] | undefined =>
      query.get(`filter.${name}`)?.split(',') ?? dsl.get(name);
    const types = param('types');
    const states = param('states');
    const ids = param('ids');
    const name = param('name')?.join(',');
    const search = param('searchString')?.join(',').replace(/\*/g, '').toLowerCase();
    const latestOnly = param('latestVersion')?.[0] === 'true';
    const items: object[] = [];
    const resources = [...this.#resources.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const resource of resources) {
      if (types && !types.includes(resource.type)) continue;
      if (ids && !ids.includes(resource.id)) continue;
      if (name && resource.name !== name) continue;
      if (
        search &&
        !resource.name.toLowerCase().includes(search) &&
        !resource.description.toLowerCase().includes(search)
      )
        continue;
      const versions = latestOnly ? [resource.versions.at(-1)!] : resource.versions;
      for (const version of versions) {
        if (states && !states.includes(version.state)) continue;
        items.push(this.#view(resource, version));
      }
    }
    return items;
  }

  #view(resource: Resource, version: Version): object {
    return {
      id: resource.id,
      version: version.version,
      name: resource.name,
      type: resource.type,
      state: version.state,
      stateComment: version.stateComment,
      description: resource.description,
      createdBy: version.createdBy,
      createdDate: version.createdDate,
      lastModifiedBy: version.lastModifiedBy,
      lastModifiedDate: version.lastModifiedDate,
      latestVersion: version === resource.versions.at(-1),
      locked: version.locked,
      lockedBy: version.lockedBy,
      hidden: false,
      systemResource: false,
      metadata: { subtype: null },
      contentMimeType: version.contentMimeType,
    };
  }
}
