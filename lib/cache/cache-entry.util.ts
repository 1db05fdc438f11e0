import { setResponseHeader } from '../utils/http.util.js';

/**
 * Entries are strings, tagged by their first character:
 * - `j<json>`: a JSON answer with status 200, `application/json; charset=utf-8` and no header of the
 *   handler's (the common case, served without parsing anything);
 * - `m<meta>\n<body>`: any other answer; `meta` is JSON (never a raw newline) with the body's kind,
 *   the status, the content type and the handler's headers;
 * - `v<name>,<name>`: a marker saying that answers at this key vary on these request headers and
 *   are stored under {@link variantKey}s.
 * Any other tag (an entry of an older version) is read as a miss.
 */
const JSON_TAG = 106; // j
const META_TAG = 109; // m
const VARY_TAG = 118; // v
/** @internal The content type of JSON answers on both platforms. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** @internal What the body of an entry is: JSON text, a string, or the locals of a `@Render` view. */
export type EntryKind = 'j' | 's' | 'r';

/** @internal An answer ready to be stored, but for what is only known when its head is written. */
export interface PreparedEntry {
  kind: EntryKind;
  body: string;
  /** Headers the handler set (name, value), replayed on a hit. */
  headers: [string, unknown][];
  /** Request headers named by the answer's `Vary`. */
  vary: string[];
}

/** @internal What a flight's leader stored: waiters serve it when their own key is `key`. */
export interface CachedAnswer {
  key: string;
  entry: string;
  vary: readonly string[];
}

interface EntryMeta {
  k: EntryKind;
  s: number;
  t?: string;
  h?: [string, unknown][];
}

/** @internal Returned by {@link serveEntry} for an entry it cannot serve on this route. */
export const UNSERVABLE = Symbol('unservable');

/** @internal The stored text of an answer. */
export function sealEntry(prepared: PreparedEntry, status: number, contentType: unknown): string {
  const type = typeof contentType === 'string' ? contentType : undefined;
  const { kind, body, headers } = prepared;
  if (kind === 'j' && status === 200 && type === JSON_TYPE && headers.length === 0) return `j${body}`;
  const meta: EntryMeta = { k: kind, s: status };
  if (type !== undefined) meta.t = type;
  if (headers.length > 0) meta.h = headers;
  return `m${JSON.stringify(meta)}\n${body}`;
}

/**
 * @internal Sets the stored status and headers (and `X-Cache: HIT`) and returns the handler result
 * to send: the body text, or the parsed locals of a `@Render` route.
 */
export function serveEntry(res: Record<string, any>, entry: string, render: boolean): unknown {
  const tag = entry.charCodeAt(0);
  if (tag === JSON_TAG && !render) {
    setResponseHeader(res, 'X-Cache', 'HIT');
    setResponseHeader(res, 'Content-Type', JSON_TYPE);
    return entry.slice(1);
  }
  if (tag !== META_TAG) return UNSERVABLE;
  const cut = entry.indexOf('\n');
  if (cut === -1) return UNSERVABLE;
  let meta: EntryMeta;
  try {
    meta = JSON.parse(entry.slice(1, cut)) as EntryMeta;
  } catch {
    return UNSERVABLE;
  }
  if ((meta.k === 'r') !== render) return UNSERVABLE;
  const body = entry.slice(cut + 1);
  let result: unknown = body;
  if (render) {
    try {
      result = JSON.parse(body);
    } catch {
      return UNSERVABLE;
    }
  }
  if (meta.s !== 200) res.statusCode = meta.s;
  setResponseHeader(res, 'X-Cache', 'HIT');
  if (meta.t !== undefined) setResponseHeader(res, 'Content-Type', meta.t);
  if (meta.h !== undefined) for (const [name, value] of meta.h) setResponseHeader(res, name, value as string); // arrays too (both platforms take them)
  return result;
}

/** @internal A marker entry for answers that vary on `names`. */
export function varyMarker(names: readonly string[]): string {
  return `v${names.join(',')}`;
}

/** @internal The header names of a marker entry, or `undefined` when `entry` is not a marker. */
export function markerNames(entry: string): string[] | undefined {
  return entry.charCodeAt(0) === VARY_TAG ? entry.slice(1).split(',') : undefined;
}
