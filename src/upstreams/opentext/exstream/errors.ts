/**
 * Exstream's considered answers that the graph handles (not outages: those are
 * UpstreamUnavailableError).
 */

/** Why a generation failed: the graph maps the first two to the exception kinds of the same name. */
export type GenerationFailureKind =
  /** The driver document lacks or has bad data: the record's fault (`MISSING_DATA`). */
  | 'MISSING_DATA'
  /** The communication failed in the engine: its author's fault (`TEMPLATE_ERROR`). */
  | 'TEMPLATE_ERROR'
  /** The communication or its driver data source is not there (deleted, not approved, wrong id). */
  | 'UNKNOWN_COMMUNICATION'
  /** Any other refusal of the request (a bad header, an output type the communication lacks). */
  | 'REJECTED';

export class ExstreamGenerationError extends Error {
  constructor(
    readonly kind: GenerationFailureKind,
    message: string,
    readonly status: number,
    /** `statusCode` of the error envelope (a string in Exstream's answer). */
    readonly engineStatusCode?: string,
    readonly engineOutputContext?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ExstreamGenerationError';
  }
}

/** The failure classes of a design state change (api-reference §5.4); `other` when none is named. */
export type DesignFailure =
  | 'invalidStateForUpdate'
  | 'resourceLocked'
  | 'permissionDenied'
  | 'notAllChildrenApproved'
  | 'workflowException'
  | 'domainNotFound'
  | 'notFound'
  | 'other';

export class ExstreamDesignError extends Error {
  constructor(
    readonly reason: DesignFailure,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ExstreamDesignError';
  }
}

export class ExstreamRuntimeError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ExstreamRuntimeError';
  }
}
