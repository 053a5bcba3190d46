/**
 * Connected mode for the flow tests: the OpenText fake (OTDS + Exstream, demo domain) on port 0
 * and a gateway with GENERATION_BACKEND=exstream pointed at it, as `npm run fake:opentext` and
 * `npm start` with the printed settings do on one machine.
 */
import { startTestGateway, type TestGateway } from '../../support/harness.js';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from '../../support/opentext/demo.js';
import { startOpenTextFake, type OpenTextFake } from '../../support/opentext/server.js';

export interface Connected {
  t: TestGateway;
  fake: OpenTextFake;
  stop(): Promise<void>;
}

/** The on-demand route of the demo domain, to count what reached Exstream. */
export const GENERATE_PATH = new RegExp(`^/orchestration/api/v1/inputs/ondemand/${DEMO_DOMAIN}/generate$`);

export async function startConnected(env: Record<string, string> = {}): Promise<Connected> {
  const fake = await startOpenTextFake();
  seedDemo(fake);
  let t: TestGateway;
  try {
    t = await startTestGateway({ ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN), ...env });
  } catch (err) {
    await fake.close();
    throw err;
  }
  return {
    t,
    fake,
    async stop() {
      await t.stop();
      await fake.close();
    },
  };
}

/**
 * The tour's deciders approve every stage of a case in order (reviewer, approver, compliance),
 * each a different person as four-eyes requires. Throws with the errors of a refused decision.
 */
export async function approveStages(t: TestGateway, approvals: readonly { id: string }[]): Promise<void> {
  const deciders = [
    await t.token('rob.reviewer', 'reviewer'),
    await t.token('ann.approver', 'approver'),
    await t.token('carl.compliance', 'compliance'),
  ];
  for (const [i, a] of approvals.entries()) {
    const r = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
    if (r.errors) throw new Error(`stage ${i + 1} refused: ${JSON.stringify(r.errors)}`);
  }
}
