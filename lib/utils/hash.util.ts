import { createHash } from 'node:crypto';

/** SHA-256 of `text` as base64url: a fixed-size key part that cannot carry Redis key syntax. */
export function hashKey(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
