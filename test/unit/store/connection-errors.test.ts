import net from 'node:net';
import { GraphQLError } from 'graphql';
import pg from 'pg';
import { maskError } from '../../../src/gateway/errors.js';
import { isConnectionError } from '../../../src/store/connection-errors.js';

/**
 * Which failures are the database being away (retry later, HTTP 503) and which are a statement
 * gone wrong. The examples are what node-postgres and PostgreSQL really say: SQLSTATEs from
 * PostgreSQL's errcodes table, node-postgres's own messages, and, for the socket cases, errors
 * a real pg.Client raises against a closed port and a server that hangs up.
 */
const withCode = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    [
      '57P01 admin_shutdown (pg_terminate_backend)',
      withCode('57P01', 'terminating connection due to administrator command'),
    ],
    [
      '57P02 crash_shutdown',
      withCode('57P02', 'terminating connection because of crash of another server process'),
    ],
    ['57P03 cannot_connect_now', withCode('57P03', 'the database system is starting up')],
    ['08006 connection_failure', withCode('08006', 'connection failure')],
    ['08001 sqlclient_unable_to_establish_sqlconnection', withCode('08001', 'could not connect')],
    ['08P01 protocol_violation', withCode('08P01', 'protocol violation')],
    ['ECONNRESET', withCode('ECONNRESET', 'read ECONNRESET')],
    ['EPIPE', withCode('EPIPE', 'write EPIPE')],
    ['ETIMEDOUT', withCode('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.5:5432')],
    ['the socket closed mid-query', new Error('Connection terminated unexpectedly')],
    ['the client ended mid-query', new Error('Connection terminated')],
    [
      'a client whose connection already failed',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['the pool timed out connecting', new Error('timeout exceeded when trying to connect')],
  ])('%s is the database being away', (_what, err) => {
    expect(isConnectionError(err)).toBe(true);
  });

  it.each([
    [
      '23505 unique_violation',
      withCode('23505', 'duplicate key value violates unique constraint "cases_pkey"'),
    ],
    ['40001 serialization_failure', withCode('40001', 'could not serialize access due to concurrent update')],
    ['42P01 undefined_table', withCode('42P01', 'relation "workflow.nope" does not exist')],
    ['57014 query_canceled', withCode('57014', 'canceling statement due to statement timeout')],
    ['a plain error', new Error('boom')],
    ['a message that only mentions connections', new Error('customer has no Connection terminated flag')],
    ['a string', 'Connection terminated'],
    ['nothing', null],
  ])('%s is not', (_what, err) => {
    expect(isConnectionError(err)).toBe(false);
  });

  it('looks through GraphQL errors, causes and aggregates', () => {
    const dropped = withCode('57P01', 'terminating connection due to administrator command');
    expect(isConnectionError(new GraphQLError('outer', { originalError: dropped }))).toBe(true);
    expect(isConnectionError(new Error('wrapped', { cause: dropped }))).toBe(true);
    expect(isConnectionError(new AggregateError([new Error('boom'), dropped], '2 of 9 records failed'))).toBe(
      true,
    );
    expect(isConnectionError(new AggregateError([new Error('boom')], '1 of 9 records failed'))).toBe(false);
  });

  it('a real pg.Client refused by a closed port, and one the server hangs up on', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = new pg.Client({ host: '127.0.0.1', port, user: 'x', database: 'x' });
    const refusal = await refused.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect((refusal as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isConnectionError(refusal)).toBe(true);

    const rude = net.createServer((socket) => socket.destroy());
    await new Promise<void>((r) => rude.listen(0, '127.0.0.1', r));
    try {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: (rude.address() as net.AddressInfo).port,
        user: 'x',
        database: 'x',
      });
      const hungUp = await client.connect().then(
        () => null,
        (e: unknown) => e,
      );
      expect(hungUp).toBeInstanceOf(Error);
      expect(isConnectionError(hungUp)).toBe(true);
    } finally {
      await new Promise<void>((r) => rude.close(() => r()));
    }
  });
});

describe('a request the dropped connection broke', () => {
  it('reaches the client as UPSTREAM_UNAVAILABLE with a reason and a retry delay, not masked as internal', () => {
    const dropped = withCode('57P01', 'terminating connection due to administrator command');
    const err = new GraphQLError('terminating connection due to administrator command', {
      path: ['startCase'],
      originalError: dropped,
    });
    expect(maskError(err.toJSON(), err)).toEqual({
      message: 'The database is unavailable; try again shortly',
      path: ['startCase'],
      locations: undefined,
      extensions: { code: 'UPSTREAM_UNAVAILABLE', reason: 'DATABASE_UNAVAILABLE', retryAfter: 2 },
    });
  });

  it('an error that is not the connection stays masked', () => {
    const err = new GraphQLError('duplicate key', {
      path: ['startCase'],
      originalError: withCode('23505', 'duplicate key value violates unique constraint "cases_pkey"'),
    });
    expect(maskError(err.toJSON(), err).extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });
});
