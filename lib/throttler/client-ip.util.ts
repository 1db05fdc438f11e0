import { isIPv6 } from 'node:net';

/**
 * The client address of a request as the platform computed it (`req.ip`, which honours the app's
 * own trust-proxy setting), never a raw `X-Forwarded-For`. IPv6 addresses are cut to `ipv6Subnet`
 * bits, since one client usually owns a whole /64. `appSettings`, the Express app's `settings` when
 * the caller holds the app, spares reading `req.app`.
 */
export function clientIp(req: Record<string, any>, ipv6Subnet = 64, appSettings?: Record<string, unknown>): string {
  const ip: unknown =
    (trustsNoProxy(req, appSettings) ? req.socket.remoteAddress : req.ip) ??
    req.socket?.remoteAddress ??
    req.raw?.socket?.remoteAddress;
  if (typeof ip !== 'string' || ip.length === 0) return 'unknown';
  if (ip.indexOf(':') === -1) return ip;
  return groupIpv6(ip, ipv6Subnet);
}

/**
 * Whether `req` is an Express request of an app that trusts no proxy (its default), whose `req.ip`
 * is then the socket's address: read directly, it spares parsing `X-Forwarded-For` on every
 * request. A `req.ip` set by the application itself (an own property) is always honoured.
 */
function trustsNoProxy(req: Record<string, any>, appSettings: Record<string, unknown> | undefined): boolean {
  // `app.settings[name]` is what Express's `app.get(name)` returns (mounted apps inherit through the
  // settings' prototype), without the two calls.
  const settings = appSettings ?? req.app?.settings;
  return settings?.['trust proxy'] === false && req.socket !== undefined && !Object.hasOwn(req, 'ip');
}

/** Keeps the first `bits` bits of an IPv6 address (IPv4-mapped addresses become plain IPv4). */
export function groupIpv6(ip: string, bits = 64): string {
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(address)) return ip;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.indexOf('.') !== -1) return lower.slice(7);
  const groups = expand(lower);
  if (bits >= 128) return groups.join(':');
  const out: string[] = [];
  let left = bits;
  for (const g of groups) {
    if (left >= 16) out.push(g);
    else if (left > 0) out.push(((parseInt(g, 16) >> (16 - left)) << (16 - left)).toString(16));
    else out.push('0');
    left -= 16;
  }
  return `${out.join(':')}/${bits}`;
}

/** The eight groups of an IPv6 address, without leading zeros, an embedded IPv4 tail converted. */
function expand(address: string): string[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const missing = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16).toString(16));
}
