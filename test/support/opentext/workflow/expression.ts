/**
 * The subset of JUEL (Flowable's expression language) that the shipped models use, evaluated the
 * way Flowable does it: `${…}` holes in text, variables by name (an unknown one is an error, as
 * Flowable's "Unknown property used in expression"), `.`/`[]` on JSON values (Flowable's
 * JsonNodeELResolver: an array index past the end is null), `==`, `!=`, `<`, `>`, `<=`, `>=`,
 * `&&`, `||`, `!`, `+`, `-`, `empty`, their word forms, string/number/boolean/null literals, and
 * method calls on `execution` (`setVariable`, `getVariable`, `hasVariable`) and `size()`.
 */

export interface ExpressionScope {
  /** Whether the variable exists; an unknown name is an error, as in Flowable. */
  has(name: string): boolean;
  get(name: string): unknown;
  set(name: string, value: unknown): void;
}

export class ExpressionError extends Error {}

type Token =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'id'; value: string }
  | { kind: 'op'; value: string };

const WORD_OPS: Record<string, string> = {
  and: '&&',
  or: '||',
  not: '!',
  eq: '==',
  ne: '!=',
  lt: '<',
  gt: '>',
  le: '<=',
  ge: '>=',
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'num', value: Number(m[0]) });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < source.length) j += 1;
        value += source[j];
        j += 1;
      }
      if (j >= source.length) throw new ExpressionError(`unterminated string in ${source}`);
      tokens.push({ kind: 'str', value });
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i))!;
      const op = WORD_OPS[m[0]];
      tokens.push(op ? { kind: 'op', value: op } : { kind: 'id', value: m[0] });
      i += m[0].length;
    } else {
      const two = source.slice(i, i + 2);
      if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
        tokens.push({ kind: 'op', value: two });
        i += 2;
      } else if ('<>!+-*/().,[]'.includes(c)) {
        tokens.push({ kind: 'op', value: c });
        i += 1;
      } else {
        throw new ExpressionError(`unexpected '${c}' in ${source}`);
      }
    }
  }
  return tokens;
}

