import { redact } from './redis.errors.js';
import type { RedisClient } from './redis.types.js';

/** Messages and codes of Node's TLS layer when the handshake fails (no TLS server, bad certificate). */
const TLS_FAILURE =
  /before secure TLS connection was established|wrong version number|SSL routines|ssl3_get_record|packet length too long|unknown protocol|certificate|self[- ]signed|Hostname\/IP does not match/i;
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_)/;

/**
 * The text that explains a connection error of a client this library created, with every secret
 * replaced. A failed TLS handshake says so: a `rediss://` URL for a server that speaks plain text
 * otherwise shows only "socket disconnected" or "wrong version number".
 */
export function describeConnectionError(err: Error, tls: boolean, secrets: readonly string[]): string {
  const text = redact(err.message, secrets);
  const code = (err as { code?: unknown }).code;
  if (tls && (TLS_FAILURE.test(text) || (typeof code === 'string' && TLS_CODE.test(code)))) {
    const hint = /wrong version number|before secure TLS|packet length|unknown protocol/i.test(text)
      ? ' (does the server speak TLS? use redis:// for a plain-text server)'
      : '';
    return `TLS handshake failed: ${text}${hint}`;
  }
  return text;
}

/**
 * Why a standalone client is still not ready, when its socket tells: a TLS socket connected over
 * TCP whose handshake has not finished (a plain-text server never answers the TLS hello).
 */
export function stalledHandshake(client: RedisClient): string | undefined {
  const stream = (client as { stream?: { encrypted?: boolean; connecting?: boolean; _secureEstablished?: boolean } })
    .stream;
  // `_secureEstablished` is how Node's TLSSocket itself tracks the handshake (no public getter).
  if (stream?.encrypted !== true || stream.connecting !== false || stream._secureEstablished !== false)
    return undefined;
  return 'TLS handshake failed: the server did not complete it (does it speak TLS? use redis:// for a plain-text server)';
}
