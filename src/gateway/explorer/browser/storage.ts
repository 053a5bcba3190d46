import type { Storage } from '@graphiql/toolkit';

/** GraphiQL's keys in localStorage all start with this (its StorageAPI's namespace). */
const NAMESPACE = 'graphiql:';

/**
 * A request-headers editor's text with every Authorization value cut back to
 * its scheme (`Bearer `): the shape stays, so a restored history entry shows
 * where the token goes, but no token is kept. Text that is not a JSON object
 * (the editor accepts comments) is dropped whole, as it cannot be checked.
 */
export function withoutTokens(headers: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(headers);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    out[name] = name.toLowerCase() === 'authorization' ? `${String(value).split(/\s+/)[0] ?? ''} ` : value;
  }
  return JSON.stringify(out, null, 2);
}

/** Every `headers` string inside a stored JSON value (history and favourite entries), without tokens. */
function redact(value: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  let changed = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    for (const [key, child] of Object.entries(record)) {
      if (key === 'headers' && typeof child === 'string') {
        record[key] = withoutTokens(child);
        changed = true;
      } else walk(child);
    }
  };
  walk(parsed);
  return changed ? JSON.stringify(parsed) : value;
}

/**
 * localStorage as GraphiQL uses it by default, except that no token is
 * written: GraphiQL leaves headers out of its tabs when told not to persist
 * them, but its query history stores each run's headers as typed, token
 * included, where any script on the origin (or anyone at the desk later)
 * could read it.
 */
export function tokenFreeStorage(store: globalThis.Storage = window.localStorage): Storage {
  const ownKeys = () => Object.keys(store).filter((key) => key.startsWith(NAMESPACE));
  return {
    getItem: (key) => store.getItem(key),
    setItem: (key, value) => store.setItem(key, redact(value)),
    removeItem: (key) => store.removeItem(key),
    get length() {
      return ownKeys().length;
    },
    clear: () => ownKeys().forEach((key) => store.removeItem(key)),
  };
}
