/** Parameters past this count are left in their order: parsers drop those past their limit (qs, querystring: 1000). */
const MAX_SORTED_PARAMS = 1000;
/** A name every query parser reads as itself: plain characters, then optional `[...]` parts (qs nesting). */
const PLAIN_NAME = /^([A-Za-z0-9_-]+)(?:\[[A-Za-z0-9_-]*\])*$/;

/**
 * @internal The default key of a request: `GET <host> <path>?<query>`, the host as the app sees it
 * (Express `req.hostname` under its `trust proxy`, Fastify `request.hostname`) and the query as
 * sent, its parameters sorted when that cannot change what a parser reads. A request target has
 * no space, so the parts cannot run into each other.
 */
export function requestKey(req: Record<string, any>): string {
  const host: unknown = req.hostname;
  const url: string = req.originalUrl ?? req.url ?? '/';
  const prefix = typeof host === 'string' ? `GET ${host} ` : 'GET  ';
  const q = url.indexOf('?');
  if (q === -1) return prefix + url;
  return `${prefix}${url.slice(0, q)}?${sortQuery(url.slice(q + 1))}`;
}

/**
 * @internal The raw query string with its parameters in name order (stable, so repeated names keep
 * theirs). Never decoded: `%FF` and `%EF%BF%BD` are different inputs to a parser that keeps
 * malformed escapes (qs). Left as sent when any name is not plain, since an escaped name may
 * decode to another one (`%61` is `a`) and parsers decode malformed escapes differently.
 */
export function sortQuery(query: string): string {
  if (query.indexOf('&') === -1) return query;
  const pairs = query.split('&');
  if (pairs.length > MAX_SORTED_PARAMS) return query;
  const names: string[] = new Array(pairs.length);
  let sorted = true;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf('=');
    const match = PLAIN_NAME.exec(eq === -1 ? pair : pair.slice(0, eq));
    if (match === null) return query;
    names[i] = match[1]!;
    if (sorted && i > 0 && names[i - 1]! > names[i]!) sorted = false;
  }
  if (sorted) return query;
  const order = pairs.map((_, i) => i);
  order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  return order.map((i) => pairs[i]).join('&');
}

/** @internal The request headers a `Vary` value names, lower-cased and sorted; `'*'` for `Vary: *`. */
export function varyNames(vary: unknown): string[] | '*' {
  if (vary === undefined || vary === null) return [];
  const text = Array.isArray(vary) ? vary.join(',') : String(vary);
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return '*';
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}

/** @internal The key of the variant of `base` for the request's values of the `names` headers. */
export function variantKey(base: string, names: readonly string[], headers: Record<string, unknown>): string {
  const values = names.map((name) => headers[name] ?? null);
  return `${base}\nvary:${JSON.stringify([names, values])}`;
}
