import { subscriptionSource } from '../stream-policy.js';
import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { BusEvent } from '../../events/index.js';
import { snapshotOf } from '../../events/snapshot.js';
import type { CommunicationsContext } from '../../context/index.js';
import {
  CreateTemplateInput,
  DecideTemplateApprovalInput,
  EditTemplateInput,
  Template,
  TemplateApproval,
  TemplateVersion,
  TemplateVersionActionInput,
} from '../../schema/communications/types.js';
import { AuditEvent, JSONScalar, RESUME_AFTER } from '../../schema/shared/index.js';
import { notFound } from '../../errors/index.js';
import { toAuditEvent } from '../audit.js';
import { MUTATION_ROLES } from '../policy.js';
import { toTemplate, toTemplateApproval, toVersion } from './mappers.js';

@Resolver(() => Template)
export class TemplateResolver {
  @Authorized()
  @Query(() => Template, { nullable: true })
  async template(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Template | null> {
    const row = await ctx.communications.loaders.template.load(id);
    return row ? toTemplate(row) : null;
  }

  @Authorized()
  @Query(() => [Template])
  async templates(@Ctx() ctx: CommunicationsContext): Promise<Template[]> {
    return (await ctx.communications.catalogue.templates()).map(toTemplate);
  }

  @Authorized(...MUTATION_ROLES.createTemplate)
  @Mutation(() => Template, { description: 'A new template with its first version as a DRAFT.' })
  async createTemplate(
    @Arg('input', () => CreateTemplateInput) input: CreateTemplateInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Template> {
    return toTemplate(await ctx.communications.templates.createTemplate(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.editTemplate)
  @Mutation(() => TemplateVersion, {
    description:
      'Edits the DRAFT version; editing an APPROVED (or RETIRED) template creates a new DRAFT version. A version in review cannot be edited.',
  })
  async editTemplate(
    @Arg('input', () => EditTemplateInput) input: EditTemplateInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateVersion> {
    return toVersion(await ctx.communications.templates.editTemplate(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.submitTemplateVersion)
  @Mutation(() => TemplateVersion, {
    description:
      'DRAFT → IN_REVIEW, opening the APPROVAL and COMPLIANCE stages bound to the current content hash.',
  })
  async submitTemplateVersion(
    @Arg('input', () => TemplateVersionActionInput) input: TemplateVersionActionInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateVersion> {
    return toVersion(await ctx.communications.templates.submitForReview(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.decideTemplateApproval)
  @Mutation(() => TemplateApproval, {
    description:
      'Decides a review stage (approver, then compliance; not the author; one stage per person). A rejection sends the version back to DRAFT.',
  })
  async decideTemplateApproval(
    @Arg('input', () => DecideTemplateApprovalInput) input: DecideTemplateApprovalInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateApproval> {
    return toTemplateApproval(await ctx.communications.templates.decide(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.retireTemplateVersion)
  @Mutation(() => TemplateVersion, {
    description: 'Retires a version: nothing is generated from it any more.',
  })
  async retireTemplateVersion(
    @Arg('input', () => TemplateVersionActionInput) input: TemplateVersionActionInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateVersion> {
    return toVersion(await ctx.communications.templates.retire(ctx.principal!, input));
  }

  @Authorized()
  @Subscription(() => Template, {
    description:
      'Every move of a template through its lifecycle (edit, submission, decision, retirement), or of one template.',
    subscribe: ({ args, context }) => {
      const ctx = context as CommunicationsContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.communications.bus, log: ctx.communications.log, source: 'communications' },
        'templateUpdated',
        'TEMPLATE_UPDATED',
        args as Record<string, unknown>,
        ['templateId'],
      );
    },
  })
  async templateUpdated(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: CommunicationsContext,
    @Arg('templateId', () => ID, { nullable: true }) _templateId?: string | null,
  ): Promise<Template> {
    // The template and its versions as they were at this move (src/events/snapshot.ts).
    ctx.communications.loaders = ctx.communications.newLoaders(snapshotOf(event));
    const id = String(event.payload.templateId);
    const row = await ctx.communications.loaders.template.load(id);
    if (!row) throw notFound('Template', id);
    return { ...toTemplate(row), eventId: event.id };
  }

  @FieldResolver(() => [TemplateVersion])
  async versions(@Root() t: Template, @Ctx() ctx: CommunicationsContext): Promise<TemplateVersion[]> {
    return (await ctx.communications.loaders.versionsByTemplate.load(t.id)).map(toVersion);
  }

  @FieldResolver(() => TemplateVersion, {
    nullable: true,
    description: 'The newest APPROVED version: the one generation uses.',
  })
  async approvedVersion(
    @Root() t: Template,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateVersion | null> {
    const versions = await ctx.communications.loaders.versionsByTemplate.load(t.id);
    const approved = versions.filter((v) => v.status === 'APPROVED').at(-1);
    return approved ? toVersion(approved) : null;
  }

  @FieldResolver(() => [AuditEvent], {
    description:
      "The template's trail: every edit, submission, decision and retirement, with actor, time and comment.",
  })
  async history(@Root() t: Template, @Ctx() ctx: CommunicationsContext): Promise<AuditEvent[]> {
    const own = (await ctx.communications.loaders.historyByTemplate.load(t.id)).map(toAuditEvent);
    if (ctx.communications.catalogue.source === 'embedded') return own;
    // Connected mode: Exstream's STATE history too (who moved it in Designer, with what comment).
    const upstream = (await ctx.communications.catalogueHistory.load(t.id)).map(toAuditEvent);
    return [...own, ...upstream].sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}

@Resolver(() => TemplateVersion)
export class TemplateVersionResolver {
  @FieldResolver(() => [TemplateApproval], { description: 'The stages of the current (or last) review.' })
  async approvals(
    @Root() v: TemplateVersion,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<TemplateApproval[]> {
    return (await ctx.communications.loaders.approvalsByVersion.load(v.id)).map(toTemplateApproval);
  }

  @FieldResolver(() => JSONScalar, {
    description: 'The per-channel content (Handlebars, MJML, print layout).',
  })
  async content(@Root() v: TemplateVersion, @Ctx() ctx: CommunicationsContext): Promise<unknown> {
    const row = await ctx.communications.loaders.version.load(v.id);
    if (!row) throw notFound('TemplateVersion', v.id);
    return row.content;
  }

  @FieldResolver(() => Template)
  async template(@Root() v: TemplateVersion, @Ctx() ctx: CommunicationsContext): Promise<Template> {
    const row = await ctx.communications.loaders.template.load(v.templateId);
    if (!row) throw notFound('Template', v.templateId);
    return toTemplate(row);
  }
}
