import { Kysely, sql } from 'kysely';
import { DEFAULT_MIGRATION_TABLE, Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

/**
 * The one set of migrations, for PGlite and PostgreSQL alike. Each subgraph's
 * tables live in its own schema; the migrator's own tables live in `public`.
 * Kysely's Postgres adapter takes an advisory lock while migrating, so several
 * replicas starting at once do not race.
 */
// Migrations are schema-agnostic by nature: they receive a Kysely of unknown shape.
type AnyDB = Kysely<unknown>;

function outbox(schema: string) {
  return sql`
    create table ${sql.raw(schema)}.events (
      id bigserial primary key,
      topic text not null,
      payload jsonb not null,
      occurred_at timestamptz(3) not null default now()
    );
    create index on ${sql.raw(schema)}.events (topic, id);
  `;
}

function commands(schema: string) {
  return sql`
    create table ${sql.raw(schema)}.commands (
      id bigserial primary key,
      kind text not null,
      payload jsonb not null,
      created_at timestamptz(3) not null default now(),
      attempts int not null default 0,
      last_error text,
      done_at timestamptz(3),
      next_attempt_at timestamptz(3) not null default now()
    );
    create index on ${sql.raw(schema)}.commands (next_attempt_at) where done_at is null;
  `;
}

const m001_workflow: Migration = {
  async up(db: AnyDB) {
    await sql`create schema if not exists workflow`.execute(db);
    await sql`
      create table workflow.cases (
        id text primary key,
        kind text not null,
        status text not null,
        title text not null,
        customer_id text,
        template_id text,
        template_version_id text,
        channel text,
        data jsonb,
        started_by text not null,
        assigned_team text,
        assignee text,
        due_at timestamptz(3),
        subject jsonb,
        idempotency_key text unique,
        resolution text,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );
      create index on workflow.cases (customer_id, created_at, id);
      create index on workflow.cases (kind, status, created_at, id);
      create table workflow.approvals (
        id text primary key,
        case_id text not null references workflow.cases(id),
        stage text not null,
        seq int not null,
        decision text not null,
        decided_by text,
        decided_at timestamptz(3),
        comment text,
        unique (case_id, stage)
      );
      create table workflow.tasks (
        id text primary key,
        case_id text not null references workflow.cases(id),
        approval_id text references workflow.approvals(id),
        kind text not null,
        role text not null,
        team text,
        assignee text,
        status text not null,
        due_at timestamptz(3),
        created_at timestamptz(3) not null default now(),
        completed_at timestamptz(3)
      );
      create index on workflow.tasks (case_id);
      create table workflow.audit_events (
        id bigserial primary key,
        case_id text not null references workflow.cases(id),
        at timestamptz(3) not null default now(),
        actor text not null,
        action text not null,
        detail jsonb
      );
      create index on workflow.audit_events (case_id, id);
    `.execute(db);
    await outbox('workflow').execute(db);
    await commands('workflow').execute(db);
  },
};

const m002_customers: Migration = {
  async up(db: AnyDB) {
    await sql`create schema if not exists customers`.execute(db);
    await sql`
      create table customers.customers (
        id text primary key,
        name text not null,
        email text,
        phone text,
        address jsonb,
        preferred_channel text not null,
        segments text[] not null default '{}',
        locale text not null,
        brand text not null,
        created_at timestamptz(3) not null default now()
      );
      create index on customers.customers using gin (segments);
    `.execute(db);
    await outbox('customers').execute(db);
  },
};

const m003_communications: Migration = {
  async up(db: AnyDB) {
    await sql`create schema if not exists communications`.execute(db);
    await sql`
      create table communications.templates (
        id text primary key,
        name text not null,
        document_type text not null,
        channels text[] not null,
        created_at timestamptz(3) not null default now()
      );
      create table communications.template_versions (
        id text primary key,
        template_id text not null references communications.templates(id),
        version int not null,
        status text not null,
        content jsonb not null,
        data_schema jsonb not null,
        content_hash text not null,
        approved_by text,
        approved_at timestamptz(3),
        created_by text not null,
        created_at timestamptz(3) not null default now(),
        unique (template_id, version)
      );
      create table communications.documents (
        id text primary key,
        status text not null,
        channel text not null,
        customer_id text not null,
        case_id text,
        template_version_id text not null references communications.template_versions(id),
        snapshot jsonb not null,
        content_hash text,
        media_type text,
        reissue_of text references communications.documents(id),
        idempotency_key text unique,
        requested_by text not null,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );
      create index on communications.documents (customer_id, created_at, id);
      create index on communications.documents (case_id);
      create table communications.document_parts (
        document_id text not null references communications.documents(id),
        name text not null,
        media_type text not null,
        body bytea not null,
        primary key (document_id, name)
      );
      create table communications.deliveries (
        id text primary key,
        document_id text not null references communications.documents(id),
        channel text not null,
        status text not null,
        attempts int not null default 0,
        address text,
        location text,
        last_error text,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );
      create index on communications.deliveries (document_id);
      create index on communications.deliveries (status) where status in ('PENDING', 'SENT');
      create table communications.exceptions (
        id text primary key,
        kind text not null,
        status text not null,
        message text not null,
        document_id text references communications.documents(id),
        delivery_id text references communications.deliveries(id),
        case_id text,
        resolution text,
        resolved_by text,
        resolved_at timestamptz(3),
        retry_document_id text,
        retry_delivery_id text,
        created_at timestamptz(3) not null default now()
      );
      create index on communications.exceptions (document_id);
      create index on communications.exceptions (case_id);
    `.execute(db);
    await outbox('communications').execute(db);
    await commands('communications').execute(db);
  },
};

/** Template content lifecycle: approvals bound to a content hash, and the template's trail. */
const m004_template_lifecycle: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table communications.template_approvals (
        id text primary key,
        version_id text not null references communications.template_versions(id),
        round int not null,
        stage text not null,
        seq int not null,
        decision text not null,
        decided_by text,
        decided_at timestamptz(3),
        comment text,
        content_hash text not null,
        unique (version_id, round, stage)
      );
      create table communications.template_audit (
        id bigserial primary key,
        template_id text not null references communications.templates(id),
        version_id text references communications.template_versions(id),
        at timestamptz(3) not null default now(),
        actor text not null,
        action text not null,
        detail jsonb
      );
      create index on communications.template_audit (template_id, id);
      alter table communications.template_versions add column review_round int not null default 0;
    `.execute(db);
  },
};

/** Milestones of SERVICE cases: one row per milestone, so a repeated report sends nothing twice. */
const m005_case_milestones: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table workflow.case_milestones (
        case_id text not null references workflow.cases(id),
        milestone text not null,
        reached_at timestamptz(3) not null default now(),
        reported_by text not null,
        template_id text,
        document_id text,
        primary key (case_id, milestone)
      );
    `.execute(db);
  },
};

