/**
 * The template catalogue of `GENERATION_BACKEND=exstream`: the domain's `exstrapplication`
 * resources, mirrored into the store (mirror.ts) and refreshed every EXSTREAM_CATALOGUE_REFRESH_MS
 * and after each change the graph makes, so that a communication changed in Exstream Designer
 * shows in the graph without a restart; and the authority the template lifecycle defers to:
 * submission moves the resource to REVIEW, the last approval to APPROVED with an audited comment
 * naming the deciders and the content hash, a rejection to REJECTED then DRAFT.
 *
 * A refresh reads the resource list (one paged call) and, per version whose state or
 * lastModifiedDate moved since the mirror saw it, its content (for the hash); the manifest and
 * STATE history of a communication are read again only when one of its versions moved. The first
 * refresh after a start reads everything.
 */
import { conflict, GraphQLErrorWithCode } from '../../../errors/index.js';
import type { Channel } from '../../../config/opentext.js';
import { log } from '../../../logger.js';
import type { CommunicationsDB, TemplateRow, TemplateVersionRow } from '../../../store/tables.js';
import type { ExstreamDesignApi, ResourceVersion } from '../../../upstreams/opentext/exstream/design.js';
import { ExstreamDesignError } from '../../../upstreams/opentext/exstream/errors.js';
import { UpstreamUnavailableError } from '../../../upstreams/opentext/errors.js';
import type { TemplateAuthority } from '../templates.js';
import type { Transaction } from 'kysely';
import type { CatalogueHistoryEntry, TemplateCatalogue } from './index.js';
import {
  approvalComment,
  authoredInExstream,
  channelsOf,
  contentHashOf,
  CONTENT_CHANGED,
  rejectionComment,
  submissionComment,
} from './mapping.js';
import type {
  CatalogueMirror,
  KnownVersion,
  MirroredCommunication,
  ObservedHistory,
  ObservedVersion,
} from './mirror.js';

export interface ExstreamCatalogueOptions {
  refreshMs: number;
  queueChannels: Record<string, Channel[]>;
}

/** Exstream's answer as the graph gives it: an outage is UPSTREAM_UNAVAILABLE, a refusal a CONFLICT. */
function graphError(err: unknown): unknown {
  if (err instanceof GraphQLErrorWithCode) return err;
  if (err instanceof UpstreamUnavailableError) return err.toGraphQLError();
  if (
    err instanceof ExstreamDesignError &&
    err.reason !== 'permissionDenied' &&
    err.reason !== 'domainNotFound'
  ) {
    // invalidStateForUpdate, resourceLocked, notAllChildrenApproved...: the resource is not
    // where the graph thought; the next refresh shows where it is.
    return conflict(`Exstream refused the change (${err.reason}): ${err.message}`, 'EXSTREAM_REFUSED');
  }
  // permissionDenied, domainNotFound, anything else: a deployment fault, logged in full and masked.
  return err;
}

export class ExstreamCatalogue implements TemplateCatalogue, TemplateAuthority {
  readonly source = 'exstream' as const;
  readonly authority: TemplateAuthority = this;
  #timer: NodeJS.Timeout | null = null;
  #stopped = true;
  /** Refreshes run one at a time, in order of asking. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Set by the first full refresh: later ones read only what moved. */
  #primed = false;

  constructor(
    private readonly design: ExstreamDesignApi,
    private readonly mirror: CatalogueMirror,
    private readonly options: ExstreamCatalogueOptions,
  ) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const tick = () => {
      this.#timer = null;
      void this.refresh()
        .catch((err: unknown) => {
          // An outage does not stop the graph: reads go on from the mirror (contract, "Switches").
          log.warn('template catalogue refresh failed; serving the mirror', { err });
        })
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.options.refreshMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue.catch(() => undefined);
  }

