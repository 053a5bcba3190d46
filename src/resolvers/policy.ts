import type { AuthChecker } from 'type-graphql';
import { forbidden, unauthenticated } from '../errors/index.js';
import type { Role } from '../identity/index.js';
import type { BaseContext } from '../context/index.js';

/**
 * Who may run which mutation: the one place that says so. Reads need an
 * authenticated caller; field-level rules for personal data come with the
 * security issue. The four-eyes rules are not roles and live in the workflow
 * service, which every entry point goes through.
 */
export const MUTATION_ROLES = {
  /** Narrowed per kind by the workflow service (who may open which kind of case). */
  startCase: ['requester', 'service-agent', 'compliance', 'admin'],
  decideApproval: ['reviewer', 'approver', 'compliance'],
  generateDocument: ['service', 'operations'],
  reissueDocument: ['requester', 'service-agent'],
  authoriseReissue: ['service-agent'],
  assignCase: ['operations', 'admin'],
  reportMilestone: ['service-agent', 'service', 'operations'],
  sendDisputeLetter: ['service-agent'],
  addCaseNote: ['operations', 'service-agent', 'reviewer', 'approver', 'compliance', 'admin'],
  updateCustomerContact: ['service-agent', 'operations'],
  resolveException: ['operations'],
  /** Template authoring (writing and submitting content) is an administrative task. */
  createTemplate: ['admin'],
  editTemplate: ['admin'],
  submitTemplateVersion: ['admin'],
  /** Each stage's role is checked by the lifecycle: approver for APPROVAL, compliance for COMPLIANCE. */
  decideTemplateApproval: ['approver', 'compliance'],
  retireTemplateVersion: ['compliance', 'admin'],
  /** Service-to-service calls between subgraphs (@inaccessible: not in the client API). */
  internal: ['service'],
} as const satisfies Record<string, readonly Role[]>;

/**
 * Personal data: who may read it. Everyone else gets null for the field and a
 * FORBIDDEN error at its path, with the rest of the response intact (the
 * fields are nullable for that reason). Checked in the subgraph that owns the
 * data, so a direct subgraph call is held to the same rule as the gateway.
 *
 * - contact: how to reach the customer (email, phone, postal address). Those
 *   who contact customers or fix failed deliveries to them.
 * - documentContent: the rendered output (download URL and the download
 *   itself). Those who send, fix, review or audit what customers receive.
 * - dataPayload: the data merged into documents and recorded in trails (audit
 *   detail). Those who correct data or audit what was sent.
 */
export const PERSONAL_DATA_ROLES = {
  contact: ['service-agent', 'operations', 'admin'],
  documentContent: ['service-agent', 'operations', 'reviewer', 'approver', 'compliance', 'auditor', 'admin'],
  dataPayload: ['service-agent', 'operations', 'compliance', 'auditor', 'admin'],
} as const satisfies Record<string, readonly Role[]>;
export type PersonalData = keyof typeof PERSONAL_DATA_ROLES;

/** Whether a caller may read one class of personal data (for routes outside GraphQL, such as downloads). */
export function mayRead(principal: { roles: readonly Role[] } | null, data: PersonalData): boolean {
  const allowed: readonly Role[] = PERSONAL_DATA_ROLES[data];
  return !!principal && principal.roles.some((r) => allowed.includes(r));
}

/** type-graphql's @Authorized: no roles listed means "any authenticated caller". */
export const authChecker: AuthChecker<BaseContext, string> = ({ context }, roles) => {
  const principal = context.principal;
  if (!principal) throw unauthenticated();
  if (roles.length && !roles.some((r) => principal.roles.includes(r as Role))) {
    throw forbidden(`Requires one of the roles: ${roles.join(', ')}`);
  }
  return true;
};