/** Response deadlines of disputes, each alerted at most once per level. */
const m006_case_deadlines: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table workflow.case_deadlines (
        case_id text not null references workflow.cases(id),
        kind text not null,
        due_at timestamptz(3) not null,
        met_at timestamptz(3),
        alerted text,
        primary key (case_id, kind)
      );
      create index on workflow.case_deadlines (due_at) where met_at is null;
    `.execute(db);
  },
};

/** Mandatory notices to customer segments: one batch per case, its documents tagged with it. */
const m007_notice_batches: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table communications.notice_batches (
        id text primary key,
        case_id text not null unique,
        template_version_id text not null references communications.template_versions(id),
        segments text[] not null,
        channels text[] not null,
        data jsonb not null,
        requested_by text not null,
        status text not null,
        total int not null,
        enqueued_at timestamptz(3),
        created_at timestamptz(3) not null default now(),
        finished_at timestamptz(3)
      );
      alter table communications.documents add column batch_id text references communications.notice_batches(id);
      create index on communications.documents (batch_id, status) where batch_id is not null;
    `.execute(db);
  },
};

/**
 * Tamper-evident trails (issue 4, point 8): the case trail and the template
 * trail are append-only in the database itself, and each entry carries the
 * hash of the one before it. Kept self-contained: later migrations must not
 * change what this one did, and the verifier (src/store/trail.ts) recomputes
 * the same canonical text on its own rather than trusting these functions.
 *
 * The chain is filled in by a DEFERRED constraint trigger, i.e. at commit,
 * not by a BEFORE INSERT trigger: the lock that serialises appends is then
 * held only while committing. Taken at insert time it would be held for the
 * rest of the transaction, so a transaction that appends and then locks a
 * case (runLaunchNotice: trail entry, then the status update) would deadlock
 * with one that locks the case and then appends (addCaseNote). Chain order is
 * therefore commit order (`seq`), which may differ from `id` order.
 */
