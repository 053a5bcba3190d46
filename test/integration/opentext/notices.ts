import { sql } from 'kysely';
/** A mandatory notice signed off through the graph, and its report, for the connected-mode batch tests. */
import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import { waitUntil, type TestGateway } from '../../support/harness.js';
import { approveStages } from './connected.js';

export interface NoticeReport {
  status: string;
  history: { actor: string; action: string; detail: Record<string, unknown> }[];
  noticeBatch: {
    id: string;
    status: string;
    total: number;
    generated: number;
    failed: number;
    delivered: number;
    deliveryFailed: number;
    counts: { channel: string; documentStatus: string; deliveryStatus: string | null; count: number }[];
    openExceptions: { kind: string; message: string }[];
  } | null;
}

const REPORT = `query ($id: ID!) { case(id: $id) {
  status
  history { actor action detail }
  noticeBatch {
    id status total generated failed delivered deliveryFailed
    counts { channel documentStatus deliveryStatus count }
    openExceptions { kind message }
  }
} }`;

export async function noticeReport(t: TestGateway, caseId: string): Promise<NoticeReport> {
  const r = await t.gql<{ case: NoticeReport }>(
    REPORT,
    { id: caseId },
    await t.token('audrey.auditor', 'auditor'),
  );
  return r.data!.case;
}

/** Starts a rate change notice and signs it off (review, approval, compliance); returns the case id. */
export async function signOffNotice(
  t: TestGateway,
  title: string,
  segments: string[],
  channels: string[],
): Promise<string> {
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'MANDATORY_NOTICE',
        title,
        templateId: 'tpl_rate_change_notice',
        data: {
          segments,
          channels,
          ...SEED_TEMPLATES.find((x) => x.id === 'tpl_rate_change_notice')!.sampleData,
        },
      },
    },
    await t.token('lena.compliance', 'compliance'),
  );
  if (started.errors) throw new Error(JSON.stringify(started.errors));
  await approveStages(t, started.data!.startCase.approvals);
  return started.data!.startCase.id;
}

/** Waits until the notice's case is RESOLVED (its batch COMPLETED and the outcome recorded). */
export async function noticeResolved(t: TestGateway, caseId: string, ms = 240_000): Promise<NoticeReport> {
  let last: NoticeReport | null = null;
  await waitUntil(async () => {
    last = await noticeReport(t, caseId);
    return last.status === 'RESOLVED' && last.noticeBatch?.status === 'COMPLETED';
  }, Date.now() + ms);
  return last!;
}

/** A batch's documents, the distinct (customer, channel) pairs they are for, and their deliveries. */
export async function batchDocumentCounts(
  t: TestGateway,
  batchId: string,
): Promise<{ docs: string; pairs: string; deliveries: string }> {
  const { rows } = await sql<{ docs: string; pairs: string; deliveries: string }>`
    select count(*)::text as docs, count(distinct (d.customer_id, d.channel))::text as pairs,
      (select count(*) from communications.deliveries x join communications.documents y on y.id = x.document_id
        where y.batch_id = ${batchId})::text as deliveries
    from communications.documents d where d.batch_id = ${batchId}`.execute(t.gateway.store!.db);
  return rows[0]!;
}
