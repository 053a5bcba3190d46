import type { AuthChecker } from 'type-graphql';
import { forbidden, unauthenticated } from '../errors/index.js';
import type { Config, ServiceScope } from '../config/index.js';
import { ROLES, type Principal, type Role } from '../identity/index.js';
import type { BaseContext } from '../context/index.js';

/**
 * Our own processes calling each other (a subgraph service asking another for
 * a delivery profile, the worker driving batches). They hold the `service`
 * role like any machine client, so the role alone cannot tell them apart: a
 * configured subject does. `@inaccessible` internal operations and personal
 * data needed for delivery are open to them and to nobody else by role.
 */
export const INTERNAL = 'internal';

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
  /** Connected mode: releasing an Exstream job held at a hold step is operations' call (contract, "Runtime monitor"). */
  releaseHeldJob: ['operations'],
  /** Calls between our own processes (@inaccessible: not in the client API); see INTERNAL. */
  internal: [INTERNAL],
} as const satisfies Record<string, readonly (Role | typeof INTERNAL)[]>;

/** Who may read the Exstream jobs held at a hold step and their trail (heldJobs, heldJob). */
export const HELD_JOB_ROLES = ['operations', 'auditor', 'admin'] as const satisfies readonly Role[];

/** Who may run the integrity check of the audit trails (caseTrailIntegrity, templateTrailIntegrity). */
export const TRAIL_VERIFY_ROLES = ['auditor', 'compliance', 'admin'] as const satisfies readonly Role[];

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

/** Anyone may call it, without a token (health probes). */
export const PUBLIC = 'public';

/**
 * Every HTTP route outside GraphQL, and who may call it: the routes answer
 * 401 without a valid token and 403 to a role not listed here, before they
 * look anything up. The notice report is the regulator's file: it is for
 * those who sign notices off, run them and audit them, not for requesters or
 * machine clients. GraphQL's own rules still apply to what the report reads.
 */
export const HTTP_ROUTE_ROLES = {
  'GET /healthz': PUBLIC,
  'GET /readyz': PUBLIC,
  'GET /documents/:id/content': [...PERSONAL_DATA_ROLES.documentContent, INTERNAL],
  'GET /reports/notices/:caseId.csv': ['compliance', 'operations', 'auditor', 'admin'],
  /** Prometheus metrics on the main port (with METRICS_PORT set they are served there, unauthenticated, instead). */
  'GET /metrics': ['operations', 'admin'],
} as const satisfies Record<string, typeof PUBLIC | readonly (Role | typeof INTERNAL)[]>;
export type HttpRoute = keyof typeof HTTP_ROUTE_ROLES;

/** The roles a route names (for messages and the role matrix); empty for a public route. */
export function routeRoles(route: HttpRoute): readonly Role[] {
  const allowed: typeof PUBLIC | readonly string[] = HTTP_ROUTE_ROLES[route];
  return allowed === PUBLIC ? [] : ROLES.filter((r) => allowed.includes(r));
}

/** The subjects `npm run worker` and `npm run subgraph` mint their dev tokens for. */
export const DEV_INTERNAL_SUBJECTS = [
  'worker',
  'subgraph:workflow',
  'subgraph:customers',
  'subgraph:communications',
] as const;

let internalSubjects: ReadonlySet<string> = new Set(DEV_INTERNAL_SUBJECTS);

/**
 * Set once at process start: in `jwks` mode the OAuth client our processes
 * use; in `dev` mode the subjects they mint tokens for.
 */
export function configurePolicy(opts: { internalSubjects: readonly string[] }): void {
  internalSubjects = new Set(opts.internalSubjects);
}

export function isInternal(principal: Pick<Principal, 'sub' | 'roles'> | null): boolean {
  return !!principal && principal.roles.includes('service') && internalSubjects.has(principal.sub);
}