function trailChain(o: {
  schema: string;
  table: string;
  /** Second key of pg_advisory_xact_lock(int, int); one chain, one lock, per table. */
  lockKey: number;
  /** The row's content columns, in hash order, as SQL over the row `e` (timestamps in a fixed format). */
  content: string;
}) {
  const t = `${o.schema}.${o.table}`;
  const fn = (name: string) => sql.raw(`${o.schema}.${o.table}_${name}`);
  const tbl = sql.raw(t);
  const rowType = sql.raw(t);
  const genesis = sql.raw(`sha256(convert_to('${t}', 'UTF8'))`);
  return sql`
    alter table ${tbl}
      add column seq bigint,
      add column prev_hash bytea,
      add column hash bytea;

    -- The canonical text of an entry: a JSON array, so no field can run into the next;
    -- detail as its jsonb text (SQL null and JSON null differ); timestamps in UTC to the microsecond.
    create function ${fn('entry_text')}(e ${rowType}, seq bigint) returns text
      language sql stable
      set search_path = pg_catalog, pg_temp
      as $fn$ select jsonb_build_array(seq, ${sql.raw(o.content)})::text $fn$;

    -- Existing entries, oldest first, before the guards below exist.
    do $do$
    declare
      r ${rowType};
      n bigint := 0;
      h bytea := ${genesis};
      nh bytea;
    begin
      for r in select * from ${tbl} order by id loop
        n := n + 1;
        nh := sha256(h || convert_to(${fn('entry_text')}(r, n), 'UTF8'));
        update ${tbl} set seq = n, prev_hash = h, hash = nh where id = r.id;
        h := nh;
      end loop;
    end
    $do$;
    create unique index on ${tbl} (seq);

    -- Whatever an insert says about the chain is ignored: the commit-time trigger decides.
    create function ${fn('chain_reset')}() returns trigger language plpgsql as $fn$
    begin
      NEW.seq := null;
      NEW.prev_hash := null;
      NEW.hash := null;
      return NEW;
    end
    $fn$;

    -- At commit: next position, previous hash, this entry's hash. SECURITY DEFINER so that
    -- the application's role needs only INSERT and SELECT on the table.
    create function ${fn('chain_append')}() returns trigger
      language plpgsql security definer
      set search_path = pg_catalog, pg_temp
      as $fn$
    declare
      last_seq bigint;
      last_hash bytea;
      next_seq bigint;
      prev bytea;
    begin
      perform pg_advisory_xact_lock(1096107092, ${sql.raw(String(o.lockKey))});
      -- A statement after the lock: under READ COMMITTED it sees every chain committed before.
      select seq, hash into last_seq, last_hash from ${tbl}
        where seq is not null order by seq desc limit 1;
      next_seq := coalesce(last_seq, 0) + 1;
      prev := coalesce(last_hash, ${genesis});
      update ${tbl}
        set seq = next_seq,
            prev_hash = prev,
            hash = sha256(prev || convert_to(${fn('entry_text')}(NEW, next_seq), 'UTF8'))
        where id = NEW.id;
      return null;
    end
    $fn$;

    -- Append-only. The one update let through is chain_append filling in the chain of an
    -- entry not yet chained (only ever the committing transaction's own), content unchanged.
    create function ${fn('refuse_change')}() returns trigger language plpgsql as $fn$
    begin
      if TG_OP = 'UPDATE' then
        if pg_trigger_depth() > 1 and OLD.hash is null and OLD.seq is null
          and (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
        then
          return NEW;
        end if;
      end if;
      raise exception '% is append-only: % refused', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP
        using errcode = 'insufficient_privilege',
              hint = 'Audit trail entries are never changed or removed; append a correcting entry instead.';
    end
    $fn$;

    create trigger trail_chain_reset before insert on ${tbl}
      for each row execute function ${fn('chain_reset')}();
    create constraint trigger trail_chain_append after insert on ${tbl}
      deferrable initially deferred
      for each row execute function ${fn('chain_append')}();
    create trigger trail_append_only before update or delete on ${tbl}
      for each row execute function ${fn('refuse_change')}();
    create trigger trail_no_truncate before truncate on ${tbl}
      for each statement execute function ${fn('refuse_change')}();
  `;
}

const TRAIL_TIME = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

const m008_trail_chains: Migration = {
  async up(db: AnyDB) {
    await trailChain({
      schema: 'workflow',
      table: 'audit_events',
      lockKey: 1,
      content: `e.id, e.case_id, to_char(e.at at time zone 'UTC', ${TRAIL_TIME}), e.actor, e.action, e.detail::text`,
    }).execute(db);
    await trailChain({
      schema: 'communications',
      table: 'template_audit',
      lockKey: 2,
      content: `e.id, e.template_id, e.version_id, to_char(e.at at time zone 'UTC', ${TRAIL_TIME}), e.actor, e.action, e.detail::text`,
    }).execute(db);
  },
};

