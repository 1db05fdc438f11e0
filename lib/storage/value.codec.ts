import { BackendSerializationError } from '../errors/backend-serialization.error.js';

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'number') return String(value);
  const ctor = (value as object).constructor?.name;
  return ctor ? `an instance of ${ctor}` : 'an exotic object';
}

function refuse(value: unknown, path: string): never {
  throw new BackendSerializationError(
    `Cannot store ${describe(value)} at ${path}: values must be JSON-compatible (string, finite number, boolean, null, array, plain object) or bytes`,
  );
}

/**
 * Deepest nesting of arrays and objects a stored value may have. Deeper values are refused with a
 * {@link BackendSerializationError} before any recursive walk (or `JSON.stringify`) could run out
 * of stack and throw a raw `RangeError`.
 */
export const MAX_DEPTH = 1000;

/** The slow path after a failed check: walks again with paths and throws what is wrong, and where. */
function explain(value: unknown, path: string, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(value, path);
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.includes(value)) {
        throw new BackendSerializationError(`Cannot store a circular structure (at ${path})`);
      }
      if (ancestors.length === MAX_DEPTH) {
        throw new BackendSerializationError(
          `Cannot store a value nested deeper than ${MAX_DEPTH} levels of arrays and objects (at ${path.length > 200 ? `${path.slice(0, 200)}...` : path})`,
        );
      }
      ancestors.push(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) explain(value[i], `${path}[${i}]`, ancestors);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) refuse(value, path);
        for (const k of Object.keys(value)) {
          explain((value as Record<string, unknown>)[k], `${path}.${k}`, ancestors);
        }
      }
      ancestors.pop();
      return;
    }
    default:
      refuse(value, path);
  }
}

/**
 * Nesting depth the hot paths walk without tracking ancestors. A cycle, like any deeper value,
 * fails this bound and goes to {@link explain}, which tracks them and tells the two apart.
 */
const FAST_DEPTH = 64;

/**
 * Whether `value` is JSON data that round-trips exactly, nested at most {@link FAST_DEPTH} deep
 * (the hot path: builds nothing). `for...in` visits every own key and at most some inherited
 * ones (a polluted `Object.prototype`), so it can refuse too much, never too little; a refusal is
 * checked again by the exact walk.
 */
function isJsonValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth === FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isJsonValue(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in value) if (!isJsonValue((value as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * The exact walk of {@link explain}, with a stack overflow (the caller was already deep in its
 * stack) reported as the serialization error it is rather than as a raw `RangeError`.
 */
function explainOrRefuse(value: unknown): void {
  try {
    explain(value, 'value', []);
  } catch (err) {
    throw asSerializationError(err);
  }
}

/** `err` itself, or a stack overflow as a {@link BackendSerializationError} (with it as the cause). */
function asSerializationError(err: unknown): unknown {
  if (!(err instanceof RangeError)) return err;
  return new BackendSerializationError(`Cannot store the value: walking it ran out of stack (${err.message})`, {
    cause: err,
  });
}

/**
 * Checks that `value` is JSON data that round-trips exactly (no functions, symbols, `undefined`,
 * BigInt, non-finite numbers, class instances, cycles, nesting past {@link MAX_DEPTH}); the error
 * names the offending path.
 */
export function assertJsonValue(value: unknown): void {
  // The exact walk throws for anything wrong; it returns for valid data nested deeper than the bound.
  if (!isJsonValue(value, 0)) explainOrRefuse(value);
}

/** Counted bytes of a string: 2 per UTF-16 unit (V8 keeps 1 or 2 bytes per unit) and a 16-byte header. */
export function stringBytes(text: string): number {
  return 16 + 2 * text.length;
}

/** Counted bytes of a number (a heap number at most). */
const NUMBER_BYTES = 16;
/** Counted bytes of an array or object before its elements or properties. */
const CONTAINER_BYTES = 32;
/** Counted bytes of one array element's slot. */
const SLOT_BYTES = 8;
/** Counted bytes of one property besides its key's text and its value: key and value slots. */
const PROPERTY_BYTES = 16;

/**
 * The running total of the bytes {@link cloneJsonValue} counts for a value: an estimate of the heap
 * its copy takes (strings at 2 bytes per unit, numbers 16, arrays and objects 32 plus 8 per element
 * or 16 plus the key's text per property), which the memory backend bounds.
 */
export interface SizeTally {
  bytes: number;
}

/** The bytes {@link cloneJsonValue} counts for `value` (already validated), walked on its own. */
function sizeOfJson(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringBytes(value);
    case 'number':
      return NUMBER_BYTES;
    case 'object': {
      if (value === null) return 0;
      if (Array.isArray(value)) {
        let n = CONTAINER_BYTES + SLOT_BYTES * value.length;
        for (let i = 0; i < value.length; i++) n += sizeOfJson(value[i]);
        return n;
      }
      let n = CONTAINER_BYTES;
      for (const k of Object.keys(value)) {
        n += PROPERTY_BYTES + stringBytes(k) + sizeOfJson((value as Record<string, unknown>)[k]);
      }
      return n;
    }
    default:
      return 0;
  }
}

/** Sets `out[key] = value` as an own data property, even for the key "__proto__". */
function define(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

const INVALID: unique symbol = Symbol('invalid');

/**
 * Deep copy of JSON data nested at most {@link FAST_DEPTH} deep, or INVALID at the first value it
 * cannot take; adds the copy's counted bytes to `tally` (see {@link SizeTally}).
 */
function cloneOrInvalid(value: unknown, depth: number, tally: SizeTally): unknown {
  switch (typeof value) {
    case 'string':
      tally.bytes += stringBytes(value);
      return value;
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) return INVALID;
      tally.bytes += NUMBER_BYTES;
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (depth === FAST_DEPTH) return INVALID;
      if (Array.isArray(value)) {
        tally.bytes += CONTAINER_BYTES + SLOT_BYTES * value.length;
        const arr = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = cloneOrInvalid(value[i], depth + 1, tally);
          if (item === INVALID) return INVALID;
          arr[i] = item;
        }
        return arr;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return INVALID;
      // Object.keys, not for...in: a copy must never pick up keys from a polluted Object.prototype.
      const obj: Record<string, unknown> = {};
      const keys = Object.keys(value);
      tally.bytes += CONTAINER_BYTES;
      for (let i = 0; i < keys.length; i++) {
        tally.bytes += PROPERTY_BYTES + stringBytes(keys[i]);
        const item = cloneOrInvalid((value as Record<string, unknown>)[keys[i]], depth + 1, tally);
        if (item === INVALID) return INVALID;
        define(obj, keys[i], item);
      }
      return obj;
    }
    default:
      return INVALID;
  }
}

/**
 * Validates like {@link assertJsonValue} and returns a deep copy in the same walk, so the memory
 * backend stores objects that share nothing with the caller's; the copy's counted bytes are added
 * to `tally` when one is given.
 */
export function cloneJsonValue(value: unknown, tally: SizeTally = { bytes: 0 }): unknown {
  const start = tally.bytes;
  const out = cloneOrInvalid(value, 0, tally);
  if (out !== INVALID) return out;
  // Invalid (the exact walk throws and says where), or valid but deeper than the fast bound.
  explainOrRefuse(value);
  try {
    const copy = copyJsonValue(value);
    tally.bytes = start + sizeOfJson(copy);
    return copy;
  } catch (err) {
    throw asSerializationError(err);
  }
}

/** Deep copy of JSON data that was already validated by {@link cloneJsonValue}. */
export function copyJsonValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const arr = new Array(value.length);
    for (let i = 0; i < value.length; i++) arr[i] = copyJsonValue(value[i]);
    return arr;
  }
  const obj: Record<string, unknown> = {};
  for (const k of Object.keys(value)) define(obj, k, copyJsonValue((value as Record<string, unknown>)[k]));
  return obj;
}

/** Whether the value is bytes (Buffer or any Uint8Array), stored and returned as a Buffer. */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Copies bytes into a fresh Buffer that shares no memory with the input. */
export function copyBytes(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
}

/** Marks a serialized string as bytes: JSON text never starts with NUL. */
const BYTES_MARK = '\u0000';
/** Marks a string stored as it is (JSON text never starts with U+0001 either). */
const TEXT_MARK = '\u0001';

/**
 * Serializes a storable value to the string kept in Redis: a string as it is behind a one-character
 * mark (no escaping, so a cached page or a session's JSON is not encoded twice), bytes as NUL +
 * base64, anything else as JSON. A string with a lone surrogate has no UTF-8 form and goes as JSON,
 * whose escapes keep it exact.
 */
export function encodeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? TEXT_MARK + value : JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) refuse(value, 'value');
      // The same text as JSON.stringify for every finite number (-0 included), without the JSON machinery.
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (value === null) return 'null';
  if (isBytes(value))
    return BYTES_MARK + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  assertJsonValue(value);
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw asSerializationError(err);
  }
}

/** Reverses {@link encodeValue} (JSON strings written before the text mark still decode); anything else is a serialization error. */
export function decodeValue<V>(raw: string): V {
  const mark = raw.charCodeAt(0);
  if (mark === 1) return raw.slice(1) as V;
  if (mark === 0) return Buffer.from(raw.slice(1), 'base64') as V;
  try {
    return JSON.parse(raw) as V;
  } catch (err) {
    throw new BackendSerializationError('Stored value is not valid JSON (written by something else?)', {
      cause: err,
    });
  }
}