/** A reference: evaluating it reads; calling a method on it needs the base and the name. */
class Evaluator {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly scope: ExpressionScope,
    private readonly source: string,
  ) {}

  run(): unknown {
    const value = this.or();
    if (this.pos < this.tokens.length)
      throw new ExpressionError(`unexpected tokens at the end of ${this.source}`);
    return value;
  }

  private peek(value?: string): boolean {
    const token = this.tokens[this.pos];
    return token !== undefined && token.kind === 'op' && (value === undefined || token.value === value);
  }
  private eat(value: string): boolean {
    if (this.peek(value)) {
      this.pos += 1;
      return true;
    }
    return false;
  }
  private expect(value: string): void {
    if (!this.eat(value)) throw new ExpressionError(`expected '${value}' in ${this.source}`);
  }

  private or(): unknown {
    let left = this.and();
    while (this.eat('||')) {
      const right = this.and();
      left = truthy(left) || truthy(right);
    }
    return left;
  }
  private and(): unknown {
    let left = this.equality();
    while (this.eat('&&')) {
      const right = this.equality();
      left = truthy(left) && truthy(right);
    }
    return left;
  }
  private equality(): unknown {
    let left = this.relational();
    for (;;) {
      if (this.eat('==')) left = equals(left, this.relational());
      else if (this.eat('!=')) left = !equals(left, this.relational());
      else return left;
    }
  }
  private relational(): unknown {
    let left = this.additive();
    for (const op of ['<=', '>=', '<', '>']) {
      if (this.eat(op)) {
        const right = this.additive();
        const [a, b] = [toNumber(left, this.source), toNumber(right, this.source)];
        left = op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
      }
    }
    return left;
  }
  private additive(): unknown {
    let left = this.unary();
    for (;;) {
      if (this.eat('+')) left = toNumber(left, this.source) + toNumber(this.unary(), this.source);
      else if (this.eat('-')) left = toNumber(left, this.source) - toNumber(this.unary(), this.source);
      else return left;
    }
  }
  private unary(): unknown {
    if (this.eat('!')) return !truthy(this.unary());
    if (this.eat('-')) return -toNumber(this.unary(), this.source);
    const token = this.tokens[this.pos];
    if (token?.kind === 'id' && token.value === 'empty') {
      this.pos += 1;
      const value = this.unary();
      return (
        value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)
      );
    }
    return this.postfix();
  }
  private postfix(): unknown {
    let value = this.primary();
    for (;;) {
      if (this.eat('.')) {
        const name = this.tokens[this.pos];
        if (name?.kind !== 'id') throw new ExpressionError(`expected a name after '.' in ${this.source}`);
        this.pos += 1;
        if (this.eat('(')) {
          const args: unknown[] = [];
          if (!this.eat(')')) {
            do args.push(this.or());
            while (this.eat(','));
            this.expect(')');
          }
          value = this.call(value, name.value, args);
        } else {
          value = member(value, name.value);
        }
      } else if (this.eat('[')) {
        const index = this.or();
        this.expect(']');
        value = member(value, index);
      } else {
        return value;
      }
    }
  }
  private primary(): unknown {
    const token = this.tokens[this.pos];
    if (!token) throw new ExpressionError(`unexpected end of ${this.source}`);
    this.pos += 1;
    switch (token.kind) {
      case 'num':
      case 'str':
        return token.value;
      case 'id':
        if (token.value === 'true') return true;
        if (token.value === 'false') return false;
        if (token.value === 'null') return null;
        if (token.value === 'execution') return EXECUTION;
        if (!this.scope.has(token.value)) {
          throw new ExpressionError(`Unknown property used in expression: \${${this.source}}`);
        }
        return this.scope.get(token.value);
      case 'op':
        if (token.value === '(') {
          const value = this.or();
          this.expect(')');
          return value;
        }
        throw new ExpressionError(`unexpected '${token.value}' in ${this.source}`);
    }
  }
  private call(base: unknown, method: string, args: unknown[]): unknown {
    if (base === EXECUTION) {
      if (method === 'setVariable' && typeof args[0] === 'string') {
        this.scope.set(args[0], args[1]);
        return null;
      }
      if (method === 'getVariable' && typeof args[0] === 'string') {
        return this.scope.has(args[0]) ? this.scope.get(args[0]) : null;
      }
      if (method === 'hasVariable' && typeof args[0] === 'string') return this.scope.has(args[0]);
    }
    if (method === 'size' && (Array.isArray(base) || typeof base === 'string')) return base.length;
    throw new ExpressionError(`the fake does not support ${method}() in ${this.source}`);
  }
}

const EXECUTION = Symbol('execution');

function member(base: unknown, property: unknown): unknown {
  if (base === null || base === undefined)
    throw new ExpressionError(`cannot read ${String(property)} of null`);
  if (Array.isArray(base)) {
    const index = Number(property);
    if (!Number.isInteger(index)) return null;
    return (index >= 0 ? base[index] : base[base.length + index]) ?? null;
  }
  if (typeof base === 'object') return (base as Record<string, unknown>)[String(property)] ?? null;
  throw new ExpressionError(`cannot read ${String(property)} of ${typeof base}`);
}

function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value === 'true';
  if (value === null || value === undefined) return false;
  throw new ExpressionError(`not a boolean: ${JSON.stringify(value)}`);
}

function toNumber(value: unknown, source: string): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  throw new ExpressionError(`not a number: ${JSON.stringify(value)} in ${source}`);
}

function equals(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  return String(a) === String(b);
}

/** Evaluates one `${…}` expression (the whole string must be one). */
export function evaluate(expression: string, scope: ExpressionScope): unknown {
  const match = /^\s*\$\{([\s\S]*)\}\s*$/.exec(expression);
  if (!match) return expression; // a literal, as Flowable treats text without ${}
  const source = match[1]!;
  return new Evaluator(tokenize(source), scope, source).run();
}

/** Evaluates a text with `${…}` holes (task names, documentation), each hole as a string. */
export function interpolate(template: string, scope: ExpressionScope): string {
  return template.replace(/\$\{([^}]*)\}/g, (_all, source: string) => {
    const value = new Evaluator(tokenize(source), scope, source).run();
    return value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  });
}

/** A condition of a sequence flow: Flowable needs a boolean (or 'true'/'false'). */
export function condition(expression: string, scope: ExpressionScope): boolean {
  return truthy(evaluate(expression, scope));
}