/**
 * Issue 9: idempotency keys are scoped to their caller and bound to the request
 * they were first used with, and an exception's resolution is claimed before its
 * retry is made. Keys written before this migration get the scope they had in
 * practice: the gateway's own command keys (`case:`, `milestone:`, `reissue:`,
 * `dispute:`, `batch:`, `retry:`, and the demo seeder's `demo:`) the system scope, every other key its
 * requester's; their request hash stays null (unknown, so not compared).
 */
const m009_idempotency_scopes: Migration = {
  async up(db: AnyDB) {
    await sql`
      alter table communications.documents
        add column idempotency_scope text,
        add column request_hash text;
      update communications.documents
        set idempotency_scope = case
          when idempotency_key ~ '^(case|milestone|reissue|dispute|batch|retry|demo):' then 'system'
          else 'caller:' || requested_by end
        where idempotency_key is not null;
      alter table communications.documents drop constraint documents_idempotency_key_key;
      create unique index documents_idempotency_scope_key
        on communications.documents (idempotency_scope, idempotency_key);
      alter table communications.exceptions add column claim jsonb;
    `.execute(db);
  },
};

/**
 * Issue 10: the template catalogue mirrored from Exstream Design (GENERATION_BACKEND=exstream).
 * What Exstream last said of each communication (`exstrapplication` resource), each DAS version
 * and its STATE history, so that reads never wait on Exstream and a refresh fetches only what
 * changed. The graph's own template tables carry the projection (src/datasources/communications/
 * catalogue); these tables are the upstream's side. Empty in the embedded mode.
 */
const m010_exstream_catalogue: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table communications.exstream_resources (
        resource_id text primary key references communications.templates(id),
        name text not null,
        channels text[] not null,
        communication_set_id text,
        driver_data_source text,
        -- false once the resource is no longer listed in the domain: hidden from the catalogue.
        present boolean not null default true,
        refreshed_at timestamptz(3) not null default now()
      );
      create table communications.exstream_versions (
        resource_id text not null references communications.exstream_resources(resource_id),
        version int not null,
        state text not null,
        last_modified_by text,
        -- As Exstream gives it: a version whose date and state did not move is not fetched again.
        last_modified_date text,
        content_hash text not null,
        refreshed_at timestamptz(3) not null default now(),
        primary key (resource_id, version)
      );
      create table communications.exstream_history (
        resource_id text not null references communications.exstream_resources(resource_id),
        seq int not null,
        version int,
        state text,
        operation text,
        modified_by text,
        modified_at timestamptz(3),
        audited_comment text,
        primary key (resource_id, seq)
      );
    `.execute(db);
  },
};

/**
 * Issue 12: each event keeps the W3C traceparent of the change that wrote it (null with tracing
 * off), so the span of each subscription delivery links to the trace of its cause.
 */
const m012_event_traceparent: Migration = {
  async up(db: AnyDB) {
    await sql`
      alter table workflow.events add column traceparent text;
      alter table customers.events add column traceparent text;
      alter table communications.events add column traceparent text;
    `.execute(db);
  },
};

/**
 * Issue 10, the Exstream runtime monitor (src/datasources/communications/runtime-jobs.ts). An
 * `error` runtime job gets one exception: its job id is unique on the exceptions, written in the
 * same transaction as the command that opens its case, so no restart or second replica makes a
 * second one. `holding` jobs are mirrored in `held_jobs` (reads work while Exstream is down), with
 * a hash-chained trail of who released what and why. `runtime_monitor` keeps each domain's
 * watermark: the last complete poll and the last failure.
 */
const m011_exstream_runtime_monitor: Migration = {
  async up(db: AnyDB) {
    await sql`
      alter table communications.exceptions
        add column job_id text unique,
        add column external_id text;
      create table communications.held_jobs (
        job_id text primary key,
        domain text not null,
        external_id text,
        status text not null,
        held_since timestamptz(3) not null,
        steps jsonb not null default '[]',
        released_by text,
        released_at timestamptz(3),
        release_comment text,
        release_claim jsonb,
        seen_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );
      create index on communications.held_jobs (status, held_since);
      create table communications.held_job_audit (
        id bigserial primary key,
        job_id text not null references communications.held_jobs(job_id),
        at timestamptz(3) not null default now(),
        actor text not null,
        action text not null,
        detail jsonb
      );
      create index on communications.held_job_audit (job_id, id);
      create table communications.runtime_monitor (
        domain text primary key,
        polled_at timestamptz(3),
        window_start timestamptz(3),
        last_error text,
        last_error_at timestamptz(3),
        updated_at timestamptz(3) not null default now()
      );
    `.execute(db);
    await trailChain({
      schema: 'communications',
      table: 'held_job_audit',
      lockKey: 11,
      content: `e.id, e.job_id, to_char(e.at at time zone 'UTC', ${TRAIL_TIME}), e.actor, e.action, e.detail::text`,
    }).execute(db);
  },
};

/**
 * Connected workflow (issue 11): a case's Workflow Service process and the tasks behind its
 * stages. The case itself (id, kind, status, trail) stays in workflow.cases; these only map it.
 */
const m013_workflow_service_links: Migration = {
  async up(db) {
    await sql`
      create table workflow.process_links (
        case_id text primary key references workflow.cases(id),
        process_definition_key text not null,
        process_instance_id text not null unique,
        linked_at timestamptz not null default now()
      );
      create table workflow.task_links (
        task_id text primary key,
        case_id text not null references workflow.cases(id),
        task_key text not null,
        approval_id text references workflow.approvals(id),
        assignee text,
        outcome text,
        completed_at timestamptz
      );
      create index task_links_case on workflow.task_links (case_id);
    `.execute(db);
  },
};

/**
 * Connected mode (Exstream): a reissue whose on-demand output no longer matches the original
 * delivers the archived original bytes; the document says so (what Exstream gave, and why it
 * was not used), so the case trail can tell it and no hash is claimed that was not got.
 */
const m014_document_output_note: Migration = {
  async up(db) {
    await sql`alter table communications.documents add column output_note jsonb`.execute(db);
  },
};

/**
 * Issue 11, connected Workflow Service: the poller that applies decisions made in OpenText's own
 * task UI. Its watermarks (one per history feed) and the completed tasks and finished processes it
 * has applied, each recorded in the same transaction as what it applied, so a completion is applied
 * once across restarts and replicas.
 */
const m015_workflow_service_poller: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table workflow.otws_watermarks (
        feed text primary key,
        watermark timestamptz(3) not null,
        updated_at timestamptz(3) not null default now()
      );
      create table workflow.otws_applied_tasks (
        task_id text primary key,
        case_id text not null references workflow.cases (id),
        task_key text not null,
        assignee text,
        outcome text,
        result text not null,
        completed_at timestamptz(3),
        applied_at timestamptz(3) not null default now()
      );
      create index on workflow.otws_applied_tasks (case_id);
      create table workflow.otws_finished_processes (
        process_instance_id text primary key,
        case_id text not null references workflow.cases (id),
        end_activity_id text,
        delete_reason text,
        ended_at timestamptz(3),
        applied_at timestamptz(3) not null default now()
      );
    `.execute(db);
  },
};

