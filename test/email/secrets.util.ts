import { expect } from '@jest/globals';
import { inspect } from 'node:util';

/** Everything a user could print of an error: message, String(), JSON, inspect, and the whole cause chain. */
export function everythingShown(err: unknown, ...extra: unknown[]): string {
  let out = '';
  for (let e: unknown = err, depth = 0; e && depth < 10; e = (e as Error).cause, depth++) {
    out += `${String(e)}\n${(e as Error).stack ?? ''}\n${JSON.stringify(e)}\n`;
  }
  out += inspect(err, { depth: 10, showHidden: true });
  for (const x of extra) out += inspect(x, { depth: 10, showHidden: true }) + JSON.stringify(x);
  return out;
}

/** Asserts that none of `secrets` (nor their base64 forms) shows anywhere in `text`. */
export function expectNoSecret(text: string, secrets: string[]): void {
  for (const s of secrets) {
    expect(text).not.toContain(s);
    expect(text).not.toContain(Buffer.from(s).toString('base64'));
  }
}