  /** Reads Exstream again (the whole catalogue, or one communication); returns how many graph versions changed. */
  refresh(communicationId?: string): Promise<number> {
    const run = this.#queue.then(
      () => this.#refresh(communicationId),
      () => this.#refresh(communicationId),
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  templates(): Promise<TemplateRow[]> {
    return this.mirror.templates();
  }

  async history(templateIds: readonly string[]): Promise<CatalogueHistoryEntry[][]> {
    return (await this.mirror.history(templateIds)).map((rows) =>
      rows.map((h) => ({
        id: `exstream:${h.resource_id}:${h.seq}`,
        at: h.modified_at ?? new Date(0),
        actor: h.modified_by ?? 'exstream',
        action: 'EXSTREAM_STATE_CHANGED',
        detail: {
          state: h.state,
          version: h.version,
          auditedComment: h.audited_comment,
          operation: h.operation,
        },
      })),
    );
  }

  /**
   * What the mirror knows of a communication's manifest: its driver data source (the
   * `driverDataSource` header of on-demand generation) and channels; null when it has none. For
   * generation, which would otherwise read links and manifest on every call.
   */
  communication(id: string): Promise<MirroredCommunication | null> {
    return this.mirror.communication(id);
  }

  // ── TemplateAuthority ─────────────────────────────────────────────────

  refuseAuthoring(operation: 'createTemplate' | 'editTemplate' | 'retireTemplateVersion'): void {
    throw authoredInExstream(operation);
  }

  async submit(
    tx: Transaction<CommunicationsDB>,
    version: TemplateVersionRow,
    by: string,
    comment: string | null,
  ): Promise<TemplateVersionRow> {
    const id = version.template_id;
    try {
      const latest = await this.#latest(id, version);
      const hash = await this.#liveHash(id, version.version);
      if (latest.state === 'REJECTED') {
        // A rejected version goes back to draft before its next review (the standard workflow).
        const back = await this.design.changeState(id, {
          state: 'DRAFT',
          auditedComment: `Back to draft for a new review in CommsGraph by ${by}`,
        });
        await this.mirror.recordOwnChange(tx, id, back, hash);
      } else if (latest.state === 'REVIEW' && version.status === 'IN_REVIEW') {
        // Put in review in Designer: it stays there; the graph's stages open now.
        const bound = await this.mirror.rebindContent(tx, version, hash);
        this.#soon(id);
        return bound;
      } else if (latest.state !== 'DRAFT') {
        throw conflict(`In Exstream, version ${version.version} of ${id} is ${latest.state}, not DRAFT`);
      }
      const moved = await this.design.changeState(id, {
        state: 'REVIEW',
        auditedComment: submissionComment(by, hash, comment),
      });
      await this.mirror.recordOwnChange(tx, id, moved, hash);
      const bound = await this.mirror.rebindContent(tx, version, hash);
      this.#soon(id);
      return bound;
    } catch (err) {
      throw graphError(err);
    }
  }

  async decide(
    tx: Transaction<CommunicationsDB>,
    d: Parameters<TemplateAuthority['decide']>[1],
  ): Promise<void> {
    // Earlier stages are the graph's own: Exstream's workflow has one review step.
    if (d.outcome === 'APPROVED' && !d.final) return;
    const id = d.version.template_id;
    try {
      const latest = await this.#latest(id, d.version);
      if (latest.state !== 'REVIEW') {
        throw conflict(
          `In Exstream, version ${d.version.version} of ${id} is ${latest.state}, not in review`,
          'EXSTREAM_REFUSED',
        );
      }
      if (d.outcome === 'APPROVED') {
        const hash = await this.#liveHash(id, d.version.version);
        if (hash !== d.contentHash) {
          throw conflict(
            `The content of ${id} version ${d.version.version} changed in Exstream since it was submitted ` +
              `(sha256:${d.contentHash} then, sha256:${hash} now); submit it again`,
            CONTENT_CHANGED,
          );
        }
        const moved = await this.design.changeState(id, {
          state: 'APPROVED',
          auditedComment: approvalComment(d.deciders, hash),
        });
        await this.mirror.recordOwnChange(tx, id, moved, hash);
      } else {
        const rejected = await this.design.changeState(id, {
          state: 'REJECTED',
          auditedComment: rejectionComment(d.by, d.stage, d.comment),
        });
        await this.mirror.recordOwnChange(tx, id, rejected, d.version.content_hash);
        try {
          const back = await this.design.changeState(id, {
            state: 'DRAFT',
            auditedComment: `Back to draft after the rejection in CommsGraph by ${d.by}`,
          });
          await this.mirror.recordOwnChange(tx, id, back, d.version.content_hash);
        } catch (err) {
          // The rejection stands (REJECTED shows as DRAFT); the next submission moves it to DRAFT first.
          log.warn('rejected communication not moved back to DRAFT', { communicationId: id, err });
        }
      }
      this.#soon(id);
    } catch (err) {
      throw graphError(err);
    }
  }

  // ── refresh ───────────────────────────────────────────────────────────

  /** After a change of the graph's, the resource is read again (its STATE history, superseded approvals). */
  #soon(id: string): void {
    void this.refresh(id).catch((err: unknown) =>
      log.warn('template catalogue refresh after a change failed', { communicationId: id, err }),
    );
  }

