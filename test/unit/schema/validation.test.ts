import {
  GraphQLEnumType,
  GraphQLError,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  parseValue,
  type GraphQLInputType,
} from 'graphql';
// Registers the input classes' rules (the decorators run when the classes are defined).
import '../../../src/schema/communications/types.js';
import '../../../src/schema/customers/types.js';
import '../../../src/schema/workflow/types.js';
import { JSONScalar } from '../../../src/schema/shared/index.js';
import { checkArgument, DEFAULTS, LIMITS } from '../../../src/schema/shared/validation.js';
import { EMAIL_ADDRESS, ID_FORMAT, jsonProblem, PHONE, textProblem } from '../../../src/validation/index.js';

describe('textProblem', () => {
  it('counts length, refuses blank when a minimum is set', () => {
    expect(textProblem('a'.repeat(200), { max: 200 })).toBeNull();
    expect(textProblem('a'.repeat(201), { max: 200 })).toBe('at most 200 characters');
    expect(textProblem('  \n ', { max: 10, min: 1, multiline: true })).toBe('must not be blank');
    expect(textProblem('', { max: 10 })).toBeNull();
  });

  it('allows newline and tab only in free text, and never other control characters', () => {
    expect(textProblem('line 1\nline 2\twith tab\r\n', { max: 100, multiline: true })).toBeNull();
    expect(textProblem('line 1\nline 2', { max: 100 })).toMatch(/U\+000A .*one line/);
    for (const c of ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085']) {
      expect(textProblem(`a${c}b`, { max: 100, multiline: true })).toMatch(/control character U\+00/);
    }
    expect(textProblem('a\u2028b', { max: 100 })).toMatch(/U\+2028/);
  });

  it('refuses broken Unicode but not astral characters', () => {
    expect(textProblem('ok 😀 Łódź', { max: 100 })).toBeNull();
    expect(textProblem('bad \ud800 half', { max: 100 })).toMatch(/lone surrogate/);
    expect(textProblem('bad \udc00', { max: 100 })).toMatch(/lone surrogate/);
  });
});

describe('formats', () => {
  it('ids: ours, and nothing a database or a path could misread', () => {
    for (const id of [
      'cus_001',
      'case_4f1c2a9e-8b7d-4c1e-9f00-1a2b3c4d5e6f',
      'tpl_claim_letter_v2',
      '1234',
    ]) {
      expect(ID_FORMAT.test(id)).toBe(true);
    }
    for (const id of ['', 'a'.repeat(101), '../etc', 'cus 1', "cus_1'--", 'x\u0000', 'doc%2F1', 'a.b']) {
      expect(ID_FORMAT.test(id)).toBe(false);
    }
  });

  it('emails the outbox can deliver to', () => {
    for (const e of ['a@example.com', 'first.last+tag@sub.example.co.uk', "o'brien@example.ie"]) {
      expect(EMAIL_ADDRESS.test(e)).toBe(true);
    }
    for (const e of [
      'not-an-email',
      'a@b',
      'a b@example.com',
      'a@example.com\r\nBcc: x@evil.example',
      '"Eve" <eve@example.com>',
      'a<b>@example.com',
      `${'a'.repeat(65)}@example.com`,
      'a@-example.com',
    ]) {
      expect(EMAIL_ADDRESS.test(e)).toBe(false);
    }
  });

  it('phones in international format', () => {
    expect(PHONE.test('+44 7700 900123')).toBe(true);
    expect(PHONE.test('+48601234567')).toBe(true);
    for (const p of [
      '07700 900123',
      '+0 123 4567',
      '+44 7700 900123\n',
      '+44-7700',
      '+4477009001234567890123',
    ]) {
      expect(PHONE.test(p)).toBe(false);
    }
  });
});

