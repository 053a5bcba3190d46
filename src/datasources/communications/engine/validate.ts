import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import { MissingDataError, TemplateError } from './errors.js';
import { parseIsoDate } from './format.js';

export interface CompiledSchema {
  /** Throws MissingDataError when `data` does not satisfy the schema. */
  check(data: unknown): void;
  /** Lets ajv drop its own copy of the compiled schema when our cache evicts it. */
  dispose(): void;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function isIsoDate(value: string): boolean {
  try {
    parseIsoDate(value, 'date');
    return /^\d{4}-\d{2}-\d{2}$/.test(value);
  } catch {
    return false;
  }
}

function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describe(errors: ErrorObject[]): { missing: string[]; details: string[] } {
  const missing: string[] = [];
  const details: string[] = [];
  for (const error of errors) {
    let pointer = error.instancePath;
    let detail: string;
    if (error.keyword === 'required') {
      pointer = `${error.instancePath}/${pointerSegment(String(error.params.missingProperty))}`;
      detail = `${pointer} is required`;
    } else if (error.keyword === 'additionalProperties') {
      pointer = `${error.instancePath}/${pointerSegment(String(error.params.additionalProperty))}`;
      detail = `${pointer} is not allowed`;
    } else {
      detail = `${pointer || '(data)'} ${error.message ?? `fails ${error.keyword}`}`;
    }
    if (!missing.includes(pointer || '/')) missing.push(pointer || '/');
    if (!details.includes(detail)) details.push(detail);
  }
  return { missing, details };
}

export interface SchemaCompiler {
  compile(schema: Record<string, unknown>, label: string): CompiledSchema;
}

export function createSchemaCompiler(): SchemaCompiler {
  const ajv = new Ajv2020({
    allErrors: true,
    // ajv's default strictness: unknown keywords and formats fail compilation (reported as a
    // template fault) instead of being ignored, so a typo cannot silently accept any data. The
    // stricter style checks (strictTypes, strictTuples, strictRequired) would reject valid
    // schemas written by template authors, so they stay at ajv's default, warnings only...
    strictSchema: true,
    // ...and those warnings are dropped rather than written to the console.
    logger: false,
  });
  // The formats our templates' data use, defined here rather than pulling in ajv-formats.
  ajv.addFormat('date', isIsoDate);
  ajv.addFormat('date-time', (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);

  return {
    compile(schema, label) {
      // Two versions may carry the same `$id`; ajv refuses a second schema under one id.
      const copy: Record<string, unknown> = { ...schema };
      delete copy.$id;
      let validate: ReturnType<typeof ajv.compile>;
      try {
        validate = ajv.compile(copy);
      } catch (err) {
        throw new TemplateError(`${label}: invalid data schema: ${(err as Error).message}`, { cause: err });
      }
      return {
        check(data) {
          if (validate(data)) return;
          const { missing, details } = describe(validate.errors ?? []);
          throw new MissingDataError(missing, details);
        },
        dispose() {
          ajv.removeSchema(copy);
        },
      };
    },
  };
}