/**
 * Issue 13: how many documents a batch has, kept on its row in the transaction
 * that inserts each one (see `NoticeBatches.afterRecord`), so telling whether
 * every record has its document reads one row instead of counting the batch's
 * documents after every record (a batch was quadratic in its size).
 */
const m016_batch_document_count: Migration = {
  async up(db: AnyDB) {
    await sql`
      alter table communications.notice_batches add column documents integer not null default 0;
      update communications.notice_batches b
        set documents = (select count(*) from communications.documents d where d.batch_id = b.id);
    `.execute(db);
  },
};

/**
 * Issue 13: a batch's progress counts (documents by channel, status and latest delivery's
 * status: `batchProgress`) kept as counters, moved by the statement that changes a document
 * or a delivery of the batch, in its transaction, instead of counted over the whole batch
 * for every progress event's snapshot (which grew with the batch). Triggers, so every path
 * that writes documents or deliveries (generation, retries, the delivery worker, resends)
 * keeps them without knowing of them. A delivery's document and its place in the order
 * (created_at, id) never change, so a delivery update moves its document's count only when
 * it is the latest; a new one takes over from the latest before it. Counters that fell to
 * zero stay (read as absent).
 */
const upsertMoves = sql.raw(`
  insert into communications.batch_counts as c (batch_id, channel, document_status, delivery_status, count)
    select batch_id, channel, document_status, delivery_status, sum(n)::integer from (
        select batch_id, channel, was_status as document_status, was_delivery as delivery_status, -1 as n
          from moved where was_status is not null
        union all
        select batch_id, channel, now_status, now_delivery, 1 from moved
      ) m
      group by 1, 2, 3, 4 having sum(n) <> 0
      order by 1, 2, 3, 4
    on conflict (batch_id, channel, document_status, delivery_status)
      do update set count = c.count + excluded.count`);

