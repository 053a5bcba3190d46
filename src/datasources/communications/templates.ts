import { checkFourEyes } from '../../policy/four-eyes.js';
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { badInput, conflict, forbidden, notFound } from '../../errors/index.js';
import type { Emit, Outbox } from '../../events/index.js';
import type { Principal, Role } from '../../identity/index.js';
import type {
  CommunicationsDB,
  TemplateApprovalRow,
  TemplateRow,
  TemplateVersionRow,
} from '../../store/tables.js';
import {
  CHANNELS,
  channelContentProblem,
  DEFAULT_LANGUAGE,
  templateContentProblem,
  TemplateError,
  type Channel,
  type TemplateContent,
} from './engine/index.js';
import { DOCUMENT_TYPE } from '../../validation/index.js';
import { createSchemaCompiler } from './engine/validate.js';
import { templateContentHash } from './seeding.js';

/**
 * The template content lifecycle: DRAFT → IN_REVIEW → APPROVED (or back to
 * DRAFT when rejected), RETIRED at the end. Review has two stages decided by
 * `approver` then `compliance` under the four-eyes rules of cases: the author
 * decides no stage, one person decides at most one stage of a review. Each
 * approval is bound to the content hash it saw; only versions whose every
 * approval matches their current content are APPROVED. Editing an approved
 * version makes a new DRAFT; approved versions are never changed in place.
 */
export const TEMPLATE_STAGES = ['APPROVAL', 'COMPLIANCE'] as const;
export type TemplateStage = (typeof TEMPLATE_STAGES)[number];
export const TEMPLATE_STAGE_ROLE: Record<TemplateStage, Role> = {
  APPROVAL: 'approver',
  COMPLIANCE: 'compliance',
};

const NAME_MAX = 200;
const COMMENT_MAX = 2000;
const newId = (prefix: string) => `${prefix}_${randomUUID()}`;

export interface TemplateDraft {
  content: unknown;
  dataSchema: unknown;
  channels: string[];
}

