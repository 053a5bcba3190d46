import { sql, type Kysely } from 'kysely';

/**
 * Verification of a hash-chained audit trail (migration 008). Each entry
 * stores `seq` (its position, in commit order), `prev_hash` (the hash of the
 * entry before it; for the first, the hash of the table's name) and
 * `hash = sha256(prev_hash || canonical text of the entry)`.
 *
 * The canonical text is recomputed here from the table's columns, not by
 * calling the database functions the triggers use: a verifier that asked the
 * database how to hash would trust whoever last replaced those functions.
 * The two must agree; the trail tests show they do.
 */
export interface TrailSpec {
  /** schema.table */
  table: string;
  /** The entry's content columns in hash order, as SQL over the row (migration 008's `entry_text`, minus seq). */
  content: string;
}

/** Why an entry fails verification; the first failing entry is reported. */
export type TrailBreak =
  /** No chain values: inserted while the chain trigger was disabled. */
  | 'UNCHAINED'
  /** prev_hash is not the hash of the entry before it: an entry before it was removed, replaced or inserted. */
  | 'LINK_BROKEN'
  /** seq is not the entry's position: entries were removed or renumbered. */
  | 'OUT_OF_SEQUENCE'
  /** The entry's content no longer matches its hash: it was changed. */
  | 'ALTERED';

/** A head recorded earlier (outside the database): entry count and the hash of the last entry then. */
export interface TrailAnchor {
  entries: number;
  hash: string;
}

export interface TrailCheck {
  table: string;
  /** How many entries the trail holds. */
  entries: number;
  intact: boolean;
  /** Position (1 = first entry, in chain order) of the first entry that fails; null when intact. */
  firstBrokenAt: number | null;
  /** The trail row id of that entry (AuditEvent.id). */
  firstBrokenEntryId: string | null;
  reason: TrailBreak | null;
  /** Hash of the last entry, hex: record it elsewhere to detect a rewrite of the whole chain later. */
  headHash: string | null;
  /** With an anchor: whether the entry at its position still has its hash. */
  anchorMatches: boolean | null;
  checkedAt: Date;
}

/** Timestamps in the canonical text: UTC to the microsecond, as migration 008 writes them. */
export const TRAIL_TIME = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

interface Row {
  entries: string;
  broken_at: string | null;
  broken_id: string | null;
  reason: TrailBreak | null;
  head_hash: string | null;
  anchor_hash: string | null;
}

/**
 * Recomputes the whole chain in one statement (a window over seq): linear in
 * the trail's size, reading every entry once. Entries without a seq sort last.
 */
export async function verifyTrail(
  db: Kysely<unknown>,
  spec: TrailSpec,
  anchor?: TrailAnchor | null,
): Promise<TrailCheck> {
  const table = sql.table(spec.table);
  const genesis = sql`sha256(convert_to(${spec.table}::text, 'UTF8'))`;
  const anchorAt = anchor ? anchor.entries : null;
  const { rows } = await sql<Row>`
    with c as (
      select e.id, e.seq, e.prev_hash, e.hash,
        lag(e.hash) over w as before,
        row_number() over w as n,
        sha256(coalesce(e.prev_hash, ''::bytea)
          || convert_to(jsonb_build_array(e.seq, ${sql.raw(spec.content)})::text, 'UTF8')) as recomputed
      from ${table} e
      window w as (order by e.seq nulls last, e.id)
    ),
    checked as (
      select n, id, hash,
        case
          when seq is null or prev_hash is null or hash is null then 'UNCHAINED'
          when prev_hash is distinct from coalesce(before, ${genesis}) then 'LINK_BROKEN'
          when seq <> n then 'OUT_OF_SEQUENCE'
          when hash <> recomputed then 'ALTERED'
        end as reason
      from c
    )
    select
      (select count(*) from checked) as entries,
      f.n as broken_at, f.id::text as broken_id, f.reason,
      (select encode(hash, 'hex') from checked order by n desc limit 1) as head_hash,
      (select encode(hash, 'hex') from checked where n = ${anchorAt}::bigint) as anchor_hash
    from (select 1) one
    left join lateral (select * from checked where reason is not null order by n limit 1) f on true
  `.execute(db);
  const r = rows[0]!;
  return {
    table: spec.table,
    entries: Number(r.entries),
    intact: r.reason === null,
    firstBrokenAt: r.broken_at === null ? null : Number(r.broken_at),
    firstBrokenEntryId: r.broken_id,
    reason: r.reason,
    headHash: r.head_hash,
    anchorMatches: anchor ? r.anchor_hash === anchor.hash.toLowerCase() : null,
    checkedAt: new Date(),
  };
}
