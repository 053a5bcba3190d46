/**
 * The mirror of the Exstream catalogue (migration 010) and its projection into the graph's own
 * template tables: what the graph reads (`templates`, `versions`, `approvedVersion`, generation's
 * approved-version lookup) comes from the store, never from a call to Exstream per read.
 *
 * Each resource is applied in one transaction that locks its graph version rows, so a refresh and
 * a lifecycle move (submission, decision: src/datasources/communications/templates.ts) serialise.
 * A refresh that read Exstream before one of the graph's own state changes never writes back the
 * older state: a version whose mirrored `last_modified_date` is newer than what was observed is
 * left alone.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Outbox } from '../../../events/index.js';
import type {
  CommunicationsDB,
  ExstreamHistoryRow,
  TemplateRow,
  TemplateVersionRow,
} from '../../../store/tables.js';
import { groupBy } from '../../batching.js';
import { canonicalJson } from '../seeding.js';
import {
  documentTypeOf,
  exstreamContent,
  graphStatuses,
  versionId,
  type GraphTemplateStatus,
} from './mapping.js';

export interface ObservedVersion {
  version: number;
  /** Exstream's state. */
  state: string;
  createdBy: string | null;
  lastModifiedBy: string | null;
  lastModifiedDate: string | null;
  contentHash: string;
}

export interface ObservedHistory {
  seq: number;
  version: number | null;
  state: string | null;
  operation: string | null;
  modifiedBy: string | null;
  modifiedAt: Date | null;
  auditedComment: string | null;
}

export interface ObservedResource {
  id: string;
  name: string;
  channels: string[];
  communicationSetId: string | null;
  driverDataSource: string | null;
  versions: ObservedVersion[];
  /** STATE history, when it was read again (null: keep what the mirror has). */
  history: ObservedHistory[] | null;
}

/** A communication as last mirrored (its manifest's driver and channels). */
export interface MirroredCommunication {
  id: string;
  channels: string[];
  communicationSetId: string | null;
  driverDataSource: string | null;
}

/** What the mirror knows of a version: enough to tell whether Exstream moved it since. */
export interface KnownVersion {
  state: string;
  lastModifiedDate: string | null;
  contentHash: string;
}

const newer = (a: string | null, b: string | null): boolean => !!a && !!b && Date.parse(a) > Date.parse(b);

