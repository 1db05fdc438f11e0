import type { RedisTarget } from './redis.types.js';

type Bag = Record<string, unknown>;

/** Option names whose value ioredis sends or uses as a credential (AUTH, sentinel AUTH, query form). */
const PASSWORDS = ['password', 'sentinelPassword'] as const;
/** TLS option names whose value is secret (the certificate itself is public). */
const TLS_SECRETS = ['key', 'passphrase', 'pfx'] as const;
/** Option names that hold TLS options. */
const TLS_OPTIONS = ['tls', 'sentinelTLS'] as const;

const isBag = (value: unknown): value is Bag => typeof value === 'object' && value !== null;

/** The forms a secret may take in a message: as given, percent-decoded and percent-encoded. */
function forms(secret: string, into: Set<string>): void {
  if (secret === '') return;
  into.add(secret);
  try {
    into.add(decodeURIComponent(secret));
  } catch {
    /* not percent-encoded */
  }
  into.add(encodeURIComponent(secret));
}

/** A TLS secret (string, Buffer, or an array of them or of `{ pem | buf, passphrase }`), and each line of a PEM. */
function tlsSecret(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) tlsSecret(item, into);
  } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const text = typeof value === 'string' ? value : value.toString('latin1');
    forms(text, into);
    for (const line of text.split(/\r?\n/)) {
      if (line.length >= 16 && !line.startsWith('-----')) into.add(line);
    }
  } else if (isBag(value)) {
    tlsSecret(value.pem ?? value.buf, into);
    if (typeof value.passphrase === 'string') forms(value.passphrase, into);
  }
}

/** Credentials of a `redis://` / `rediss://` URL: the password of its user part and its query. */
function fromUrl(text: string, into: Set<string>): void {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(text)?.[1];
  // `user:password@`: the user name is not a secret (and redacting a name such as "default" would garble messages).
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo !== undefined && colon !== -1) forms(userinfo.slice(colon + 1), into);
  const query = text.indexOf('?');
  if (query === -1) return;
  const params = new URLSearchParams(text.slice(query + 1));
  for (const name of PASSWORDS) for (const value of params.getAll(name)) forms(value, into);
}

/** Credentials in ioredis options (standalone, sentinel, or a Cluster's `redisOptions`). */
function fromOptions(options: Bag, into: Set<string>): void {
  for (const name of PASSWORDS) {
    if (typeof options[name] === 'string') forms(options[name], into);
  }
  for (const name of TLS_OPTIONS) {
    const tls = options[name];
    if (isBag(tls)) for (const secret of TLS_SECRETS) tlsSecret(tls[secret], into);
  }
  if (Array.isArray(options.sentinels)) {
    for (const sentinel of options.sentinels) if (isBag(sentinel)) fromOptions(sentinel, into);
  }
  if (isBag(options.redisOptions)) fromOptions(options.redisOptions, into);
}

function fromNode(node: unknown, into: Set<string>): void {
  if (typeof node === 'string') fromUrl(node, into);
  else if (isBag(node)) fromOptions(node, into);
}

/**
 * Every credential `target` carries, in every form an error message may show it: passwords
 * (`password`, `sentinelPassword`, a URL's user part or `?password=`), `sentinels[].password`,
 * a Cluster's `redisOptions` and node URLs, TLS `key` / `passphrase` / `pfx`. For a client passed
 * in, its parsed options are read.
 */
export function credentialsOf(target: RedisTarget): string[] {
  const found = new Set<string>();
  if (typeof target === 'string') {
    fromUrl(target, found);
  } else if (isBag(target) && 'cluster' in target && Array.isArray(target.cluster)) {
    for (const node of target.cluster) fromNode(node, found);
    if (isBag(target.options)) fromOptions(target.options, found);
  } else if (isBag(target)) {
    const client = target as Bag;
    // An ioredis client: its options hold what its URL or options gave (a Cluster adds its seeds).
    if (typeof client.sendCommand === 'function') {
      if (isBag(client.options)) fromOptions(client.options, found);
      if (Array.isArray(client.startupNodes)) for (const node of client.startupNodes) fromNode(node, found);
    } else {
      fromOptions(client, found);
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}
