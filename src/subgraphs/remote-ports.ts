import type { SubgraphName } from '../config/index.js';
import type { CommunicationsPorts, CustomerProfile } from '../datasources/communications/ports.js';
import { generationOutcome, type WorkflowPorts } from '../datasources/workflow/ports.js';
import { approvalStateOf } from '../datasources/workflow/service.js';
import { upstreamUnavailable, GraphQLErrorWithCode, ErrorCode, isContractCode } from '../errors/index.js';

/**
 * The ports of a subgraph running as its own service: calls to the other
 * subgraphs' GraphQL APIs (public fields, plus the few @inaccessible
 * service-to-service mutations), authenticated as a `service` principal.
 */
export type Call = <T>(
  target: SubgraphName,
  query: string,
  variables?: Record<string, unknown>,
) => Promise<T>;

export function graphqlCaller(
  urls: Partial<Record<SubgraphName, string>>,
  token: () => Promise<string>,
): Call {
  return async <T>(
    target: SubgraphName,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<T> => {
    const url = urls[target];
    if (!url) throw upstreamUnavailable(`No URL configured for subgraph ${target} (SUBGRAPH_URLS)`);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw upstreamUnavailable(`Subgraph ${target} is unavailable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string; reason?: unknown } }[];
    } | null;
    if (!body) throw upstreamUnavailable(`Subgraph ${target} answered ${res.status} without a GraphQL body`);
    const err = body.errors?.[0];
    if (err) {
      // Expected errors keep their code (NOT_FOUND stays NOT_FOUND) and the rule they name;
      // anything else is the upstream's fault.
      const code = err.extensions?.code;
      const reason = err.extensions?.reason;
      if (isContractCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR)
        throw new GraphQLErrorWithCode(err.message, code, typeof reason === 'string' ? { reason } : {});
      throw upstreamUnavailable(`Subgraph ${target} failed: ${err.message}`);
    }
    return body.data as T;
  };
}

export function remoteWorkflowPorts(call: Call): WorkflowPorts {
  return {
    async customer(id) {
      const d = await call<{ customer: { id: string; preferredChannel: string; segments: string[] } | null }>(
        'customers',
        `query ($id: ID!) { customer(id: $id) { id preferredChannel segments } }`,
        { id },
      );
      return d.customer;
    },
    async approvedVersion(templateId) {
      const d = await call<{
        template: {
          id: string;
          documentType: string;
          channels: string[];
          approvedVersion: { id: string } | null;
        } | null;
      }>(
        'communications',
        `query ($id: ID!) { template(id: $id) { id documentType channels approvedVersion { id } } }`,
        {
          id: templateId,
        },
      );
      if (!d.template) return 'NO_TEMPLATE';
      if (!d.template.approvedVersion) return null;
      return {
        templateId,
        documentType: d.template.documentType,
        templateVersionId: d.template.approvedVersion.id,
        channels: d.template.channels,
      };
    },
    async generateForCase(cmd) {
      const d = await call<{ generateForCase: { id: string; status: string } }>(
        'communications',
        `mutation ($input: GenerateForCaseInput!) { generateForCase(input: $input) { id status } }`,
        { input: cmd },
      );
      return generationOutcome(d.generateForCase.id, d.generateForCase.status);
    },
    async document(id) {
      const d = await call<{
        document: { id: string; customerId: string; channel: string; status: string } | null;
      }>('communications', `query ($id: ID!) { document(id: $id) { id customerId channel status } }`, { id });
      return d.document;
    },
    async launchNoticeBatch(cmd) {
      const d = await call<{ launchNoticeBatch: { id: string; total: number } }>(
        'communications',
        `mutation ($input: LaunchNoticeBatchInput!) { launchNoticeBatch(input: $input) { id total } }`,
        { input: cmd },
      );
      return { batchId: d.launchNoticeBatch.id, total: d.launchNoticeBatch.total };
    },
    async reissue(cmd) {
      const d = await call<{ reissueForCase: { id: string; status: string } }>(
        'communications',
        `mutation ($input: ReissueForCaseInput!) { reissueForCase(input: $input) { id status } }`,
        { input: cmd },
      );
      return generationOutcome(d.reissueForCase.id, d.reissueForCase.status);
    },
  };
}

export function remoteCommunicationsPorts(call: Call): CommunicationsPorts {
  return {
    async customers(ids) {
      const d = await call<{
        _entities: (
          null | (Omit<CustomerProfile, 'address'> & { postalAddress: CustomerProfile['address'] })
        )[];
      }>(
        'customers',
        `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Customer {
          id name email phone locale brand segments preferredChannel
          postalAddress { line1 line2 city postcode country } } } }`,
        { reps: ids.map((id) => ({ __typename: 'Customer', id })) },
      );
      return d._entities.map((c) => {
        if (!c) return null;
        const { postalAddress, ...rest } = c;
        const address = postalAddress ? { ...postalAddress, line2: postalAddress.line2 ?? undefined } : null;
        return { ...rest, address };
      });
    },
    async customersInSegments(segments) {
      const ids = new Set<string>();
      for (const segment of segments) {
        let after: string | null = null;
        for (;;) {
          const d: {
            customers: {
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
              edges: { node: { id: string } }[];
            };
          } = await call(
            'customers',
            `query ($segment: String, $after: String) { customers(segment: $segment, first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
            { segment, after },
          );
          for (const e of d.customers.edges) ids.add(e.node.id);
          if (!d.customers.pageInfo.hasNextPage) break;
          after = d.customers.pageInfo.endCursor;
        }
      }
      return [...ids].sort();
    },
    async recordNoticeOutcome(input) {
      await call(
        'workflow',
        `mutation ($input: NoticeOutcomeInput!) { recordNoticeOutcome(input: $input) }`,
        { input },
      );
    },
    async caseApproval(caseId) {
      const d = await call<{
        case: {
          id: string;
          title: string;
          customerId: string | null;
          approvals: { decision: string }[];
        } | null;
      }>('workflow', `query ($id: ID!) { case(id: $id) { id title customerId approvals { decision } } }`, {
        id: caseId,
      });
      if (!d.case) return null;
      const state = approvalStateOf(d.case.approvals.map((x) => x.decision));
      return { caseId, title: d.case.title, customerId: d.case.customerId, state };
    },
    async openExceptionCase(input) {
      const d = await call<{ openExceptionCase: { id: string } }>(
        'workflow',
        `mutation ($input: OpenExceptionCaseInput!) { openExceptionCase(input: $input) { id } }`,
        { input },
      );
      return { caseId: d.openExceptionCase.id };
    },
    async recordExceptionOutcome(input) {
      await call(
        'workflow',
        `mutation ($input: ExceptionOutcomeInput!) { recordExceptionOutcome(input: $input) }`,
        { input },
      );
    },
  };
}
