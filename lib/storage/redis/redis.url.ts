import { BackendValidationError } from '../../errors/backend-validation.error.js';

/** The forms a Redis URL may take, for error messages. */
const ACCEPTED =
  'use redis://[user:password@]host[:port][/db], rediss://… for TLS, unix:///path/to/redis.sock or a socket path such as /run/redis.sock';

/** A host name (letters, digits, `-`, `_`, dot-separated labels) or an IPv4 address. */
const HOST_NAME = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$/i;
/** The inside of `[...]`: an IPv6 address, optionally with a zone. */
const IPV6 = /^[0-9a-f:.]+(?:%25[a-z0-9._~-]+)?$/i;

function refuse(problem: string): never {
  // The URL itself is never echoed: its user part may hold a password.
  throw new BackendValidationError(`Redis URL ${problem}: ${ACCEPTED}`);
}

/** Whether `port` (the text after the host's colon) is a TCP port, 1 to 65535. */
function isPort(port: string): boolean {
  return /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

/** Checks `host[:port]` (the part of a URL after `@`), or refuses it naming what is wrong. */
function checkHostPort(hostPort: string): void {
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) refuse('has an unclosed [ in its IPv6 host');
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) refuse('has text after its IPv6 host');
    if (rest !== '') port = rest.slice(1);
    if (!IPV6.test(host)) refuse('has an invalid IPv6 host');
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon !== -1) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon + 1);
    }
    if (host === '') refuse('has no host');
    if (!HOST_NAME.test(host)) refuse('has an invalid host name');
  }
  if (port !== undefined && !isPort(port)) refuse('has an invalid port (a whole number from 1 to 65535)');
}

/**
 * Checks a Redis URL before ioredis sees it, and returns the string to give ioredis: `redis://` and
 * `rediss://` URLs (scheme in lower case, so that `REDISS://` still means TLS), a Unix socket path,
 * or the path of a `unix://` URL. ioredis itself takes any other text as a socket path or a host
 * name (`http://host:6379` would become the socket `//host:6379`), so everything else is refused
 * with a {@link BackendValidationError} that never shows the URL.
 */
export function checkRedisUrl(url: unknown): string {
  if (typeof url !== 'string' || url.trim() === '') refuse('must be a non-empty string');
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) refuse('has no scheme');
  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'unix') {
    refuse(`has the scheme "${scheme}:", which is not a Redis scheme`);
  }
  const rest = url.slice(scheme.length + 1);
  if (!rest.startsWith('//')) refuse(`must have // after "${scheme}:"`);
  if (scheme === 'unix') {
    const path = rest.slice(2);
    if (!path.startsWith('/') || path.length < 2) refuse('of the unix:// form must name an absolute socket path');
    return path;
  }
  const authorityEnd = rest.slice(2).search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest.slice(2) : rest.slice(2, 2 + authorityEnd);
  const after = authorityEnd === -1 ? '' : rest.slice(2 + authorityEnd);
  checkHostPort(authority.slice(authority.lastIndexOf('@') + 1));
  const path = /^[^?#]*/.exec(after)![0];
  if (path !== '' && path !== '/' && !/^\/\d+$/.test(path)) {
    refuse('has a path that is not a database number (/0, /1, …)');
  }
  try {
    new URL(url);
  } catch {
    refuse('is not a valid URL (are special characters in the password percent-encoded?)');
  }
  return scheme + url.slice(scheme.length);
}

/** Checks the `host` and `port` of ioredis options or of a Cluster seed node. */
export function checkHostOptions(options: { host?: unknown; port?: unknown }, what: string): void {
  const { host, port } = options;
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new BackendValidationError(`${what}: host must be a non-empty string`);
  }
  if (
    port !== undefined &&
    !(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) &&
    !(typeof port === 'string' && isPort(port))
  ) {
    throw new BackendValidationError(`${what}: port must be a whole number from 1 to 65535`);
  }
}

/** Checks the seed nodes of a Cluster: `{ host, port }`, a port number, `host:port` or a Redis URL each. */
export function checkClusterNodes(nodes: readonly unknown[]): void {
  if (nodes.length === 0) throw new BackendValidationError('cluster needs at least one seed node');
  nodes.forEach((node, i) => {
    const what = `cluster node ${i}`;
    if (typeof node === 'string') {
      if (node.includes('://')) checkRedisUrl(node);
      else checkHostPort(node);
    } else if (typeof node === 'number') {
      checkHostOptions({ port: node }, what);
    } else if (typeof node === 'object' && node !== null) {
      checkHostOptions(node, what);
    } else {
      throw new BackendValidationError(`${what} must be { host, port }, a port, "host:port" or a redis:// URL`);
    }
  });
}