export class TemplateLifecycle {
  private readonly schemas = createSchemaCompiler();

  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
  ) {}

  async createTemplate(
    principal: Principal,
    input: { name: string; documentType: string; channels: string[]; content: unknown; dataSchema: unknown },
  ): Promise<TemplateRow> {
    const name = input.name.trim();
    if (!name || name.length > NAME_MAX) throw badInput(`name: 1 to ${NAME_MAX} characters`, 'name');
    if (!DOCUMENT_TYPE.test(input.documentType)) {
      throw badInput('documentType: lower-case letters, digits and _ (e.g. claim_letter)', 'documentType');
    }
    const draft = this.checkDraft({
      content: input.content,
      dataSchema: input.dataSchema,
      channels: input.channels,
    });
    const id = `tpl_${input.documentType}`;
    return this.outbox.transaction(async (tx, emit) => {
      // One statement decides: two creates of one document type at once get one template
      // and one CONFLICT (a check before the insert let both through to a key violation).
      const template = await tx
        .insertInto('communications.templates')
        .values({ id, name, document_type: input.documentType, channels: draft.channels })
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!template)
        throw conflict(`A template for ${input.documentType} exists already (${id}); edit it instead`);
      const version = await this.insertVersion(tx, id, 1, draft, principal.sub);
      await this.audit(tx, emit, id, version.id, principal.sub, 'TEMPLATE_CREATED', {
        version: 1,
        contentHash: version.content_hash,
      });
      return template;
    });
  }

  /** Edits the draft, or starts a new draft from the newest version when that one is approved or retired. */
  async editTemplate(
    principal: Principal,
    input: {
      templateId: string;
      content?: unknown;
      dataSchema?: unknown;
      channels?: string[] | null;
      comment?: string | null;
    },
  ): Promise<TemplateVersionRow> {
    checkComment(input.comment);
    return this.outbox.transaction(async (tx, emit) => {
      const template = await tx
        .selectFrom('communications.templates')
        .selectAll()
        .where('id', '=', input.templateId)
        // NO KEY UPDATE, not UPDATE: the other lifecycle moves lock a version and then write
        // the template's trail, whose foreign key takes KEY SHARE on this row. FOR UPDATE
        // would conflict with that and deadlock against them; edits still serialise here.
        .forNoKeyUpdate()
        .executeTakeFirst();
      if (!template) throw notFound('Template', input.templateId);
      // The newest version is locked too: submitForReview, decide and retire lock the version
      // (not the template), and its status is checked below.
      const latest = await tx
        .selectFrom('communications.template_versions')
        .selectAll()
        .where('template_id', '=', template.id)
        .orderBy('version', 'desc')
        .limit(1)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const draft = this.checkDraft({
        content: input.content ?? latest.content,
        dataSchema: input.dataSchema ?? latest.data_schema,
        channels: input.channels ?? template.channels,
      });
      if (input.channels)
        await tx
          .updateTable('communications.templates')
          .set({ channels: draft.channels })
          .where('id', '=', template.id)
          .execute();
      switch (latest.status) {
        case 'IN_REVIEW':
          throw conflict(`Version ${latest.version} is in review; it can be edited once it is decided`);
        case 'DRAFT': {
          const hash = templateContentHash(draft.content, draft.dataSchema);
          const row = await tx
            .updateTable('communications.template_versions')
            .set({
              content: JSON.stringify(draft.content),
              data_schema: JSON.stringify(draft.dataSchema),
              content_hash: hash,
              created_by: principal.sub,
            })
            .where('id', '=', latest.id)
            .returningAll()
            .executeTakeFirstOrThrow();
          await this.audit(tx, emit, template.id, row.id, principal.sub, 'VERSION_EDITED', {
            version: row.version,
            contentHash: hash,
            comment: input.comment ?? null,
          });
          return row;
        }
        case 'APPROVED':
        case 'RETIRED': {
          const row = await this.insertVersion(tx, template.id, latest.version + 1, draft, principal.sub);
          await this.audit(tx, emit, template.id, row.id, principal.sub, 'VERSION_CREATED', {
            version: row.version,
            from: latest.version,
            contentHash: row.content_hash,
            comment: input.comment ?? null,
          });
          return row;
        }
        default:
          throw new Error(`unknown template status ${latest.status}`);
      }
    });
  }

  async submitForReview(
    principal: Principal,
    input: { versionId: string; comment?: string | null },
  ): Promise<TemplateVersionRow> {
    checkComment(input.comment);
    return this.outbox.transaction(async (tx, emit) => {
      const v = await this.lockVersion(tx, input.versionId);
      if (v.status !== 'DRAFT')
        throw conflict(`Version ${v.version} is ${v.status}; only a DRAFT can be submitted for review`);
      const round = v.review_round + 1;
      for (const [seq, stage] of TEMPLATE_STAGES.entries()) {
        await tx
          .insertInto('communications.template_approvals')
          .values({
            id: newId('tap'),
            version_id: v.id,
            round,
            stage,
            seq,
            decision: 'PENDING',
            decided_by: null,
            decided_at: null,
            comment: null,
            content_hash: v.content_hash,
          })
          .execute();
      }
      const row = await tx
        .updateTable('communications.template_versions')
        .set({ status: 'IN_REVIEW', review_round: round })
        .where('id', '=', v.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit(tx, emit, v.template_id, v.id, principal.sub, 'SUBMITTED_FOR_REVIEW', {
        version: v.version,
        round,
        contentHash: v.content_hash,
        comment: input.comment ?? null,
      });
      return row;
    });
  }

  async decide(
    principal: Principal,
    input: { approvalId: string; decision: string; comment?: string | null },
  ): Promise<TemplateApprovalRow> {
    if (input.decision !== 'APPROVED' && input.decision !== 'REJECTED')
      throw badInput('decision: APPROVED or REJECTED', 'decision');
    checkComment(input.comment);
    return this.outbox.transaction(async (tx, emit) => {
      const found = await tx
        .selectFrom('communications.template_approvals')
        .select('version_id')
        .where('id', '=', input.approvalId)
        .executeTakeFirst();
      if (!found) throw notFound('TemplateApproval', input.approvalId);
      const v = await this.lockVersion(tx, found.version_id);
      // Read again under the version's lock: a decision read before it may be stale.
      const target = await tx
        .selectFrom('communications.template_approvals')
        .selectAll()
        .where('id', '=', input.approvalId)
        .executeTakeFirstOrThrow();
      const stage = target.stage as TemplateStage;
      if (!principal.roles.includes(TEMPLATE_STAGE_ROLE[stage]))
        throw forbidden(`Deciding the ${stage} stage needs the ${TEMPLATE_STAGE_ROLE[stage]} role`);
      if (target.decision !== 'PENDING') throw conflict(`The ${stage} stage was already decided`);
      if (v.status !== 'IN_REVIEW' || target.round !== v.review_round)
        throw conflict(`Version ${v.version} is not in this review any more`);
      const round = await tx
        .selectFrom('communications.template_approvals')
        .selectAll()
        .where('version_id', '=', v.id)
        .where('round', '=', v.review_round)
        .orderBy('seq')
        .execute();
      const earlier = round.filter((a) => a.seq < target.seq && a.decision !== 'APPROVED');
      if (earlier.length) throw conflict(`Stage ${earlier[0]!.stage} must be approved before ${stage}`);
      checkFourEyes(
        principal.sub,
        { initiator: v.created_by, deciders: round.map((a) => a.decided_by) },
        {
          INITIATOR_DECIDES: 'the author of a version cannot decide its review',
          DECIDES_TWICE: 'one person decides at most one stage of a review',
        },
      );
      if (target.content_hash !== v.content_hash)
        throw conflict('The content changed since the review started; submit it again');
      const now = new Date();
      const decided = await tx
        .updateTable('communications.template_approvals')
        .set({
          decision: input.decision,
          decided_by: principal.sub,
          decided_at: now,
          comment: input.comment ?? null,
        })
        .where('id', '=', target.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const detail = {
        version: v.version,
        stage,
        round: v.review_round,
        contentHash: v.content_hash,
        comment: input.comment ?? null,
      };
      if (input.decision === 'REJECTED') {
        await tx
          .updateTable('communications.template_versions')
          .set({ status: 'DRAFT' })
          .where('id', '=', v.id)
          .execute();
        await this.audit(tx, emit, v.template_id, v.id, principal.sub, 'VERSION_REJECTED', detail);
      } else if (target.seq === TEMPLATE_STAGES.length - 1) {
        await tx
          .updateTable('communications.template_versions')
          .set({ status: 'APPROVED', approved_by: principal.sub, approved_at: now })
          .where('id', '=', v.id)
          .execute();
        await this.audit(tx, emit, v.template_id, v.id, principal.sub, 'VERSION_APPROVED', detail);
      } else {
        await this.audit(tx, emit, v.template_id, v.id, principal.sub, 'STAGE_APPROVED', detail);
      }
      return decided;
    });
  }

  async retire(
    principal: Principal,
    input: { versionId: string; comment?: string | null },
  ): Promise<TemplateVersionRow> {
    checkComment(input.comment);
    return this.outbox.transaction(async (tx, emit) => {
      const v = await this.lockVersion(tx, input.versionId);
      if (v.status === 'RETIRED') throw conflict(`Version ${v.version} is retired already`);
      if (v.status === 'IN_REVIEW') throw conflict(`Version ${v.version} is in review; decide it first`);
      const row = await tx
        .updateTable('communications.template_versions')
        .set({ status: 'RETIRED' })
        .where('id', '=', v.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit(tx, emit, v.template_id, v.id, principal.sub, 'VERSION_RETIRED', {
        version: v.version,
        from: v.status,
        comment: input.comment ?? null,
      });
      return row;
    });
  }

  private checkDraft(d: TemplateDraft): {
    content: TemplateContent;
    dataSchema: Record<string, unknown>;
    channels: Channel[];
  } {
    if (!d.content || typeof d.content !== 'object' || Array.isArray(d.content))
      throw badInput('content: a JSON object', 'content');
    if (!d.dataSchema || typeof d.dataSchema !== 'object' || Array.isArray(d.dataSchema))
      throw badInput('dataSchema: a JSON Schema object', 'dataSchema');
    if (Buffer.byteLength(JSON.stringify(d.content)) > 256 * 1024)
      throw badInput('content: at most 256 KiB', 'content');
    // Nothing that runs code, reaches prototypes or lets data become markup gets stored.
    const unsafe = templateContentProblem(d.content);
    if (unsafe) throw badInput(`${unsafe.path}: ${unsafe.message}`, unsafe.path);
    const channels = [...new Set(d.channels)];
    if (
      !channels.length ||
      !channels.every((c): c is Channel => (CHANNELS as readonly string[]).includes(c))
    ) {
      throw badInput('channels: one or more of PRINT, EMAIL, WEB, MOBILE', 'channels');
    }
    // A draft that names no language is in the default one: every new letter has a language.
    const content: TemplateContent = { language: DEFAULT_LANGUAGE, ...(d.content as TemplateContent) };
    const problems = channels.map((c) => channelContentProblem(content, c)).filter((p) => p !== null);
    if (problems.length) throw badInput(`content: ${problems.join('; ')}`, 'content');
    try {
      this.schemas.compile(d.dataSchema as Record<string, unknown>, 'draft').dispose();
    } catch (err) {
      if (err instanceof TemplateError) throw badInput(`dataSchema: ${err.message}`, 'dataSchema');
      throw err;
    }
    return { content, dataSchema: d.dataSchema as Record<string, unknown>, channels };
  }

  private async insertVersion(
    tx: Transaction<CommunicationsDB>,
    templateId: string,
    version: number,
    d: { content: unknown; dataSchema: unknown },
    author: string,
  ) {
    return tx
      .insertInto('communications.template_versions')
      .values({
        id: `${templateId}_v${version}`,
        template_id: templateId,
        version,
        status: 'DRAFT',
        content: JSON.stringify(d.content),
        data_schema: JSON.stringify(d.dataSchema),
        content_hash: templateContentHash(d.content, d.dataSchema),
        approved_by: null,
        approved_at: null,
        created_by: author,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  private async lockVersion(tx: Transaction<CommunicationsDB>, id: string): Promise<TemplateVersionRow> {
    const v = await tx
      .selectFrom('communications.template_versions')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!v) throw notFound('TemplateVersion', id);
    return v;
  }

  private async audit(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    templateId: string,
    versionId: string | null,
    actor: string,
    action: string,
    detail: Record<string, unknown>,
  ) {
    await tx
      .insertInto('communications.template_audit')
      .values({
        template_id: templateId,
        version_id: versionId,
        actor,
        action,
        detail: JSON.stringify(detail),
      })
      .execute();
    // Every move of the lifecycle is an event too, committed with it.
    await emit('TEMPLATE_UPDATED', { templateId, versionId, action });
  }
}

function checkComment(comment: string | null | undefined): void {
  if (comment != null && comment.length > COMMENT_MAX)
    throw badInput(`comment: at most ${COMMENT_MAX} characters`, 'comment');
}
