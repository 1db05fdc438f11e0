import { isIPv4, isIPv6 } from 'node:net';

/** The tracker of a client whose address is missing or is not an IP address. */
export const UNKNOWN_CLIENT = 'unknown';

const PORT = /^\d{1,5}$/;

/** The last address normalised and its result: most requests in a row come from few clients. */
let lastRaw = '';
let lastIp: string | undefined;

/**
 * The client address of a request as the platform computed it (`req.ip`, which honours the app's
 * own trust-proxy setting), never a raw `X-Forwarded-For`, normalised by {@link normaliseIp}.
 * IPv6 addresses are cut to `ipv6Subnet` bits, since one client usually owns a whole /64.
 * `appSettings`, the Express app's `settings` when the caller holds the app, spares reading
 * `req.app`. An address that is not an IP counts as `'unknown'` and is passed to `onInvalid`.
 */
export function clientIp(
  req: Record<string, any>,
  ipv6Subnet = 64,
  appSettings?: Record<string, unknown>,
  onInvalid?: (raw: string) => void,
): string {
  const ip: unknown =
    (trustsNoProxy(req, appSettings) ? req.socket.remoteAddress : req.ip) ??
    req.socket?.remoteAddress ??
    req.raw?.socket?.remoteAddress;
  return trackerOfAddress(ip, ipv6Subnet, onInvalid);
}

/** The tracker of a raw address: normalised, IPv6 grouped by `ipv6Subnet`, `'unknown'` when not an IP. */
export function trackerOfAddress(ip: unknown, ipv6Subnet = 64, onInvalid?: (raw: string) => void): string {
  if (typeof ip !== 'string' || ip.length === 0) return UNKNOWN_CLIENT;
  const address = normaliseIp(ip);
  if (address === undefined) {
    onInvalid?.(ip);
    return UNKNOWN_CLIENT;
  }
  if (address.indexOf(':') === -1) return address;
  return groupIpv6(address, ipv6Subnet);
}

/**
 * An address as proxies write it, reduced to the bare IP: `203.0.113.7:40001` (App Service/ARR),
 * `[2001:db8::1]:443` and `[2001:db8::1]` lose port and brackets, IPv4-mapped and IPv4-compatible
 * IPv6 forms (`::ffff:c633:6403`, `0:0:0:0:0:ffff:1.2.3.4`, `::1.2.3.4`) become the IPv4 address.
 * `undefined` when the text is not an IP address.
 */
export function normaliseIp(raw: string): string | undefined {
  if (raw === lastRaw) return lastIp;
  const ip = parseIp(raw);
  lastRaw = raw;
  lastIp = ip;
  return ip;
}

function parseIp(raw: string): string | undefined {
  const text = raw.trim();
  if (text.length === 0) return undefined;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const end = text.indexOf(']');
    if (end === -1) return undefined;
    const rest = text.slice(end + 1);
    if (rest.length > 0 && !(rest.charCodeAt(0) === 58 /* : */ && PORT.test(rest.slice(1)))) return undefined;
    return ipv6(text.slice(1, end));
  }
  const colon = text.indexOf(':');
  if (colon === -1) return isIPv4(text) ? text : undefined;
  if (colon === text.lastIndexOf(':')) {
    // One colon: IPv4 with a port (an IPv6 address has at least two colons).
    const host = text.slice(0, colon);
    return isIPv4(host) && PORT.test(text.slice(colon + 1)) ? host : undefined;
  }
  return ipv6(text);
}

/** A bare IPv6 address, lower-cased, or the IPv4 address it maps; `undefined` when invalid. */
function ipv6(text: string): string | undefined {
  const zone = text.indexOf('%');
  const address = (zone === -1 ? text : text.slice(0, zone)).toLowerCase();
  if (!isIPv6(address)) return undefined;
  const v4 = embeddedIpv4(expand(address));
  if (v4 !== undefined) return v4;
  return zone === -1 ? address : `${address}${text.slice(zone)}`;
}

/**
 * The IPv4 address of an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) address,
 * given as eight hexadecimal groups. `::` and `::1` (and the rest of `::/112`) stay IPv6.
 */
function embeddedIpv4(groups: string[]): string | undefined {
  for (let i = 0; i < 5; i++) if (groups[i] !== '0') return undefined;
  if (groups[5] !== 'ffff' && !(groups[5] === '0' && groups[6] !== '0')) return undefined;
  const hi = parseInt(groups[6], 16);
  const lo = parseInt(groups[7], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
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

/**
 * Keeps the first `bits` bits of an IPv6 address (IPv4-mapped and IPv4-compatible addresses become
 * plain IPv4; text that is not IPv6 is returned as it is).
 */
export function groupIpv6(ip: string, bits = 64): string {
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(address)) return ip;
  const groups = expand(address.toLowerCase());
  const v4 = embeddedIpv4(groups);
  if (v4 !== undefined) return v4;
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
