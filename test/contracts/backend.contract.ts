import { describe, expect, it, beforeAll, afterAll, afterEach } from '@jest/globals';
import { type Backend, BackendSerializationError, BackendValidationError, BackendValueError } from '../../lib/index.js';

/** A backend under test and how to dispose of it. */
export interface BackendFixture {
  backend: Backend;
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Point {
  constructor(
    public x = 1,
    public y = 2,
  ) {}
}

/**
 * The storage contract: every Backend implementation runs these same cases, so memory, Redis and
 * Redis Cluster cannot drift apart.
 */
/** `leaf` wrapped in `depth` levels of `{ child }` (objects) or `[ ]` (arrays, when `leaf` is one). */
function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = Array.isArray(leaf) ? [value] : { child: value };
  return value;
}

export function describeBackendConformance(name: string, factory: () => Promise<BackendFixture>): void {
  describe(`Backend conformance: ${name}`, () => {
    let fixture: BackendFixture;
    let b: Backend;

    beforeAll(async () => {
      fixture = await factory();
      b = fixture.backend;
    });
    afterEach(async () => {
      await b.clear();
    });
    afterAll(async () => {
      await fixture?.dispose();
    });

    describe('values', () => {
      const values: [string, unknown][] = [
        ['a string', 'hello'],
        ['an empty string', ''],
        ['unicode', 'zoë 🚀 \n\t "quoted" \u0000 nul'],
        ['an integer', 42],
        ['a negative float', -3.25],
        ['zero', 0],
        ['a large safe integer', Number.MAX_SAFE_INTEGER],
        ['true', true],
        ['false', false],
        ['null', null],
        ['an empty array', []],
        ['an empty object', {}],
        ['an array of mixed values', [1, 'two', null, false, { three: [3] }]],
        ['a nested object', { a: { b: { c: [1, 2, { d: 'e' }] } }, 'key with space': 'v', __proto__x: 1 }],
        ['a JSON-looking string', '{"not":"an object"}'],
        ['a string with a lone surrogate', 'a\uD800b'],
        ['a string starting with U+0001', '\u0001x'],
        ['a numeric string', '123'],
        // Deeper than the walk that tracks no ancestors (64 levels): checked again by the exact walk.
        ['an object nested 200 deep', nested(200, { leaf: [1, 'two'] })],
        ['an array nested 65 deep', nested(65, [])],
      ];
      it.each(values)('round-trips %s exactly', async (_label, value) => {
        await b.set('v', value);
        expect(await b.get('v')).toStrictEqual(value);
      });

      it('round-trips an object whose own key is "__proto__" without touching prototypes', async () => {
        const value = JSON.parse('{"__proto__":{"polluted":true},"ok":1}');
        await b.set('proto', value);
        const back = (await b.get<Record<string, unknown>>('proto'))!;
        expect(Object.keys(back)).toEqual(['__proto__', 'ok']);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('returns bytes as a Buffer with the same content (Buffer and Uint8Array)', async () => {
        const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
        await b.set('buf', bytes);
        const back = await b.get<Buffer>('buf');
        expect(Buffer.isBuffer(back)).toBe(true);
        expect(back!.equals(bytes)).toBe(true);

        const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
        await b.set('u8', view);
        const back2 = await b.get<Buffer>('u8');
        expect(Buffer.isBuffer(back2)).toBe(true);
        expect([...back2!]).toEqual([8, 7]);
      });

      it('resolves undefined for a missing key', async () => {
        expect(await b.get('missing')).toBeUndefined();
      });

      it('never aliases stored objects: mutating the input or the output changes nothing', async () => {
        const input = { list: [1, 2], nested: { n: 1 } };
        await b.set('obj', input);
        input.list.push(3);
        input.nested.n = 99;
        const first = (await b.get<typeof input>('obj'))!;
        expect(first).toEqual({ list: [1, 2], nested: { n: 1 } });
        first.list.push(4);
        first.nested.n = 7;
        expect(await b.get('obj')).toEqual({ list: [1, 2], nested: { n: 1 } });
      });

      it('never aliases stored bytes', async () => {
        const input = Buffer.from('abc');
        await b.set('bytes', input);
        input[0] = 0x7a;
        const out = (await b.get<Buffer>('bytes'))!;
        expect(out.toString()).toBe('abc');
        out[1] = 0x7a;
        expect((await b.get<Buffer>('bytes'))!.toString()).toBe('abc');
      });

      const circular: Record<string, unknown> = { a: 1 };
      circular.self = circular;
      const deepCycle: Record<string, unknown> = { a: 1 };
      const deepCycleLeaf = nested(100, {}) as Record<string, unknown>;
      let tail = deepCycleLeaf;
      while (Object.keys(tail).length > 0) tail = tail.child as Record<string, unknown>;
      tail.back = deepCycle;
      deepCycle.down = deepCycleLeaf;
      const refused: [string, unknown][] = [
        ['a function', () => 1],
        ['a symbol', Symbol('s')],
        ['undefined', undefined],
        ['a BigInt', BigInt(10)],
        ['NaN', NaN],
        ['Infinity', Infinity],
        ['a circular structure', circular],
        ['a Date (not JSON round-trippable)', new Date(0)],
        ['a Map', new Map([[1, 2]])],
        ['a class instance', new Point()],
        ['an object holding a function', { ok: 1, fn: () => 2 }],
        ['an array holding undefined', [1, undefined]],
        ['a nested BigInt', { deep: { n: BigInt(1) } }],
        ['a cycle closed 100 levels down', deepCycle],
        ['a function 100 levels down', nested(100, { fn: () => 1 })],
      ];
      it.each(refused)('refuses %s with BackendSerializationError and writes nothing', async (_label, value) => {
        await b.set('keep', 'previous');
        await expect(b.set('keep', value)).rejects.toBeInstanceOf(BackendSerializationError);
        await expect(b.setIfAbsent('fresh', value)).rejects.toBeInstanceOf(BackendSerializationError);
        expect(await b.get('keep')).toBe('previous');
        expect(await b.exists('fresh')).toBe(false);
      });

      it('gives serialization errors the stable code "serialization"', async () => {
        await expect(b.set('x', () => 1)).rejects.toMatchObject({ code: 'serialization' });
      });
    });

    describe('keys', () => {
      it('accepts unusual keys: spaces, newlines, glob and hash-tag characters, unicode', async () => {
        const keys = ['with space', 'line\nbreak', 'star*', 'q?', '[set]', '{tag}', 'ключ', '🔑', 'a:b:c', '\\'];
        for (const [i, key] of keys.entries()) await b.set(key, i);
        for (const [i, key] of keys.entries()) expect(await b.get(key)).toBe(i);
      });

      it('accepts a key of exactly 1024 bytes and refuses 1025 bytes', async () => {
        await b.set('k'.repeat(1024), 1);
        expect(await b.get('k'.repeat(1024))).toBe(1);
        await expect(b.set('k'.repeat(1025), 1)).rejects.toBeInstanceOf(BackendValidationError);
        // 400 characters of 3 bytes each: 1200 bytes
        await expect(b.get('€'.repeat(400))).rejects.toBeInstanceOf(BackendValidationError);
      });

      it.each([
        ['an empty key', ''],
        ['a number', 5],
        ['undefined', undefined],
      ])('refuses %s on every operation with code "validation"', async (_l, key) => {
        const k = key as string;
        for (const call of [
          () => b.set(k, 1),
          () => b.get(k),
          () => b.delete(k),
          () => b.exists(k),
          () => b.increment(k),
          () => b.ttl(k),
          () => b.setIfAbsent(k, 1),
        ]) {
          await expect(call()).rejects.toMatchObject({ code: 'validation' });
        }
      });
    });

    describe('TTL', () => {
      it.each([
        ['zero', 0],
        ['a negative', -5],
        ['NaN', NaN],
        ['Infinity', Infinity],
        ['a fraction', 1.5],
        ['a numeric string', '100'],
      ])('refuses %s TTL and writes nothing', async (_l, ttl) => {
        const t = ttl as number;
        await expect(b.set('t', 1, t)).rejects.toBeInstanceOf(BackendValidationError);
        await expect(b.increment('c', t)).rejects.toBeInstanceOf(BackendValidationError);
        await expect(b.setIfAbsent('s', 1, t)).rejects.toBeInstanceOf(BackendValidationError);
        expect(await b.exists('t')).toBe(false);
        expect(await b.exists('c')).toBe(false);
        expect(await b.exists('s')).toBe(false);
      });

      it('treats undefined and null as no expiry', async () => {
        await b.set('forever', 1);
        await b.set('forever2', 2, null);
        expect(await b.ttl('forever')).toBeNull();
        expect(await b.ttl('forever2')).toBeNull();
        expect(await b.ttl('missing')).toBeUndefined();
      });

      it('expires a key for get, exists, delete and increment', async () => {
        await b.set('short', 'v', 120);
        await b.set('short2', 'v', 120);
        await b.set('short3', 5, 120);
        expect(await b.get('short')).toBe('v');
        const left = (await b.ttl('short'))!;
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(120);
        await sleep(250);
        expect(await b.get('short')).toBeUndefined();
        expect(await b.exists('short')).toBe(false);
        expect(await b.delete('short2')).toBe(false);
        expect(await b.increment('short3')).toBe(1);
      });

      it('replaces the TTL on set', async () => {
        await b.set('k', 1, 100);
        await b.set('k', 2);
        await sleep(200);
        expect(await b.get('k')).toBe(2);
        expect(await b.ttl('k')).toBeNull();
      });
    });

    describe('delete and exists', () => {
      it('delete resolves true only when something was removed', async () => {
        await b.set('d', 'x');
        expect(await b.exists('d')).toBe(true);
        expect(await b.delete('d')).toBe(true);
        expect(await b.delete('d')).toBe(false);
        expect(await b.exists('d')).toBe(false);
      });

      it('exists is true for a stored null or empty string', async () => {
        await b.set('n', null);
        await b.set('e', '');
        expect(await b.exists('n')).toBe(true);
        expect(await b.exists('e')).toBe(true);
      });
    });

    describe('increment', () => {
      it('creates a missing counter at 1 and counts up', async () => {
        expect(await b.increment('c')).toBe(1);
        expect(await b.increment('c')).toBe(2);
        expect(await b.increment('c')).toBe(3);
        expect(await b.get('c')).toBe(3);
      });

      it('gives a new counter its TTL and keeps the remaining TTL afterwards (fixed window)', async () => {
        expect(await b.increment('w', 300)).toBe(1);
        const first = (await b.ttl('w'))!;
        expect(first).toBeGreaterThan(0);
        expect(first).toBeLessThanOrEqual(300);
        expect(await b.increment('w', 60_000)).toBe(2);
        expect((await b.ttl('w'))!).toBeLessThanOrEqual(300);
        await sleep(400);
        expect(await b.increment('w', 300)).toBe(1);
      });

      it('increments a stored integer and keeps a counter without TTL unexpiring', async () => {
        await b.set('n', 41);
        expect(await b.increment('n', 1000)).toBe(42);
        expect(await b.ttl('n')).toBeNull();
      });

      it('treats a counter at 0 without expiry like a new one: it takes the TTL', async () => {
        await b.set('zero', 0);
        expect(await b.increment('zero', 5000)).toBe(1);
        const left = (await b.ttl('zero'))!;
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(5000);
        // Any other existing counter keeps having no expiry.
        await b.set('three', 3);
        expect(await b.incrementBy('three', -1, 5000)).toBe(2);
        expect(await b.ttl('three')).toBeNull();
      });

      it('incrementBy adds any integer delta', async () => {
        expect(await b.incrementBy('d', 10)).toBe(10);
        expect(await b.incrementBy('d', -3)).toBe(7);
        await expect(b.incrementBy('d', 1.5)).rejects.toBeInstanceOf(BackendValidationError);
        expect(await b.get('d')).toBe(7);
      });

      it.each([
        ['a string', 'abc'],
        ['a numeric string', '5'],
        ['a float', 1.5],
        ['an object', { n: 1 }],
        ['a boolean', true],
      ])('refuses to increment %s and leaves it unchanged', async (_l, value) => {
        await b.set('bad', value);
        await expect(b.increment('bad')).rejects.toBeInstanceOf(BackendValueError);
        await expect(b.increment('bad')).rejects.toMatchObject({ code: 'value' });
        expect(await b.get('bad')).toStrictEqual(value);
      });

      it('is atomic: 1000 concurrent increments return 1..1000 exactly once each', async () => {
        const results = await Promise.all(Array.from({ length: 1000 }, () => b.increment('race', 60_000)));
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
        expect(await b.get('race')).toBe(1000);
      });
    });

    describe('setIfAbsent', () => {
      it('stores only when the key is absent or expired', async () => {
        expect(await b.setIfAbsent('lock', 'a', 150)).toBe(true);
        expect(await b.setIfAbsent('lock', 'b', 150)).toBe(false);
        expect(await b.get('lock')).toBe('a');
        await sleep(250);
        expect(await b.setIfAbsent('lock', 'c')).toBe(true);
        expect(await b.get('lock')).toBe('c');
      });

      it('lets exactly one of many concurrent callers win', async () => {
        const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => b.setIfAbsent('race', i, 5000)));
        expect(wins.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('batch operations', () => {
      it('setMany, getMany and deleteMany', async () => {
        await b.setMany<unknown>([
          { key: 'm1', value: 1 },
          { key: 'm2', value: { two: 2 }, ttlMs: 5000 },
          { key: 'm3', value: 'three' },
        ]);
        expect(await b.getMany(['m1', 'missing', 'm2', 'm3'])).toEqual([1, undefined, { two: 2 }, 'three']);
        expect(await b.ttl('m2')).toBeGreaterThan(0);
        expect(await b.deleteMany(['m1', 'm3', 'missing'])).toBe(2);
        expect(await b.getMany(['m1', 'm2', 'm3'])).toEqual([undefined, { two: 2 }, undefined]);
        expect(await b.getMany([])).toEqual([]);
      });
    });

    describe('getOrSet', () => {
      it('runs the factory once for concurrent callers and caches the result', async () => {
        let calls = 0;
        const factory = async () => {
          calls++;
          await sleep(30);
          return { computed: calls };
        };
        const results = await Promise.all(Array.from({ length: 20 }, () => b.getOrSet('gos', factory, 5000)));
        expect(calls).toBe(1);
        for (const r of results) expect(r).toEqual({ computed: 1 });
        expect(await b.getOrSet('gos', factory)).toEqual({ computed: 1 });
        expect(calls).toBe(1);
      });

      it('passes a factory error to every waiter and caches nothing', async () => {
        let calls = 0;
        const failing = async () => {
          calls++;
          await sleep(10);
          throw new Error('boom');
        };
        const settled = await Promise.allSettled(Array.from({ length: 5 }, () => b.getOrSet('fail', failing)));
        expect(settled.every((s) => s.status === 'rejected')).toBe(true);
        expect(calls).toBe(1);
        expect(await b.exists('fail')).toBe(false);
        expect(await b.getOrSet('fail', () => 'ok')).toBe('ok');
      });
    });

    describe('namespaces and clear', () => {
      it('a namespace writes under its prefix of the same store', async () => {
        const ns = b.namespace('ns:');
        await ns.set('a', 1);
        expect(await ns.get('a')).toBe(1);
        expect(await b.get('a')).toBeUndefined();
        expect(await b.get('ns:a')).toBe(1);
        expect(await ns.increment('c')).toBe(1);
        expect(await b.namespace('ns:').get('c')).toBe(1);
        expect(await b.namespace('ns:').namespace('inner:').get('x')).toBeUndefined();
      });

      it('clear() of a namespace removes only its keys, even with glob characters in the prefix', async () => {
        const glob = b.namespace('g*[1]?:');
        const lookalike = b.namespace('gX1Y:');
        await glob.set('a', 1);
        await lookalike.set('a', 2);
        await b.set('root', 3);
        await glob.clear();
        expect(await glob.get('a')).toBeUndefined();
        expect(await lookalike.get('a')).toBe(2);
        expect(await b.get('root')).toBe(3);
      });

      it('clear() removes every key of the backend', async () => {
        for (let i = 0; i < 2500; i++) await b.set(`bulk:${i}`, i);
        await b.namespace('other:').set('x', 1);
        await b.clear();
        expect(await b.getMany(['bulk:0', 'bulk:1234', 'bulk:2499', 'other:x'])).toEqual([
          undefined,
          undefined,
          undefined,
          undefined,
        ]);
      });
    });
  });
}
