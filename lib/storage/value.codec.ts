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
 * Checks that `value` is JSON data that round-trips exactly (no functions, symbols, `undefined`,
 * BigInt, non-finite numbers, class instances or cycles); the error names the offending path.
 */
export function assertJsonValue(value: unknown): void {
  // The exact walk throws for anything wrong; it returns for valid data nested deeper than the bound.
  if (!isJsonValue(value, 0)) explain(value, 'value', []);
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

/** Deep copy of JSON data nested at most {@link FAST_DEPTH} deep, or INVALID at the first value it cannot take. */
function cloneOrInvalid(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) return INVALID;
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (depth === FAST_DEPTH) return INVALID;
      if (Array.isArray(value)) {
        const arr = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = cloneOrInvalid(value[i], depth + 1);
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
      for (let i = 0; i < keys.length; i++) {
        const item = cloneOrInvalid((value as Record<string, unknown>)[keys[i]], depth + 1);
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
 * backend stores objects that share nothing with the caller's.
 */
export function cloneJsonValue(value: unknown): unknown {
  const out = cloneOrInvalid(value, 0);
  if (out !== INVALID) return out;
  // Invalid (the exact walk throws and says where), or valid but deeper than the bound.
  explain(value, 'value', []);
  return copyJsonValue(value);
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
  return JSON.stringify(value);
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
