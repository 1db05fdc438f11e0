/** @internal Replaces every secret in `text` with `***`, and masks anything shaped like an Authorization value. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 3) out = out.split(secret).join('***');
  return out.replace(/\b(Bearer|Basic|AWS4-HMAC-SHA256)\s+[^\s,"']+/gi, '$1 ***');
}

/** @internal The secret forms a provider may echo: the value itself and its base64 forms. */
export function secretForms(...values: (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (!v) continue;
    out.push(v, Buffer.from(v).toString('base64'), encodeURIComponent(v));
  }
  return out;
}

/** @internal A bare, sanitized copy of an SDK error to use as `cause` (SDK errors carry request configs and headers). */
export function sanitizedCause(err: unknown, secrets: readonly string[], maxLength = 500): Error {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  const raw = typeof e?.message === 'string' ? e.message : String(err);
  const copy = new Error(redactSecrets(raw, secrets).slice(0, maxLength));
  copy.name = typeof e?.name === 'string' ? e.name : 'Error';
  if (typeof e?.code === 'string' || typeof e?.code === 'number') {
    Object.defineProperty(copy, 'code', { value: e.code, enumerable: true });
  }
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

/** @internal Sanitizes and shortens a provider's explanation. */
export function providerText(text: unknown, secrets: readonly string[], maxLength = 500): string | undefined {
  if (text === undefined || text === null || text === '') return undefined;
  const s = typeof text === 'string' ? text : JSON.stringify(text);
  return redactSecrets(s, secrets).slice(0, maxLength);
}