/** Roles (and our own processes) allowed a class of personal data: what the schema's @Authorized names. */
export function readersOf(data: PersonalData): string[] {
  return [...PERSONAL_DATA_ROLES[data], INTERNAL];
}

/** Whether a caller may call an HTTP route outside GraphQL (HTTP_ROUTE_ROLES). */
export function mayCall(principal: Pick<Principal, 'sub' | 'roles'> | null, route: HttpRoute): boolean {
  const allowed: typeof PUBLIC | readonly string[] = HTTP_ROUTE_ROLES[route];
  if (allowed === PUBLIC) return true;
  if (!principal) return false;
  return (
    principal.roles.some((r) => allowed.includes(r)) || (allowed.includes(INTERNAL) && isInternal(principal))
  );
}

/**
 * Who may open which status stream. The check runs again on every event (see
 * `eventAllowed`), together with a service client's scope; personal data
 * inside each event is then held to PERSONAL_DATA_ROLES field by field.
 */
export const SUBSCRIPTION_ROLES = {
  caseUpdated: [
    'requester',
    'reviewer',
    'approver',
    'compliance',
    'operations',
    'service-agent',
    'auditor',
    'admin',
    'service',
  ],
  deadlineAlerted: ['service-agent', 'compliance', 'operations', 'auditor', 'admin', 'service'],
  deliveryStatusChanged: ['service-agent', 'operations', 'compliance', 'auditor', 'admin', 'service'],
  generationExceptionRaised: ['operations', 'compliance', 'auditor', 'admin', 'service'],
  noticeBatchProgress: ['reviewer', 'approver', 'compliance', 'operations', 'auditor', 'admin', 'service'],
  templateUpdated: ['reviewer', 'approver', 'compliance', 'auditor', 'admin'],
  /** Connected mode: Exstream jobs held, released or left their hold; who reads heldJobs (HELD_JOB_ROLES). */
  heldJobUpdated: ['operations', 'auditor', 'admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Stream = keyof typeof SUBSCRIPTION_ROLES;

let serviceScopes: Readonly<Record<string, ServiceScope>> | null = null;

/** Set once at process start from SERVICE_SCOPES. */
export function configureServiceScopes(scopes: Record<string, ServiceScope> | null): void {
  serviceScopes = scopes;
}

/** What an event says about the data it concerns, for scope checks. */
export interface EventFacts {
  channel?: string | null;
  caseKind?: string | null;
  exceptionKind?: string | null;
}

/**
 * Whether this subscriber may receive this event, decided when the event
 * arrives: the token must still be valid, the role must still allow the
 * stream, and a service client only hears about the channels, case kinds and
 * exception kinds its scope names.
 */
export function eventAllowed(
  principal: Principal | null,
  stream: Stream,
  facts: EventFacts,
  now = Date.now(),
): boolean {
  if (!principal) return false;
  if (principal.exp !== undefined && principal.exp * 1000 <= now) return false;
  const roles: readonly Role[] = SUBSCRIPTION_ROLES[stream];
  if (!principal.roles.some((r) => roles.includes(r))) return false;
  return withinScope(principal, stream, facts);
}

/** A subscriber may open the stream at all (checked at subscribe time; `eventAllowed` repeats it per event). */
export function mayOpenStream(principal: Principal | null, stream: Stream): boolean {
  if (!principal) return false;
  const roles: readonly Role[] = SUBSCRIPTION_ROLES[stream];
  if (!principal.roles.some((r) => roles.includes(r))) return false;
  const scope = scopeOf(principal, stream);
  if (scope === 'unrestricted') return true;
  return !!scope && (!scope.subscriptions || scope.subscriptions.includes(stream));
}

/**
 * The scope a caller is held to on a stream. A caller whose other roles open
 * the stream anyway is held to those roles; one who reaches it through the
 * `service` role (alone or beside roles that do not open it) is held to its
 * configured scope, so adding a human role cannot lift a service's scope.
 */
function scopeOf(principal: Principal, stream: Stream): ServiceScope | null | 'unrestricted' {
  if (serviceScopes === null || isInternal(principal) || !principal.roles.includes('service')) {
    return 'unrestricted';
  }
  const roles: readonly Role[] = SUBSCRIPTION_ROLES[stream];
  if (principal.roles.some((r) => r !== 'service' && roles.includes(r))) return 'unrestricted';
  return Object.hasOwn(serviceScopes, principal.sub) ? serviceScopes[principal.sub]! : null;
}

function withinScope(principal: Principal, stream: Stream, facts: EventFacts): boolean {
  const scope = scopeOf(principal, stream);
  if (scope === 'unrestricted') return true;
  if (!scope) return false;
  if (scope.subscriptions && !scope.subscriptions.includes(stream)) return false;
  // A dimension the stream does not carry (no such key) does not apply; one it
  // carries but this event lacks (null) is refused by a scope restricting it.
  const allows = (list: readonly string[] | undefined, key: keyof EventFacts) =>
    !list || !(key in facts) || (facts[key] != null && list.includes(facts[key]));
  return (
    allows(scope.channels, 'channel') &&
    allows(scope.caseKinds, 'caseKind') &&
    allows(scope.exceptionKinds, 'exceptionKind')
  );
}

/**
 * What the read rules in this file look at in a principal, apart from its
 * token's expiry: its roles (`authChecker`, `eventAllowed`, `mayOpenStream`,
 * PERSONAL_DATA_ROLES) and, when it carries `service`, its subject
 * (`isInternal`, a service client's scope in `scopeOf`). Two principals with
 * the same `key` are allowed and refused the same data, field by field and
 * event by event; `principal` is one that stands for all of them, without an
 * expiry (whoever uses it checks each member's own). Equivalent graphql-ws
 * subscriptions share one execution under it (src/gateway/shared-subscriptions.ts):
 * a rule that reads anything else of the principal must be reflected here.
 */
export function readAccess(principal: Principal): { key: string; principal: Principal } {
  const roles = [...new Set(principal.roles)].sort();
  // Without `service`, no rule reads the subject: principals with the same roles read alike.
  const sub = roles.includes('service') ? principal.sub : null;
  return { key: JSON.stringify([roles, sub]), principal: { sub: sub ?? '(shared subscription)', roles } };
}

/**
 * Applies the deployment's settings to the policy; every process calls it once
 * at start. In `jwks` mode our processes authenticate as the configured OAuth
 * client; AUTH_INTERNAL_SUBJECTS names the subject the provider gives its
 * tokens (by default the client id, which most providers use).
 */
export function configurePolicyFrom(config: Pick<Config, 'auth' | 'security'>): void {
  if (config.auth.mode === 'jwks') {
    configurePolicy({ internalSubjects: config.auth.internalSubjects });
  } else {
    configurePolicy({ internalSubjects: [...DEV_INTERNAL_SUBJECTS] });
  }
  configureServiceScopes(config.security.serviceScopes);
}

/** type-graphql's @Authorized: no roles listed means "any authenticated caller"; INTERNAL admits our own processes. */
export const authChecker: AuthChecker<BaseContext, string> = ({ context }, roles) => {
  const principal = context.principal;
  if (!principal) throw unauthenticated();
  // A token the identity provider issued for some other use carries none of
  // our roles: authenticated, but not a CommsGraph user, so it reads nothing.
  if (!principal.roles.length) throw forbidden('The token carries no CommsGraph role');
  if (!roles.length) return true;
  if (roles.some((r) => principal.roles.includes(r as Role))) return true;
  if (roles.includes(INTERNAL) && isInternal(principal)) return true;
  const named = roles.filter((r) => r !== INTERNAL);
  throw forbidden(
    named.length
      ? `Requires one of the roles: ${named.join(', ')}`
      : 'Only CommsGraph services may call this',
  );
};
