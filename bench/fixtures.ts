/**
 * Data for benchmarks and query-count tests: regulated-document cases that
 * went through all three approvals and had their document generated and
 * delivered, made through the workflow service (the same rules and trail as
 * the API, without an HTTP round trip per step).
 */
import { SEED_TEMPLATES } from '../src/datasources/communications/seed/templates.js';
import type { Principal, Role } from '../src/identity/index.js';
import type { SubgraphSet } from '../src/subgraphs/inprocess.js';

/** The case list page the N+1 issue is about: every row reaches all three subgraphs. */
export const PAGE_QUERY = /* GraphQL */ `
  query Page($first: Int) {
    cases(first: $first, kind: REGULATED_DOCUMENT) {
      edges {
        node {
          id
          title
          status
          customer {
            id
            name
            email
          }
          approvals {
            stage
            decision
            decidedBy
          }
          documents {
            id
            status
            contentHash
            deliveries {
              status
              attempts
            }
          }
        }
      }
    }
  }
`;

export interface PageNode {
  id: string;
  title: string;
  status: string;
  customer: { id: string; name: string; email: string | null } | null;
  approvals: Array<{ stage: string; decision: string; decidedBy: string | null }>;
  documents: Array<{
    id: string;
    status: string;
    contentHash: string | null;
    deliveries: Array<{ status: string; attempts: number }>;
  }>;
}
export interface PageData {
  cases: { edges: Array<{ node: PageNode }> };
}

export interface ApprovedCase {
  caseId: string;
  customerId: string;
  templateId: string;
}

export interface ApprovedCaseOptions {
  /** How many cases; each gets its own customer while there are enough. */
  count: number;
  /** Templates used in turn; every one must support PRINT. */
  templates?: readonly string[];
  /** Distinguishes the people of one batch from another's (four-eyes rules are per person). */
  label?: string;
}

export const DEFAULT_TEMPLATES = ['tpl_billing_notice', 'tpl_account_statement'] as const;

const person = (sub: string, ...roles: Role[]): Principal => ({ sub, roles });

function sampleData(templateId: string): Record<string, unknown> {
  const t = SEED_TEMPLATES.find((x) => x.id === templateId);
  if (!t) throw new Error(`no seed template ${templateId}`);
  if (!t.channels.includes('PRINT')) throw new Error(`template ${templateId} cannot go out on PRINT`);
  return t.sampleData;
}

/**
 * Customers who can receive a letter (they have a postal address), in the
 * customer book's order, so PRINT deliveries succeed instead of opening
 * exception cases.
 */
export async function printableCustomers(subgraphs: SubgraphSet, limit = 100): Promise<string[]> {
  const page = await subgraphs.customers.source.list({ first: Math.min(limit, 100) });
  return page.nodes.filter((c) => c.address != null).map((c) => c.id);
}

/**
 * Starts `count` REGULATED_DOCUMENT cases on PRINT and approves each through
 * REVIEW, APPROVAL and COMPLIANCE by three different people. Generation and
 * delivery then run in the background; call `settleAll` before reading.
 */
export async function createApprovedCases(
  subgraphs: SubgraphSet,
  opts: ApprovedCaseOptions,
): Promise<ApprovedCase[]> {
  const templates = opts.templates ?? DEFAULT_TEMPLATES;
  if (!templates.length) throw new Error('createApprovedCases: no templates');
  const label = opts.label ?? 'bench';
  const requester = person(`${label}.requester`, 'requester');
  const deciders = [
    person(`${label}.reviewer`, 'reviewer'),
    person(`${label}.approver`, 'approver'),
    person(`${label}.compliance`, 'compliance'),
  ];
  const customers = await printableCustomers(subgraphs);
  if (!customers.length) throw new Error('createApprovedCases: no customer has a postal address');
  const wf = subgraphs.workflow.service;

  const made: ApprovedCase[] = [];
  for (let i = 0; i < opts.count; i++) {
    const customerId = customers[i % customers.length]!;
    const templateId = templates[i % templates.length]!;
    const c = await wf.startCase(requester, {
      kind: 'REGULATED_DOCUMENT',
      title: `${label} case ${i + 1} (${templateId})`,
      customerId,
      templateId,
      channel: 'PRINT',
      data: sampleData(templateId),
    });
    const approvals = await wf.approvalsOf(c.id);
    if (approvals.length !== deciders.length)
      throw new Error(`case ${c.id} has ${approvals.length} approval stages, expected 3`);
    for (const [stage, who] of deciders.entries()) {
      await wf.decideApproval(who, { approvalId: approvals[stage]!.id, decision: 'APPROVED', comment: 'ok' });
    }
    made.push({ caseId: c.id, customerId, templateId });
  }
  return made;
}

/** Runs the subgraphs' background work (generation, deliveries) until none is left. */
export async function settleAll(subgraphs: SubgraphSet): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await subgraphs.settle();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Settles, then stops the background loops (command relays, delivery
 * worker). They poll the store on timers, so while they run the store's query
 * counter also counts their polls, not only the statements of the request
 * being measured. Reads keep working; nothing generates or delivers after.
 */
export async function quiesce(subgraphs: SubgraphSet): Promise<void> {
  await settleAll(subgraphs);
  await Promise.all(subgraphs.all.map((s) => s.stop()));
}
