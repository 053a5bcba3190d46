import { ROLES, type Role } from '../identity/index.js';
import {
  HTTP_ROUTE_ROLES,
  INTERNAL,
  MUTATION_ROLES,
  PUBLIC,
  PERSONAL_DATA_ROLES,
  routeRoles,
  SUBSCRIPTION_ROLES,
  TRAIL_VERIFY_ROLES,
  HELD_JOB_ROLES,
} from './index.js';

/** The fields each class of personal data covers (what the schema's @Authorized decorators name). */
export const PERSONAL_DATA_FIELDS = {
  contact: ['Customer.email', 'Customer.phone', 'Customer.postalAddress'],
  documentContent: ['Document.contentUrl'],
  dataPayload: ['AuditEvent.detail'],
} as const satisfies Record<keyof typeof PERSONAL_DATA_ROLES, readonly string[]>;

const yes = '✓';
const no = '·';

function table(title: string, rows: Array<[string, readonly string[] | typeof PUBLIC]>): string {
  const head = `| ${title} | ${ROLES.map((r) => `\`${r}\``).join(' | ')} |`;
  const rule = `| --- | ${ROLES.map(() => ':---:').join(' | ')} |`;
  const body = rows.map(
    ([name, allowed]) =>
      `| ${name} | ${ROLES.map((r: Role) => (allowed === PUBLIC || allowed.includes(r) ? yes : no)).join(' | ')} |`,
  );
  return [head, rule, ...body].join('\n');
}

/**
 * The role × operation matrix as Markdown, generated from the policy itself
 * (`npm run policy:table`); the README carries this text and a test keeps the
 * two equal, so the documentation cannot drift from what the code enforces.
 */
export function policyTables(): string {
  const mutations = Object.entries(MUTATION_ROLES)
    .filter(([name]) => name !== 'internal')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, roles]): [string, readonly string[]] => [`\`${name}\``, roles]);
  const personal = Object.entries(PERSONAL_DATA_FIELDS).flatMap(([data, fields]) =>
    fields.map((f): [string, readonly string[]] => [
      `${f} (${data})`,
      PERSONAL_DATA_ROLES[data as keyof typeof PERSONAL_DATA_ROLES],
    ]),
  );
  const streams = Object.entries(SUBSCRIPTION_ROLES).map(([name, roles]): [string, readonly string[]] => [
    `\`${name}\``,
    roles,
  ]);
  const queries: Array<[string, readonly string[]]> = [
    ['`caseTrailIntegrity`', TRAIL_VERIFY_ROLES],
    ['`templateTrailIntegrity`', TRAIL_VERIFY_ROLES],
    ['`heldJobs`, `heldJob`', HELD_JOB_ROLES],
  ];
  const routes = (Object.keys(HTTP_ROUTE_ROLES) as (keyof typeof HTTP_ROUTE_ROLES)[]).map(
    (route): [string, readonly string[] | typeof PUBLIC] => [
      `\`${route}\``,
      HTTP_ROUTE_ROLES[route] === PUBLIC ? PUBLIC : routeRoles(route),
    ],
  );
  return [
    table('Mutation', mutations),
    '',
    table('Query (others: every role)', queries),
    '',
    table('Personal data field', personal),
    '',
    table('Subscription', streams),
    '',
    table('HTTP route (outside GraphQL; public: no token needed)', routes),
    '',
    `Other queries and fields are open to every authenticated role. Calls between CommsGraph's own processes (the \`@inaccessible\` internal operations, and personal data needed for delivery) are open to the configured internal service identity only (\`${INTERNAL}\`).`,
  ].join('\n');
}
