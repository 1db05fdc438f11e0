import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Backend, BackendSerializationError, MemoryBackend, RedisBackend } from '../../lib/index.js';
import { MAX_DEPTH, decodeValue, encodeValue } from '../../lib/storage/value.codec.js';
import { redisUrl, uniquePrefix } from '../utils/redis-env.js';

/** `levels` arrays or objects nested in one another. */
function nested(levels: number, kind: 'object' | 'array'): unknown {
  let value: unknown = kind === 'object' ? {} : [];
  for (let i = 1; i < levels; i++) value = kind === 'object' ? { a: value } : [value];
  return value;
}

describe('value codec: nesting depth (#28.22)', () => {
  it.each(['object', 'array'] as const)('refuses a 5,000-deep %s with BackendSerializationError', (kind) => {
    expect(() => encodeValue(nested(5000, kind))).toThrow(BackendSerializationError);
    expect(() => encodeValue(nested(5000, kind))).toThrow(`nested deeper than ${MAX_DEPTH} levels`);
  });

  it('encodes a value exactly MAX_DEPTH deep and refuses one level more', () => {
    const deepest = nested(MAX_DEPTH, 'object');
    expect(decodeValue(encodeValue(deepest))).toEqual(deepest);
    expect(() => encodeValue(nested(MAX_DEPTH + 1, 'array'))).toThrow(BackendSerializationError);
  });
});

describe.each([
  ['MemoryBackend', async (): Promise<Backend> => new MemoryBackend()],
  [
    'RedisBackend (REDIS_URL)',
    async (): Promise<Backend> => RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('deep') }),
  ],
])('%s: deeply nested values (#28.22)', (_name, open) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await open();
  });
  afterAll(async () => {
    await backend.clear();
    await backend.close();
  });

  it.each(['object', 'array'] as const)('refuses a 5,000-deep %s and changes nothing', async (kind) => {
    await backend.set('deep', 'before');
    const err = await backend.set('deep', nested(5000, kind)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendSerializationError);
    expect((err as BackendSerializationError).code).toBe('serialization');
    expect(await backend.get('deep')).toBe('before');
    await expect(backend.setIfAbsent('absent', nested(5000, kind))).rejects.toBeInstanceOf(BackendSerializationError);
    expect(await backend.exists('absent')).toBe(false);
  });

  it('refuses a deep value inside setMany', async () => {
    await expect(
      backend.setMany<unknown>([
        { key: 'ok', value: 1 },
        { key: 'bad', value: { list: nested(5000, 'array') } },
      ]),
    ).rejects.toBeInstanceOf(BackendSerializationError);
    expect(await backend.exists('bad')).toBe(false);
  });

  it('round-trips a value exactly MAX_DEPTH deep', async () => {
    const deepest = nested(MAX_DEPTH, 'array');
    await backend.set('deepest', deepest);
    expect(await backend.get('deepest')).toEqual(deepest);
  });
});