const m017_batch_counts: Migration = {
  async up(db: AnyDB) {
    await sql`
      create table communications.batch_counts (
        batch_id text not null references communications.notice_batches(id),
        channel text not null,
        document_status text not null,
        -- '' while the document has no delivery (a primary key column cannot be null).
        delivery_status text not null,
        count integer not null,
        primary key (batch_id, channel, document_status, delivery_status)
      );

      -- The latest delivery's status of a document ('' for none), as batchProgress orders them.
      create function communications.latest_delivery_status(doc text) returns text
        language sql stable
        set search_path = pg_catalog, pg_temp
        as $fn$
          select coalesce((select x.status from communications.deliveries x where x.document_id = doc
                           order by x.created_at desc, x.id desc limit 1), '')
        $fn$;

      -- Each branch: the documents whose count moves ("moved": batch, channel, document status,
      -- delivery status before and after), then one upsert of the sums, in key order.
      create function communications.batch_counts_move() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $fn$
        begin
          if TG_TABLE_NAME = 'documents' and TG_OP = 'INSERT' then
            -- A new document has no delivery yet (a delivery refers to its document).
            with moved as (
              select d.batch_id, d.channel, null::text as was_status, d.status as now_status,
                     null::text as was_delivery, '' as now_delivery
                from new_rows d where d.batch_id is not null
            ) ${upsertMoves};
          elsif TG_TABLE_NAME = 'documents' then
            with moved as (
              select o.batch_id, o.channel, o.status as was_status, n.status as now_status,
                     communications.latest_delivery_status(n.id) as was_delivery,
                     communications.latest_delivery_status(n.id) as now_delivery
                from old_rows o join new_rows n on n.id = o.id
                where o.batch_id is not null and o.status <> n.status
            ) ${upsertMoves};
          else
            -- Deliveries inserted. Per document: its latest delivery before this statement (none of
            -- its new rows), and now.
            with moved as (
              select d.batch_id, d.channel, d.status as was_status, d.status as now_status, m.was_delivery,
                     m.now_delivery
                from (select distinct document_id from new_rows) x
                join communications.documents d on d.id = x.document_id
                cross join lateral (
                  select coalesce((select y.status from communications.deliveries y
                                   where y.document_id = d.id and y.id not in (select id from new_rows)
                                   order by y.created_at desc, y.id desc limit 1), '') as was_delivery,
                         communications.latest_delivery_status(d.id) as now_delivery
                ) m
                where d.batch_id is not null and m.was_delivery <> m.now_delivery
            ) ${upsertMoves};
          end if;
          return null;
        end
        $fn$;

      create trigger batch_counts_documents_insert after insert on communications.documents
        referencing new table as new_rows
        for each statement execute function communications.batch_counts_move();
      create trigger batch_counts_documents_update after update on communications.documents
        referencing old table as old_rows new table as new_rows
        for each statement execute function communications.batch_counts_move();
      create trigger batch_counts_deliveries_insert after insert on communications.deliveries
        referencing new table as new_rows
        for each statement execute function communications.batch_counts_move();
      -- A delivery's status moves one row at a time (the delivery worker's steps), so this one
      -- is a row trigger, run only when the status changed: as a statement trigger with
      -- transition tables it cost about 28 ms of CPU per document over a batch's deliveries on
      -- the embedded store (bench:batch, 2,000 documents: 52 ms to the batch's end against 24 ms
      -- with this one). It moves its document's count when it is the document's latest delivery.
      create function communications.batch_counts_delivery_moved() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $fn$
        declare
          d record;
        begin
          select x.batch_id, x.channel, x.status into d
            from communications.documents x where x.id = new.document_id;
          if d.batch_id is null then
            return null;
          end if;
          if exists (select 1 from communications.deliveries y
                      where y.document_id = new.document_id
                        and (y.created_at, y.id) > (new.created_at, new.id)) then
            return null;
          end if;
          insert into communications.batch_counts as c (batch_id, channel, document_status, delivery_status, count)
            select d.batch_id, d.channel, d.status, v.s, v.n
              from (values (old.status, -1), (new.status, 1)) as v(s, n)
              order by v.s
            on conflict (batch_id, channel, document_status, delivery_status)
              do update set count = c.count + excluded.count;
          return null;
        end
        $fn$;
      create trigger batch_counts_deliveries_update after update of status on communications.deliveries
        for each row when (old.status is distinct from new.status)
        execute function communications.batch_counts_delivery_moved();

      -- The batches there are, counted once.
      insert into communications.batch_counts (batch_id, channel, document_status, delivery_status, count)
        select d.batch_id, d.channel, d.status, communications.latest_delivery_status(d.id), count(*)
          from communications.documents d where d.batch_id is not null
          group by 1, 2, 3, 4;
    `.execute(db);
  },
};