  async #latest(id: string, version: TemplateVersionRow): Promise<ResourceVersion> {
    const latest = await this.design.getResource(id);
    if (!latest) throw conflict(`Communication ${id} is not in Exstream any more`, 'EXSTREAM_REFUSED');
    if (latest.version !== version.version) {
      throw conflict(
        `Exstream's latest version of ${id} is ${latest.version}, not ${version.version}`,
        'EXSTREAM_REFUSED',
      );
    }
    return latest;
  }

  async #liveHash(id: string, version: number): Promise<string> {
    const bytes = await this.design.getContent(id, { version });
    if (!bytes) throw conflict(`Version ${version} of ${id} is not in Exstream any more`, 'EXSTREAM_REFUSED');
    return contentHashOf(bytes);
  }

  async #refresh(only?: string): Promise<number> {
    const listed = await this.design.listAllResources({
      types: ['exstrapplication'],
      ...(only ? { ids: [only] } : {}),
    });
    const byId = new Map<string, ResourceVersion[]>();
    for (const v of listed) {
      if (v.type !== 'exstrapplication') continue;
      byId.set(v.id, [...(byId.get(v.id) ?? []), v]);
    }
    const known = await this.mirror.known();
    const full = !this.#primed && !only;
    let changed = 0;
    for (const [id, versions] of byId) {
      changed += await this.#refreshOne(id, versions, only ? undefined : known.get(id), full);
    }
    const present = await this.mirror.presentIds();
    await this.mirror.markAbsent(present.filter((id) => (only ? id === only : true) && !byId.has(id)));
    if (full) this.#primed = true;
    return changed;
  }

  async #refreshOne(
    id: string,
    versions: ResourceVersion[],
    known: Map<number, KnownVersion> | undefined,
    full: boolean,
  ): Promise<number> {
    let moved = full || !known;
    const observed: ObservedVersion[] = [];
    for (const v of versions.sort((a, b) => a.version - b.version)) {
      const k = known?.get(v.version);
      const same = k && k.state === v.state && k.lastModifiedDate === (v.lastModifiedDate ?? null);
      let contentHash = k?.contentHash;
      if (!same || full) {
        moved = true;
        const bytes = await this.design.getContent(id, { version: v.version });
        if (!bytes) continue; // deleted between the list and now: the next refresh sees it gone
        contentHash = contentHashOf(bytes);
      }
      observed.push({
        version: v.version,
        state: v.state,
        createdBy: v.createdBy ?? null,
        lastModifiedBy: v.lastModifiedBy ?? null,
        lastModifiedDate: v.lastModifiedDate ?? null,
        contentHash: contentHash!,
      });
    }
    if (!moved || !observed.length) return 0;
    const lookup = await this.design.driverLookup(id);
    const history: ObservedHistory[] = (await this.design.history(id, 'STATE')).map((h, i) => {
      const at = h.modifiedDate ? new Date(h.modifiedDate) : null;
      return {
        seq: h.revision ?? i + 1,
        version: h.version ?? null,
        state: h.state ?? null,
        operation: h.operation ?? null,
        modifiedBy: h.modifiedBy ?? null,
        modifiedAt: at && !Number.isNaN(at.getTime()) ? at : null,
        auditedComment: h.auditedComment ?? null,
      };
    });
    return this.mirror.apply({
      id,
      name: versions.at(-1)!.name,
      channels: channelsOf(lookup?.queueDrivers ?? [], this.options.queueChannels),
      communicationSetId: lookup?.communicationSetId ?? null,
      driverDataSource: lookup?.driverDataSource ?? null,
      versions: observed,
      history,
    });
  }
}
