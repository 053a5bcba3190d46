/**
 * Exstream design resources (DAS), `{EXSTREAM_URL}/design/api/v1` (api-reference §5): the
 * template catalogue (communications are resources of type `exstrapplication`), their versions,
 * content, state changes with an audited comment, STATE history, and the communication set's
 * manifest for the driver data source and output queues.
 */
import { z } from 'zod';
import { UpstreamUnavailableError } from '../errors.js';
import type { UpstreamClient, UpstreamResponse } from '../http.js';
import {
  allPages,
  dataResponse,
  errorMessage,
  listResponse,
  pageResponse,
  parseBody,
  toPage,
  type Page,
} from './common.js';
import { ExstreamDesignError, type DesignFailure } from './errors.js';

export const DESIGN_STATES = ['DRAFT', 'REVIEW', 'APPROVED', 'REJECTED'] as const;
export type DesignState = (typeof DESIGN_STATES)[number];

/** `ResourceVersion` [V:spec]; only the fields the connector reads are required. Dates: ISO-8601 [I]. */
export const ResourceVersion = z.object({
  id: z.string(),
  version: z.number().int(),
  name: z.string(),
  type: z.string(),
  state: z.string(),
  stateComment: z.string().nullish(),
  description: z.string().nullish(),
  createdBy: z.string().nullish(),
  createdDate: z.string().nullish(),
  lastModifiedBy: z.string().nullish(),
  lastModifiedDate: z.string().nullish(),
  latestVersion: z.boolean().nullish(),
  locked: z.boolean().nullish(),
  lockedBy: z.string().nullish(),
});
export type ResourceVersion = z.infer<typeof ResourceVersion>;

/** `ResourceHistory` [V:spec]. */
export const ResourceHistory = z.object({
  id: z.string().nullish(),
  modifiedBy: z.string().nullish(),
  modifiedDate: z.string().nullish(),
  operation: z.string().nullish(),
  state: z.string().nullish(),
  historyType: z.string().nullish(),
  auditedComment: z.string().nullish(),
  type: z.string().nullish(),
  version: z.number().nullish(),
  revision: z.number().nullish(),
});
export type ResourceHistory = z.infer<typeof ResourceHistory>;

/** `DasLink` [V:coll][V:sdk]. */
export const DasLink = z.object({
  linkSubjectId: z.string(),
  subjectVersion: z.number().nullish(),
  linkObjectId: z.string(),
  typeId: z.string(),
});
export type DasLink = z.infer<typeof DasLink>;

/** `Manifest`, served unwrapped [V:coll]; `queueList[].driver` names the output type [V:sdk DasManifest]. */
export const Manifest = z.object({
  applicationName: z.string().nullish(),
  dsnlist: z.array(z.object({ name: z.string().nullish(), prodDsn: z.string().nullish(), type: z.string() })),
  queueList: z.array(z.object({ driver: z.string(), name: z.string().nullish() })).default([]),
});
export type Manifest = z.infer<typeof Manifest>;

/** The dotted `filter.*` parameters of `GET /resources/{domain}` [V:coll][V:sdk ResourceFilter]. */
export interface ResourceFilter {
  types?: string[];
  states?: DesignState[];
  ids?: string[];
  latestVersion?: boolean;
  name?: string;
  searchString?: string;
  lastModifiedDateStart?: string;
}

export interface DriverLookup {
  communicationSetId: string;
  /** `dsnlist[type=driver].prodDsn`: the `driverDataSource` header of generate. */
  driverDataSource: string;
  /** `queueList[].driver`, e.g. `PDF`, `HTML`, `Empower`. */
  queueDrivers: string[];
}

/** Maps a refused state change to its failure class: the bulk response's names (§5.4) as they appear in the message [I]. */
function designFailure(response: UpstreamResponse): DesignFailure {
  const message = errorMessage(response);
  const named = (
    [
      'invalidStateForUpdate',
      'resourceLocked',
      'permissionDenied',
      'notAllChildrenApproved',
      'workflowException',
      'domainNotFound',
    ] as const
  ).find((name) => message.includes(name));
  if (named) return named;
  switch (response.status) {
    case 403:
      return 'permissionDenied';
    case 404:
      return 'notFound';
    case 409:
      return 'resourceLocked';
    case 400:
      return 'invalidStateForUpdate';
    default:
      return 'other';
  }
}

export class ExstreamDesignApi {
  constructor(
    private readonly client: UpstreamClient,
    readonly domain: string,
  ) {}