export class CatalogueMirror {
  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    /** The data schema a communication's versions show (EXSTREAM_DATA_SCHEMAS, else any object). */
    private readonly dataSchemaOf: (communicationId: string) => Record<string, unknown>,
  ) {}

  /** Every mirrored version, by resource id then version. */
  async known(): Promise<Map<string, Map<number, KnownVersion>>> {
    const rows = await this.db.selectFrom('communications.exstream_versions').selectAll().execute();
    const out = new Map<string, Map<number, KnownVersion>>();
    for (const r of rows) {
      const versions = out.get(r.resource_id) ?? new Map<number, KnownVersion>();
      versions.set(r.version, {
        state: r.state,
        lastModifiedDate: r.last_modified_date,
        contentHash: r.content_hash,
      });
      out.set(r.resource_id, versions);
    }
    return out;
  }

  /** The ids of the communications listed now. */
  async presentIds(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('communications.exstream_resources')
      .select('resource_id')
      .where('present', '=', true)
      .execute();
    return rows.map((r) => r.resource_id);
  }

  /** The templates of the catalogue: the communications Exstream lists, by name. */
  async templates(): Promise<TemplateRow[]> {
    return this.db
      .selectFrom('communications.templates as t')
      .innerJoin('communications.exstream_resources as r', 'r.resource_id', 't.id')
      .selectAll('t')
      .where('r.present', '=', true)
      .orderBy('t.name')
      .execute();
  }

  async communication(id: string): Promise<MirroredCommunication | null> {
    const row = await this.db
      .selectFrom('communications.exstream_resources')
      .select(['resource_id', 'channels', 'communication_set_id', 'driver_data_source'])
      .where('resource_id', '=', id)
      .where('present', '=', true)
      .executeTakeFirst();
    return row
      ? {
          id: row.resource_id,
          channels: row.channels,
          communicationSetId: row.communication_set_id,
          driverDataSource: row.driver_data_source,
        }
      : null;
  }

  /** STATE history of each template, oldest first. */
  async history(templateIds: readonly string[]): Promise<ExstreamHistoryRow[][]> {
    const rows = templateIds.length
      ? await this.db
          .selectFrom('communications.exstream_history')
          .selectAll()
          .where('resource_id', 'in', [...templateIds])
          .orderBy('seq')
          .execute()
      : [];
    return groupBy(templateIds, rows, (r) => r.resource_id);
  }

  /** Communications no longer listed: hidden from the catalogue (their rows stay; documents point at them). */
  async markAbsent(ids: readonly string[]): Promise<void> {
    if (!ids.length) return;
    await this.db
      .updateTable('communications.exstream_resources')
      .set({ present: false, refreshed_at: new Date() })
      .where('resource_id', 'in', [...ids])
      .execute();
  }

  /**
   * Applies what Exstream says of one communication; returns how many graph versions changed.
   * Emits TEMPLATE_UPDATED (action EXSTREAM_CHANGED) for each, with the change.
   */
  async apply(observed: ObservedResource): Promise<number> {
    return this.outbox.transaction(async (tx, emit) => {
      const now = new Date();
      const existing = await tx
        .selectFrom('communications.templates')
        .selectAll()
        .where('id', '=', observed.id)
        .forNoKeyUpdate()
        .executeTakeFirst();
      let templateChanged = false;
      if (!existing) {
        await tx
          .insertInto('communications.templates')
          .values({
            id: observed.id,
            name: observed.name,
            document_type: documentTypeOf(observed.name),
            channels: observed.channels,
          })
          .execute();
        templateChanged = true;
      } else if (
        existing.name !== observed.name ||
        existing.channels.join(',') !== observed.channels.join(',')
      ) {
        await tx
          .updateTable('communications.templates')
          .set({ name: observed.name, channels: observed.channels })
          .where('id', '=', observed.id)
          .execute();
        templateChanged = true;
      }
      await tx
        .insertInto('communications.exstream_resources')
        .values({
          resource_id: observed.id,
          name: observed.name,
          channels: observed.channels,
          communication_set_id: observed.communicationSetId,
          driver_data_source: observed.driverDataSource,
          present: true,
          refreshed_at: now,
        })
        .onConflict((oc) =>
          oc.column('resource_id').doUpdateSet({
            name: observed.name,
            channels: observed.channels,
            communication_set_id: observed.communicationSetId,
            driver_data_source: observed.driverDataSource,
            present: true,
            refreshed_at: now,
          }),
        )
        .execute();

      // The graph's versions first, in the order the lifecycle locks them (version, then mirror).
      const rows = new Map(
        (
          await tx
            .selectFrom('communications.template_versions')
            .selectAll()
            .where('template_id', '=', observed.id)
            .forUpdate()
            .execute()
        ).map((r) => [r.version, r]),
      );
      const mirrored = new Map(
        (
          await tx
            .selectFrom('communications.exstream_versions')
            .selectAll()
            .where('resource_id', '=', observed.id)
            .forUpdate()
            .execute()
        ).map((r) => [r.version, r]),
      );
      // A version the graph changed after this observation was made keeps the graph's word.
      const versions = observed.versions.map((v) => {
        const m = mirrored.get(v.version);
        return m && newer(m.last_modified_date, v.lastModifiedDate)
          ? { ...v, state: m.state, lastModifiedDate: m.last_modified_date, contentHash: m.content_hash }
          : v;
      });
      for (const v of versions) {
        await tx
          .insertInto('communications.exstream_versions')
          .values({
            resource_id: observed.id,
            version: v.version,
            state: v.state,
            last_modified_by: v.lastModifiedBy,
            last_modified_date: v.lastModifiedDate,
            content_hash: v.contentHash,
            refreshed_at: now,
          })
          .onConflict((oc) =>
            oc.columns(['resource_id', 'version']).doUpdateSet({
              state: v.state,
              last_modified_by: v.lastModifiedBy,
              last_modified_date: v.lastModifiedDate,
              content_hash: v.contentHash,
              refreshed_at: now,
            }),
          )
          .execute();
      }

      const statuses = graphStatuses(versions);
      let changed = 0;
      for (const v of versions) {
        const status = statuses.get(v.version)!;
        const row = rows.get(v.version);
        if (
          row &&
          row.status === status &&
          row.content_hash === v.contentHash &&
          canonicalJson(row.data_schema) === canonicalJson(this.dataSchemaOf(observed.id))
        )
          continue;
        const id = await this.#projectVersion(tx, observed.id, v, status, row ?? null);
        changed++;
        await emit('TEMPLATE_UPDATED', {
          templateId: observed.id,
          versionId: id,
          action: 'EXSTREAM_CHANGED',
        });
      }
      if (templateChanged && !changed) {
        await emit('TEMPLATE_UPDATED', {
          templateId: observed.id,
          versionId: null,
          action: 'EXSTREAM_CHANGED',
        });
      }

      if (observed.history) {
        await tx
          .deleteFrom('communications.exstream_history')
          .where('resource_id', '=', observed.id)
          .execute();
        for (const h of observed.history) {
          await tx
            .insertInto('communications.exstream_history')
            .values({
              resource_id: observed.id,
              seq: h.seq,
              version: h.version,
              state: h.state,
              operation: h.operation,
              modified_by: h.modifiedBy,
              modified_at: h.modifiedAt,
              audited_comment: h.auditedComment,
            })
            .execute();
        }
      }
      return changed;
    });
  }

  /**
   * Records a state change the graph made in Exstream (its answer), inside the lifecycle's
   * transaction, with the content hash read just before it. Returns the graph version as it is now.
   */
  async recordOwnChange(
    tx: Transaction<CommunicationsDB>,
    communicationId: string,
    moved: {
      version: number;
      state: string;
      lastModifiedBy?: string | null;
      lastModifiedDate?: string | null;
    },
    contentHash: string,
  ): Promise<void> {
    await tx
      .insertInto('communications.exstream_versions')
      .values({
        resource_id: communicationId,
        version: moved.version,
        state: moved.state,
        last_modified_by: moved.lastModifiedBy ?? null,
        last_modified_date: moved.lastModifiedDate ?? null,
        content_hash: contentHash,
        refreshed_at: new Date(),
      })
      .onConflict((oc) =>
        oc.columns(['resource_id', 'version']).doUpdateSet({
          state: moved.state,
          last_modified_by: moved.lastModifiedBy ?? null,
          last_modified_date: moved.lastModifiedDate ?? null,
          content_hash: contentHash,
          refreshed_at: new Date(),
        }),
      )
      .execute();
  }

  /** Sets a graph version's content reference and hash to what Exstream has now (before a submission binds to it). */
  async rebindContent(
    tx: Transaction<CommunicationsDB>,
    version: TemplateVersionRow,
    contentHash: string,
  ): Promise<TemplateVersionRow> {
    if (version.content_hash === contentHash) return version;
    return tx
      .updateTable('communications.template_versions')
      .set({
        content: JSON.stringify(exstreamContent(version.template_id, version.version, contentHash)),
        content_hash: contentHash,
      })
      .where('id', '=', version.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async #projectVersion(
    tx: Transaction<CommunicationsDB>,
    communicationId: string,
    v: ObservedVersion,
    status: GraphTemplateStatus,
    row: TemplateVersionRow | null,
  ): Promise<string> {
    const content = JSON.stringify(exstreamContent(communicationId, v.version, v.contentHash));
    const approved =
      status === 'APPROVED' && !row?.approved_by
        ? { approved_by: v.lastModifiedBy ?? 'exstream', approved_at: v.lastModifiedDate ?? new Date() }
        : {};
    if (row) {
      await tx
        .updateTable('communications.template_versions')
        .set({
          status,
          content,
          content_hash: v.contentHash,
          data_schema: JSON.stringify(this.dataSchemaOf(communicationId)),
          ...approved,
        })
        .where('id', '=', row.id)
        .execute();
      return row.id;
    }
    const id = versionId(communicationId, v.version);
    await tx
      .insertInto('communications.template_versions')
      .values({
        id,
        template_id: communicationId,
        version: v.version,
        status,
        content,
        data_schema: JSON.stringify(this.dataSchemaOf(communicationId)),
        content_hash: v.contentHash,
        approved_by: null,
        approved_at: null,
        created_by: v.createdBy ?? v.lastModifiedBy ?? 'exstream',
        ...approved,
      })
      .execute();
    return id;
  }
}
