import { createHash } from 'node:crypto';
import type { RenderedPart } from './types.js';

/**
 * SHA-256 over the parts sorted by name. Name and length are framed in so that moving bytes
 * from one part to another, or renaming a part, changes the hash.
 */
export function contentHashOf(parts: RenderedPart[]): string {
  // Code-unit order, not localeCompare: the hash must not depend on the process locale.
  const sorted = [...parts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const part of sorted) {
    hash.update(`${part.name}\0${part.body.byteLength}\0`, 'utf8');
    hash.update(part.body);
  }
  return hash.digest('hex');
}
