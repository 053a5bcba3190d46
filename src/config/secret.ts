import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret setting (an OAuth client secret). It prints as `[redacted]` however it is printed:
 * string interpolation, `JSON.stringify` (a config object put in a log line), `util.inspect`
 * (console.log, a logged error's fields), so one careless log statement cannot leak it. Only the
 * code that sends it to its endpoint calls `reveal()`.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