  #base(): string {
    return `/design/api/v1`;
  }

  #d(): string {
    return encodeURIComponent(this.domain);
  }

  #fail(response: UpstreamResponse, operation: string): never {
    throw new ExstreamDesignError(
      designFailure(response),
      `${operation}: ${errorMessage(response)}`,
      response.status,
    );
  }

  async listResources(filter: ResourceFilter, offset = 0, count = 200): Promise<Page<ResourceVersion>> {
    const response = await this.client.request({
      operation: 'design.listResources',
      method: 'GET',
      path: `${this.#base()}/resources/${this.#d()}`,
      query: {
        'filter.types': filter.types?.join(','),
        'filter.states': filter.states?.join(','),
        'filter.ids': filter.ids?.join(','),
        'filter.latestVersion': filter.latestVersion,
        'filter.name': filter.name,
        'filter.searchString': filter.searchString,
        'filter.lastModifiedDateStart': filter.lastModifiedDateStart,
        offset,
        count,
      },
      idempotent: true,
    });
    if (response.status !== 200) this.#fail(response, 'design.listResources');
    return toPage(parseBody(pageResponse(ResourceVersion), response, 'design.listResources'));
  }

  /** Every matching resource version, page by page. */
  listAllResources(filter: ResourceFilter): Promise<ResourceVersion[]> {
    return allPages((offset) => this.listResources(filter, offset));
  }

  /** One version (`version`), the approved one (`state: 'APPROVED'`), or the latest; null when there is none. */
  async getResource(
    id: string,
    pick: { version?: number; state?: DesignState } = {},
  ): Promise<ResourceVersion | null> {
    const response = await this.client.request({
      operation: 'design.getResource',
      method: 'GET',
      path: `${this.#base()}/resources/${this.#d()}/${encodeURIComponent(id)}`,
      query: { version: pick.version, state: pick.state },
      idempotent: true,
    });
    if (response.status === 404) return null;
    if (response.status !== 200) this.#fail(response, 'design.getResource');
    return parseBody(dataResponse(ResourceVersion), response, 'design.getResource').data;
  }

  /** The version's content bytes, as stored (the template's `contentHash` is their SHA-256). */
  async getContent(id: string, pick: { version?: number; state?: DesignState } = {}): Promise<Buffer | null> {
    const response = await this.client.request({
      operation: 'design.getContent',
      method: 'GET',
      path: `${this.#base()}/resources/${this.#d()}/${encodeURIComponent(id)}/content`,
      query: { version: pick.version, state: pick.state },
      headers: { accept: '*/*' },
      idempotent: true,
    });
    if (response.status === 404) return null;
    if (response.status !== 200) this.#fail(response, 'design.getContent');
    return response.body;
  }

  /**
   * `PUT .../{id}/state` with an audited comment. Not idempotent (a second APPROVED → DRAFT makes
   * another version), so it is not repeated blindly: after an outage that may have reached
   * Exstream, the resource is read back, and a resource already in the target state counts as done.
   */
  async changeState(
    id: string,
    change: { state: DesignState; auditedComment: string; locked?: boolean },
  ): Promise<ResourceVersion> {
    const send = () =>
      this.client.request({
        operation: 'design.changeState',
        method: 'PUT',
        path: `${this.#base()}/resources/${this.#d()}/${encodeURIComponent(id)}/state`,
        body: {
          json: {
            state: change.state,
            auditedComment: change.auditedComment,
            locked: change.locked ?? false,
          },
        },
        idempotent: false,
      });
    let response: UpstreamResponse;
    try {
      response = await send();
    } catch (err) {
      if (!(err instanceof UpstreamUnavailableError) || !err.mayHaveReachedUpstream) throw err;
      const now = await this.getResource(id);
      if (now && now.state === change.state) return now;
      throw err;
    }
    if (response.status !== 200 && response.status !== 201) this.#fail(response, 'design.changeState');
    return parseBody(dataResponse(ResourceVersion), response, 'design.changeState').data;
  }

  /** STATE history, unpaged [V:spec], in the order Exstream gives it (chronological [I]). */
  async history(
    id: string,
    historyType: 'STATE' | 'CONTENT' | 'CREATE' | 'METADATA' = 'STATE',
  ): Promise<ResourceHistory[]> {
    const response = await this.client.request({
      operation: 'design.history',
      method: 'GET',
      path: `${this.#base()}/resources/${this.#d()}/history/${encodeURIComponent(id)}`,
      query: { historyType },
      idempotent: true,
    });
    if (response.status === 404) return [];
    if (response.status !== 200) this.#fail(response, 'design.history');
    return parseBody(listResponse(ResourceHistory), response, 'design.history').data;
  }

  async links(communicationId: string): Promise<DasLink[]> {
    const response = await this.client.request({
      operation: 'design.links',
      method: 'GET',
      path: `${this.#base()}/links/${this.#d()}`,
      query: { linkSubjectId: communicationId, linkDepth: 2, 'filter.types': 'exstrcommunicationset' },
      idempotent: true,
    });
    if (response.status !== 200) this.#fail(response, 'design.links');
    return parseBody(pageResponse(DasLink), response, 'design.links').data;
  }

  async manifest(communicationSetId: string): Promise<Manifest | null> {
    const response = await this.client.request({
      operation: 'design.manifest',
      method: 'GET',
      path: `${this.#base()}/manifests/${this.#d()}/communication-set/${encodeURIComponent(communicationSetId)}`,
      idempotent: true,
    });
    if (response.status === 404) return null;
    if (response.status !== 200) this.#fail(response, 'design.manifest');
    return parseBody(Manifest, response, 'design.manifest');
  }

  /** The driver data source and output queues of a communication (§5.8); null when it has no set or driver. */
  async driverLookup(communicationId: string): Promise<DriverLookup | null> {
    const link = (await this.links(communicationId)).find(
      (l) => l.linkSubjectId === communicationId && l.typeId === 'exstrcommunicationset',
    );
    if (!link) return null;
    const manifest = await this.manifest(link.linkObjectId);
    const driver = manifest?.dsnlist.find((d) => d.type === 'driver' && d.prodDsn);
    if (!manifest || !driver?.prodDsn) return null;
    return {
      communicationSetId: link.linkObjectId,
      driverDataSource: driver.prodDsn,
      queueDrivers: manifest.queueList.map((q) => q.driver),
    };
  }
}