/**
 * Issue 13: migration 017's counters striped by the writing connection (`slot`, its backend's
 * pid), so that writers on PostgreSQL stop queueing on them. With one row per (batch, channel,
 * statuses), every transaction generating a batch's documents and every delivery pass held the
 * same few rows from its first insert to its commit: the batch's writers ran one at a time
 * (bench:batch on PostgreSQL sampled pg_stat_activity: most active backends waited on a
 * `transactionid` lock at the documents and deliveries inserts, 49.6 documents/s), and a delivery
 * pass and a generating set locking them in opposite orders deadlocked (40P01). A backend runs
 * one transaction at a time, so no two open transactions share a slot; a count is the sum over
 * slots (`batchProgress`), and one slot's row may go below zero (a document counted by one
 * connection, its delivery moved by another). Rows per batch stay bounded by the connections
 * that wrote it, not its size. The embedded store has one backend: one slot, as before.
 */
const upsertSlottedMoves = sql.raw(`
  insert into communications.batch_counts as c (batch_id, channel, document_status, delivery_status, slot, count)
    select batch_id, channel, document_status, delivery_status, pg_backend_pid(), sum(n)::integer from (
        select batch_id, channel, was_status as document_status, was_delivery as delivery_status, -1 as n
          from moved where was_status is not null
        union all
        select batch_id, channel, now_status, now_delivery, 1 from moved
      ) m
      group by 1, 2, 3, 4 having sum(n) <> 0
      order by 1, 2, 3, 4
    on conflict (batch_id, channel, document_status, delivery_status, slot)
      do update set count = c.count + excluded.count`);

const m018_batch_counts_slots: Migration = {
  async up(db: AnyDB) {
    await sql`
      alter table communications.batch_counts add column slot integer not null default 0;
      alter table communications.batch_counts drop constraint batch_counts_pkey;
      alter table communications.batch_counts
        add primary key (batch_id, channel, document_status, delivery_status, slot);

      create or replace function communications.batch_counts_move() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $fn$
        begin
          if TG_TABLE_NAME = 'documents' and TG_OP = 'INSERT' then
            with moved as (
              select d.batch_id, d.channel, null::text as was_status, d.status as now_status,
                     null::text as was_delivery, '' as now_delivery
                from new_rows d where d.batch_id is not null
            ) ${upsertSlottedMoves};
          elsif TG_TABLE_NAME = 'documents' then
            with moved as (
              select o.batch_id, o.channel, o.status as was_status, n.status as now_status,
                     communications.latest_delivery_status(n.id) as was_delivery,
                     communications.latest_delivery_status(n.id) as now_delivery
                from old_rows o join new_rows n on n.id = o.id
                where o.batch_id is not null and o.status <> n.status
            ) ${upsertSlottedMoves};
          else
            with moved as (
              select d.batch_id, d.channel, d.status as was_status, d.status as now_status, m.was_delivery,
                     m.now_delivery
                from (select distinct document_id from new_rows) x
                join communications.documents d on d.id = x.document_id
                cross join lateral (
                  select coalesce((select y.status from communications.deliveries y
                                   where y.document_id = d.id and y.id not in (select id from new_rows)
                                   order by y.created_at desc, y.id desc limit 1), '') as was_delivery,
                         communications.latest_delivery_status(d.id) as now_delivery
                ) m
                where d.batch_id is not null and m.was_delivery <> m.now_delivery
            ) ${upsertSlottedMoves};
          end if;
          return null;
        end
        $fn$;

      create or replace function communications.batch_counts_delivery_moved() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $fn$
        declare
          d record;
        begin
          select x.batch_id, x.channel, x.status into d
            from communications.documents x where x.id = new.document_id;
          if d.batch_id is null then
            return null;
          end if;
          if exists (select 1 from communications.deliveries y
                      where y.document_id = new.document_id
                        and (y.created_at, y.id) > (new.created_at, new.id)) then
            return null;
          end if;
          insert into communications.batch_counts as c
              (batch_id, channel, document_status, delivery_status, slot, count)
            select d.batch_id, d.channel, d.status, v.s, pg_backend_pid(), v.n
              from (values (old.status, -1), (new.status, 1)) as v(s, n)
              order by v.s
            on conflict (batch_id, channel, document_status, delivery_status, slot)
              do update set count = c.count + excluded.count;
          return null;
        end
        $fn$;
    `.execute(db);
  },
};