describe('jsonProblem', () => {
  const limits = { maxBytes: 1000, maxDepth: 3 };

  it('accepts plain JSON within the limits', () => {
    expect(jsonProblem({ a: [1, 'two', { b: null }], c: true, note: 'multi\nline' }, limits)).toBeNull();
    expect(jsonProblem(Object.assign(Object.create(null) as object, { a: 1 }), limits)).toBeNull();
  });

  it('measures depth in nested objects and arrays, and stops walking there', () => {
    expect(jsonProblem({ a: [{ b: 1 }] }, limits)).toBeNull();
    expect(jsonProblem({ a: [{ b: [1] }] }, limits)).toEqual({
      path: '.a[0].b',
      message: 'nested deeper than 3 levels',
    });
    // Far deeper than any stack: the walk gives up at the limit instead of recursing on.
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonProblem(deep, { maxBytes: 10, maxDepth: 64 })?.message).toBe('nested deeper than 64 levels');
  });

  it('measures size as UTF-8 JSON', () => {
    // {"s":"..."} is 8 bytes around the string.
    expect(jsonProblem({ s: 'x'.repeat(992) }, limits)).toBeNull();
    expect(jsonProblem({ s: 'x'.repeat(995) }, limits)?.message).toMatch(/^at most 1000 bytes/);
    expect(jsonProblem({ s: 'ż'.repeat(497) }, limits)?.message).toMatch(/^at most 1000 bytes/);
  });

  it('refuses prototype keys wherever they are, with their path', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const value = JSON.parse(`{"ok": {"list": [{"${key}": {"polluted": true}}]}}`) as unknown;
      expect(jsonProblem(value, { maxBytes: 1000, maxDepth: 10 })).toEqual({
        path: `.ok.list[0].${key}`,
        message: `the key "${key}" is not allowed (__proto__, constructor, prototype)`,
      });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what is not JSON: non-plain objects, NaN, functions, control characters, broken Unicode', () => {
    expect(jsonProblem({ when: new Date(0) }, limits)).toEqual({
      path: '.when',
      message: 'not a plain JSON object',
    });
    expect(jsonProblem({ n: NaN }, limits)?.message).toBe('not a JSON number');
    expect(jsonProblem({ f: () => 1 }, limits)?.message).toBe('not a JSON value (function)');
    expect(jsonProblem({ s: 'a\u0000b' }, limits)?.message).toMatch(/U\+0000/);
    expect(jsonProblem({ 'a\u0000': 1 }, limits)).toEqual({
      path: '["a\\u0000"]',
      message: expect.stringMatching(/^key: control character U\+0000/),
    });
    expect(jsonProblem({ s: '\ud83d' }, limits)?.message).toMatch(/lone surrogate/);
    expect(jsonProblem([1], { ...limits, object: true })?.message).toBe('must be a JSON object');
  });

  it('checks only the shape when asked (the scalar ceiling)', () => {
    expect(
      jsonProblem({ __proto__x: 1, constructor: 'x', s: '\u0000' }, limits, { shapeOnly: true }),
    ).toBeNull();
    expect(jsonProblem({ a: { b: { c: { d: 1 } } } }, limits, { shapeOnly: true })?.message).toBe(
      'nested deeper than 3 levels',
    );
  });
});

