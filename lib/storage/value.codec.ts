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

/** Whether `value` is JSON data that round-trips exactly; builds nothing on the way (the hot path). */
function isJsonValue(value: unknown, ancestors: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (ancestors.includes(value)) return false;
      ancestors.push(value);
      let ok = true;
      if (Array.isArray(value)) {
        for (let i = 0; ok && i < value.length; i++) ok = isJsonValue(value[i], ancestors);
      } else {
        const proto = Object.getPrototypeOf(value);
        ok = proto === Object.prototype || proto === null;
        if (ok) {
          const keys = Object.keys(value);
          for (let i = 0; ok && i < keys.length; i++) ok = isJsonValue((value as Record<string, unknown>)[keys[i]], ancestors);
        }
      }
      ancestors.pop();
      return ok;
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
  if (isJsonValue(value, [])) return;
  explain(value, 'value', []);
  throw new BackendSerializationError('Cannot store this value: it is not JSON-compatible');
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

/** Deep copy of JSON data, or INVALID at the first value JSON cannot carry exactly. */
function cloneOrInvalid(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) return INVALID;
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (ancestors.includes(value)) return INVALID;
      ancestors.push(value);
      let out: unknown;
      if (Array.isArray(value)) {
        const arr = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = cloneOrInvalid(value[i], ancestors);
          if (item === INVALID) return INVALID;
          arr[i] = item;
        }
        out = arr;
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) return INVALID;
        const obj: Record<string, unknown> = {};
        const keys = Object.keys(value);
        for (let i = 0; i < keys.length; i++) {
          const item = cloneOrInvalid((value as Record<string, unknown>)[keys[i]], ancestors);
          if (item === INVALID) return INVALID;
          define(obj, keys[i], item);
        }
        out = obj;
      }
      ancestors.pop();
      return out;
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
  const out = cloneOrInvalid(value, []);
  if (out !== INVALID) return out;
  assertJsonValue(value);
  throw new BackendSerializationError('Cannot store this value: it is not JSON-compatible');
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

/** Serializes a storable value to the string kept in Redis (JSON, or NUL + base64 for bytes). */
export function encodeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) refuse(value, 'value');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (value === null) return 'null';
  if (isBytes(value)) return BYTES_MARK + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  assertJsonValue(value);
  return JSON.stringify(value);
}

/** Reverses {@link encodeValue}; a string that is neither is reported as a serialization error. */
export function decodeValue<V>(raw: string): V {
  if (raw.charCodeAt(0) === 0) return Buffer.from(raw.slice(1), 'base64') as V;
  try {
    return JSON.parse(raw) as V;
  } catch (err) {
    throw new BackendSerializationError('Stored value is not valid JSON (written by something else?)', {
      cause: err,
    });
  }
}