/**
 * Issue 13: a document's parts are stored as they are, without PostgreSQL's TOAST compression
 * (pglz). They are PDFs with deflated streams, e-mail and web bodies already small: pglz ran over
 * each part on every insert only to store it uncompressed in the end (it needs a 25 % saving),
 * and on the embedded store that ran on the event-loop thread. `EXTERNAL` still moves large
 * values out of line; it changes how rows written from now on are stored, not what they hold.
 */
const m019_document_parts_uncompressed: Migration = {
  async up(db: AnyDB) {
    await sql`alter table communications.document_parts alter column body set storage external`.execute(db);
  },
};

/**
 * Issue 13: a delivery pass's status moves counted once per statement, not once per delivery.
 * The pass moves up to a page of deliveries in one update (delivery.ts), and 017's row trigger
 * upserted the same two or three counter rows once for each of them: every upsert in the
 * transaction wrote another version of rows the transaction had already written, which nothing
 * can prune before it commits. On the embedded store (no autovacuum) the counters' pages filled
 * with versions and each upsert walked them: the pass's update took 22.6 ms for about 30
 * deliveries, most of it in this trigger (bench:batch, BENCH_STATEMENTS=1; EXPLAIN ANALYZE of a
 * pass on a 1,000-statement batch's store: 30–120 ms in the trigger, 2–3 ms in everything else).
 * This statement trigger sums the moves first, as 017 does for inserts. What it counts is
 * unchanged: a delivery moves its document's count only when it is the document's latest one
 * (017's rule), and only when its status changed. A transition table cannot go with a column
 * list (`update of status`), so it runs after every update of deliveries and finds nothing to do
 * when no status moved. 017's note on why it was a row trigger dates from when each delivery
 * moved in its own statement.
 */
const m020_batch_counts_delivery_statements: Migration = {
  async up(db: AnyDB) {
    await sql`
      drop trigger batch_counts_deliveries_update on communications.deliveries;
      drop function communications.batch_counts_delivery_moved();

      create function communications.batch_counts_deliveries_moved() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $fn$
        begin
          with moved as (
            select d.batch_id, d.channel, d.status as was_status, d.status as now_status,
                   o.status as was_delivery, n.status as now_delivery
              from old_rows o
              join new_rows n on n.id = o.id
              join communications.documents d on d.id = n.document_id
             where o.status is distinct from n.status
               and d.batch_id is not null
               and not exists (select 1 from communications.deliveries y
                                where y.document_id = n.document_id
                                  and (y.created_at, y.id) > (n.created_at, n.id))
          ) ${upsertSlottedMoves};
          return null;
        end
        $fn$;
      create trigger batch_counts_deliveries_update after update on communications.deliveries
        referencing old table as old_rows new table as new_rows
        for each statement execute function communications.batch_counts_deliveries_moved();
    `.execute(db);
  },
};

export const migrations: Record<string, Migration> = {
  '001_workflow': m001_workflow,
  '002_customers': m002_customers,
  '003_communications': m003_communications,
  '004_template_lifecycle': m004_template_lifecycle,
  '005_case_milestones': m005_case_milestones,
  '006_case_deadlines': m006_case_deadlines,
  '007_notice_batches': m007_notice_batches,
  '008_trail_chains': m008_trail_chains,
  '009_idempotency_scopes': m009_idempotency_scopes,
  '010_exstream_catalogue': m010_exstream_catalogue,
  '011_exstream_runtime_monitor': m011_exstream_runtime_monitor,
  '012_event_traceparent': m012_event_traceparent,
  '013_workflow_service_links': m013_workflow_service_links,
  '014_document_output_note': m014_document_output_note,
  '015_workflow_service_poller': m015_workflow_service_poller,
  '016_batch_document_count': m016_batch_document_count,
  '017_batch_counts': m017_batch_counts,
  '018_batch_counts_slots': m018_batch_counts_slots,
  '019_document_parts_uncompressed': m019_document_parts_uncompressed,
  '020_batch_counts_delivery_statements': m020_batch_counts_delivery_statements,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Whether exactly these migrations have run, read in one query: a start on a current store skips
 * the migrator, whose catalogue introspection and lock cost a second on PGlite (issue 13, item 4).
 * Anything else (no migrator table yet, one missing, one this build does not know, an error) is
 * the migrator's to handle or to report, as before.
 */
async function isCurrent(db: Kysely<unknown>): Promise<boolean> {
  try {
    const { rows } = await sql<{
      name: string;
    }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db);
    const names = Object.keys(migrations);
    const done = new Set(rows.map((r) => r.name));
    return done.size === names.length && names.every((n) => done.has(n));
  } catch {
    return false;
  }
}

export async function migrate(db: Kysely<unknown>): Promise<void> {
  if (await isCurrent(db)) return;
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
