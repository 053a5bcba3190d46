/** The document data does not satisfy the template version's data schema. */
export class MissingDataError extends Error {
  /**
   * JSON pointers (relative to `data`, e.g. `/accountNumber`) of the properties that are
   * missing or hold an invalid value; `details` has one readable line per violation.
   */
  readonly missing: string[];
  readonly details: string[];

  constructor(missing: string[], details: string[]) {
    super(`document data does not match the template's data schema: ${details.join('; ')}`);
    this.name = 'MissingDataError';
    this.missing = missing;
    this.details = details;
  }
}

/** Any fault of the template itself or of rendering it (a data problem is a MissingDataError). */
export class TemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateError';
  }
}

/**
 * The rendering backend cannot be used now (an Exstream outage: timeouts, 5xx, connection
 * errors, an open circuit, a refused service login). Not the record's fault nor the
 * template's: generation keeps the document REQUESTED and tries again later.
 */
export class RenderUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RenderUnavailableError';
  }
}
