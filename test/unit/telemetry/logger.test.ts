import { configureLogger, log, withRequestLog, bindRequestLog } from '../../../src/logger.js';

/** Runs `fn` with stderr (where the logger writes) captured; returns the JSON lines. */
function capture(fn: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return lines
    .join('')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeEach(() => configureLogger({ level: 'debug', name: 'test-proc' }));
afterAll(() => configureLogger({ level: 'info' }));

test('one JSON line per entry with time, level, process and message', () => {
  const [entry, ...rest] = capture(() => log.info('hello', { n: 1 }));
  expect(rest).toEqual([]);
  expect(entry).toMatchObject({ level: 'info', proc: 'test-proc', msg: 'hello', n: 1 });
  expect(new Date(entry!.t as string).toISOString()).toBe(entry!.t);
});

test('below the level nothing is written', () => {
  configureLogger({ level: 'warn' });
  expect(
    capture(() => {
      log.info('quiet');
      log.warn('loud');
    }).map((e) => e.msg),
  ).toEqual(['loud']);
});

test('an error is logged whole: message, stack and cause', () => {
  const [entry] = capture(() =>
    log.error('failed', {
      err: new Error('outer', { cause: new Error('inner') }),
      other: new TypeError('x'),
    }),
  );
  const err = entry!.err as { message: string; stack: string };
  expect(err.message).toContain('outer');
  expect(err.stack).toMatch(/at /);
  expect(JSON.stringify(entry)).toContain('inner');
  expect(entry!.other).toMatchObject({ type: 'TypeError', message: 'x' });
});

test('tokens, secrets and personal data are redacted by path', () => {
  const [entry] = capture(() =>
    log.warn('call', {
      authorization: 'Bearer abc.def.ghi',
      headers: { authorization: 'Bearer abc.def.ghi', accept: 'text/html' },
      customer: {
        id: 'cus_001',
        name: 'Oliver Bennett',
        email: 'oliver@example.com',
        phone: '+44 7700 900101',
      },
      clientSecret: 's3cret',
      document: { content: 'Dear Oliver' },
      variables: { input: { email: 'x@example.com' } },
    }),
  );
  const text = JSON.stringify(entry);
  for (const secret of [
    'abc.def.ghi',
    'Oliver Bennett',
    'oliver@example.com',
    '7700',
    's3cret',
    'Dear Oliver',
    'x@example.com',
  ])
    expect(text).not.toContain(secret);
  // What is not personal stays readable.
  expect(entry).toMatchObject({ headers: { accept: 'text/html' }, customer: { id: 'cus_001' } });
});

test('a request gets a child logger: every line inside it carries its requestId and operation name', async () => {
  const lines = capture(() => {
    withRequestLog({ requestId: 'req-1' }, () => {
      log.info('first');
      bindRequestLog({ operationName: 'CaseDetail' });
      log.info('second');
    });
    log.info('outside');
  });
  expect(lines.map((l) => [l.msg, l.requestId, l.operationName])).toEqual([
    ['first', 'req-1', undefined],
    ['second', 'req-1', 'CaseDetail'],
    ['outside', undefined, undefined],
  ]);
});
