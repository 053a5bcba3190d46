import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { CommunicationsContext } from '../../context/index.js';
import { Template, TemplateVersion } from '../../schema/communications/types.js';
import { toTemplate, toVersion } from './mappers.js';

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
    return (await ctx.communications.reader.allTemplates()).map(toTemplate);
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
}
