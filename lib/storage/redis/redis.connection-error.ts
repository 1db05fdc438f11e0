import { redact } from './redis.errors.js';
import type { IoRedisClient as RedisClient } from './redis.ioredis.js';

/** Messages and codes of Node's TLS layer when the handshake fails (no TLS server, bad certificate). */
const TLS_FAILURE =
  /before secure TLS connection was established|wrong version number|SSL routines|ssl3_get_record|packet length too long|unknown protocol|certificate|self[- ]signed|Hostname\/IP does not match/i;
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_)/;

const HINT = ' (does the server speak TLS? use redis:// for a plain-text server)';

interface TlsStream {
  encrypted?: boolean;
  connecting?: boolean;
  destroyed?: boolean;
  /** How Node's TLSSocket itself tracks the handshake (there is no public getter). */
  _secureEstablished?: boolean;
  once(event: 'connect', listener: () => void): unknown;
}

/** TLS sockets whose TCP connection was established (the server accepted it). */
const tcpConnected = new WeakSet<object>();

const streamOf = (client: RedisClient): TlsStream | undefined => (client as { stream?: TlsStream }).stream;

/**
 * Notes, for each TLS socket a standalone client opens, when its TCP connection is up: a socket
 * that got that far and then failed or timed out did so in the TLS handshake, not on the way.
 */
export function watchHandshakes(client: RedisClient): void {
  client.on('connecting', () => {
    // ioredis assigns the socket after a promise turn; it may have connected by the time we look.
    setImmediate(() => {
      const stream = streamOf(client);
      if (stream?.encrypted !== true) return;
      if (stream.connecting) stream.once('connect', () => tcpConnected.add(stream));
      else if (!stream.destroyed) tcpConnected.add(stream);
    });
  });
}

/** Whether the client's current socket reached the server over TCP and is stuck in the TLS handshake. */
function handshakePending(client: RedisClient): boolean {
  const stream = streamOf(client);
  return stream !== undefined && tcpConnected.has(stream) && stream._secureEstablished === false;
}

/**
 * The text that explains a connection error of a client this library created, with every secret
 * replaced. A failed TLS handshake says so: a `rediss://` URL for a server that speaks plain text
 * otherwise shows only "connect ETIMEDOUT", "socket disconnected" or "wrong version number".
 */
export function describeConnectionError(
  err: Error,
  client: RedisClient,
  tls: boolean,
  secrets: readonly string[],
): string {
  const text = redact(err.message, secrets);
  if (!tls) return text;
  const code = (err as { code?: unknown }).code;
  if (handshakePending(client)) return `TLS handshake failed: ${text}${HINT}`;
  if (TLS_FAILURE.test(text) || (typeof code === 'string' && TLS_CODE.test(code))) {
    const plain = /wrong version number|before secure TLS|packet length|unknown protocol/i.test(text);
    return `TLS handshake failed: ${text}${plain ? HINT : ''}`;
  }
  return text;
}

/** Why a standalone client is still not ready, when its socket tells: a TLS handshake that does not finish. */
export function stalledHandshake(client: RedisClient): string | undefined {
  const live = streamOf(client)?.destroyed === false;
  return live && handshakePending(client) ? `TLS handshake failed: the server did not complete it${HINT}` : undefined;
}
