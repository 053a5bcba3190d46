import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Subscription<T> {
  /** Every payload received so far. */
  readonly received: T[];
  /** Resolves once `predicate` holds for the received payloads, or rejects after `ms`. */
  waitFor(predicate: (received: T[]) => boolean, ms?: number): Promise<T[]>;
  close(): Promise<void>;
}

/** A graphql-ws client as a front end would open one, with the token in connection_init. */
export function wsClient(httpUrl: string, token: string | null): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export async function subscribe<T>(
  httpUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Subscription<T>> {
  const client = wsClient(httpUrl, token);
  const received: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | null = null;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        if (value.data) received.push(value.data as T);
        wake?.();
      },
      error: (err) => {
        errors.push(err);
        wake?.();
      },
      complete: () => wake?.(),
    },
  );
  // Wait until the server acknowledged the connection. The subscription itself is registered
  // a moment later, and an event committed before that is not part of a stream without
  // `after`: a test that needs every event from a point on subscribes `after` the newest
  // eventId (TestGateway.cursor), or after "0" for an entity created after subscribing.
  await new Promise<void>((resolve, reject) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
    const offClosed = client.on('closed', (e) => {
      offClosed();
      reject(new Error(`socket closed: ${(e as { code?: number }).code}`));
    });
  });
  return {
    received,
    async waitFor(predicate, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!predicate(received)) {
        if (errors.length) throw new Error(`subscription error: ${JSON.stringify(errors)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(received).slice(0, 2000)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return received;
    },
    async close() {
      dispose();
      await client.dispose();
    },
  };
}
