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

/** type-graphql's @Authorized: no roles listed means "any authenticated caller". */
export const authChecker: AuthChecker<BaseContext, string> = ({ context }, roles) => {
  const principal = context.principal;
  if (!principal) throw unauthenticated();
  if (roles.length && !roles.some((r) => principal.roles.includes(r as Role))) {
    throw forbidden(`Requires one of the roles: ${roles.join(', ')}`);
  }
  return true;
};