describe('the JSON scalar', () => {
  it('passes plain JSON through', () => {
    expect(JSONScalar.parseValue({ a: [1, { b: 'c' }] })).toEqual({ a: [1, { b: 'c' }] });
    expect(JSONScalar.parseLiteral(parseValue('{a: [1, {b: "c"}]}'), {})).toEqual({ a: [1, { b: 'c' }] });
  });

  it('refuses over-deep, oversized and non-plain values with BAD_USER_INPUT', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    for (const bad of [deep, { s: 'x'.repeat(1024 * 1024) }, { when: new Date(0) }]) {
      let err: unknown;
      try {
        JSONScalar.parseValue(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GraphQLError);
      expect((err as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('checkArgument: the rules of the input classes, by GraphQL type', () => {
  const JSON = JSONScalar;
  const Channel = new GraphQLEnumType({
    name: 'Channel',
    values: { PRINT: {}, EMAIL: {}, WEB: {}, MOBILE: {} },
  });
  const StartCaseInput = new GraphQLInputObjectType({
    name: 'StartCaseInput',
    fields: {
      title: { type: new GraphQLNonNull(GraphQLString) },
      customerId: { type: GraphQLID },
      channelOverrideReason: { type: GraphQLString },
      data: { type: JSON },
    },
  });
  const CreateTemplateInput = new GraphQLInputObjectType({
    name: 'CreateTemplateInput',
    fields: {
      name: { type: new GraphQLNonNull(GraphQLString) },
      documentType: { type: new GraphQLNonNull(GraphQLString) },
      channels: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Channel))) },
      content: { type: JSON },
    },
  });
  const UpdateCustomerContactInput = new GraphQLInputObjectType({
    name: 'UpdateCustomerContactInput',
    fields: {
      customerId: { type: GraphQLID },
      email: { type: GraphQLString },
      phone: { type: GraphQLString },
    },
  });
  const LaunchNoticeBatchInput = new GraphQLInputObjectType({
    name: 'LaunchNoticeBatchInput',
    fields: { segments: { type: new GraphQLList(GraphQLString) } },
  });

  const refusal = (type: GraphQLInputType, value: unknown, name = 'input') => {
    try {
      checkArgument(name, type, value);
    } catch (err) {
      expect(err).toBeInstanceOf(GraphQLError);
      const e = err as GraphQLError;
      return { code: e.extensions.code, field: e.extensions.field, message: e.message };
    }
    return null;
  };

  it('accepts a good input', () => {
    expect(
      refusal(StartCaseInput, { title: 'Claim letter', customerId: 'cus_001', data: { amount: 12.5 } }),
    ).toBeNull();
  });

  it.each([
    [{ title: 'x'.repeat(LIMITS.title + 1) }, 'input.title', /at most 200 characters/],
    [{ title: ' ' }, 'input.title', /must not be blank/],
    [{ title: 'a\nb' }, 'input.title', /one line/],
    [
      { title: 'ok', channelOverrideReason: 'line 1\nline 2\u0007' },
      'input.channelOverrideReason',
      /U\+0007/,
    ],
    [{ title: 'ok', customerId: 'cus_1; drop' }, 'input.customerId', /an id/],
    [{ title: 'ok', data: [1] }, 'input.data', /must be a JSON object/],
    [
      { title: 'ok', data: { items: [{ constructor: 1 }] } },
      'input.data.items[0].constructor',
      /not allowed/,
    ],
    [{ title: 'ok', data: { s: 'x'.repeat(70_000) } }, 'input.data', /at most 65536 bytes/],
  ])('StartCaseInput %j is refused at %s', (value, field, message) => {
    expect(refusal(StartCaseInput, value)).toEqual({
      code: 'BAD_USER_INPUT',
      field,
      message: expect.stringMatching(message),
    });
    expect(refusal(StartCaseInput, value)?.message.startsWith(`${field}: `)).toBe(true);
  });

  it('multi-line text keeps newlines and tabs', () => {
    expect(
      refusal(StartCaseInput, { title: 'ok', channelOverrideReason: 'Customer asked:\n\tby phone' }),
    ).toBeNull();
  });

  it('template inputs: document type pattern, channel count, content limits', () => {
    const base = { name: 'Letter', documentType: 'claim_letter', channels: ['PRINT'], content: { sms: 'x' } };
    expect(refusal(CreateTemplateInput, base)).toBeNull();
    expect(refusal(CreateTemplateInput, { ...base, documentType: 'Bad Type' })?.field).toBe(
      'input.documentType',
    );
    expect(refusal(CreateTemplateInput, { ...base, channels: [] })).toMatchObject({
      field: 'input.channels',
      message: 'input.channels: 1 to 4 items',
    });
    expect(refusal(CreateTemplateInput, { ...base, content: { sms: 'x'.repeat(300 * 1024) } })?.field).toBe(
      'input.content',
    );
  });

  it('contact inputs: email and phone formats', () => {
    expect(refusal(UpdateCustomerContactInput, { customerId: 'cus_1', email: 'a@example.com' })).toBeNull();
    expect(
      refusal(UpdateCustomerContactInput, { customerId: 'cus_1', email: 'a@example.com\r\nBcc: x@y.z' }),
    ).toMatchObject({ field: 'input.email' });
    expect(refusal(UpdateCustomerContactInput, { customerId: 'cus_1', email: 'not-an-email' })).toMatchObject(
      {
        field: 'input.email',
        message: 'input.email: an email address such as name@example.com',
      },
    );
    expect(refusal(UpdateCustomerContactInput, { customerId: 'cus_1', phone: '07700' })?.field).toBe(
      'input.phone',
    );
  });

  it('list items get the field rules and their index in the path', () => {
    expect(refusal(LaunchNoticeBatchInput, { segments: ['savings', ''] })?.field).toBe('input.segments[1]');
    expect(refusal(LaunchNoticeBatchInput, { segments: ['x'.repeat(61)] })?.field).toBe('input.segments[0]');
  });

  it('arguments without rules get the defaults: one-line strings, our ids, bounded lists and JSON', () => {
    expect(refusal(GraphQLString, 'x'.repeat(DEFAULTS.string.max + 1), 'segment')?.field).toBe('segment');
    expect(refusal(GraphQLString, 'a\u0000', 'after')?.field).toBe('after');
    expect(refusal(GraphQLID, '../../etc/passwd', 'id')).toMatchObject({
      field: 'id',
      code: 'BAD_USER_INPUT',
    });
    expect(refusal(new GraphQLList(GraphQLID), new Array(DEFAULTS.listMax + 1).fill('a'), 'ids')?.field).toBe(
      'ids',
    );
    let deep: unknown = 1;
    for (let i = 0; i < DEFAULTS.json.maxDepth + 1; i++) deep = [deep];
    expect(refusal(JSON, deep, 'detail')?.message).toMatch(/nested deeper than 12 levels/);
  });
});
