import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CommunicationsDB } from '../../store/tables.js';
import { SEED_TEMPLATES } from './seed/templates.js';

/**
 * The hash an approval is bound to: the version's content and data schema,
 * as canonical JSON (keys sorted), so it survives a round trip through jsonb,
 * which does not keep key order.
 */
export function templateContentHash(content: unknown, dataSchema: unknown): string {
  return createHash('sha256').update(canonicalJson({ content, dataSchema })).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** One approved version per demo template, on first start. */
export async function seedTemplates(db: Kysely<CommunicationsDB>): Promise<number> {
  const { count } = await db
    .selectFrom('communications.templates')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  if (Number(count) > 0) return 0;
  await db.transaction().execute(async (tx) => {
    for (const t of SEED_TEMPLATES) {
      await tx
        .insertInto('communications.templates')
        .values({ id: t.id, name: t.name, document_type: t.documentType, channels: t.channels })
        // Replicas starting at once on an empty database: the rows the first wrote stand.
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      await tx
        .insertInto('communications.template_versions')
        .values({
          id: `${t.id}_v1`,
          template_id: t.id,
          version: 1,
          status: 'APPROVED',
          content: JSON.stringify(t.content),
          data_schema: JSON.stringify(t.dataSchema),
          content_hash: templateContentHash(t.content, t.dataSchema),
          approved_by: 'seed:compliance',
          approved_at: new Date(Date.UTC(2026, 0, 1)),
          created_by: 'seed:template-author',
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  });
  return SEED_TEMPLATES.length;
}
