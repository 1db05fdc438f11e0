import { describe, expect, it, beforeAll, afterAll, afterEach, jest } from '@jest/globals';
import { type Backend, BackendSerializationError, BackendValidationError, BackendValueError } from '../../lib/index.js';
import { FROZEN_AT, freezeDate, thawDate } from '../utils/clock.js';

/** A backend under test and how to dispose of it. */
export interface BackendFixture {
  backend: Backend;
  dispose(): Promise<void>;
  /**
   * The backend runs in this process: its expiry reads `Date` (so `freezeDate` controls it) and
   * `keys()` never repeats a key. Unset for a server, where expiry follows the server's clock.
   */
  inProcess?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every key `keys` yields, in order of arrival. */
async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

/** The distinct keys, sorted. */
const distinct = (keys: string[]): string[] => [...new Set(keys)].sort();

/** The error the first step of `keys` rejects with (fails the test when it does not). */
async function firstStepError(keys: AsyncIterable<string>): Promise<unknown> {
  try {
    await keys[Symbol.asyncIterator]().next();
  } catch (err) {
    return err;
  }
  throw new Error('expected the first step of keys() to reject');
}

const BAD_KEYS: [string, unknown][] = [
  ['an empty key', ''],
  ['a number', 5],
  ['undefined', undefined],
  ['a key of 1025 bytes', 'k'.repeat(1025)],
  ['a lone surrogate', 'a\uD800'],
];
const BAD_TTLS: [string, unknown][] = [
  ['zero', 0],
  ['a negative', -5],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['a fraction', 1.5],
  ['a numeric string', '100'],
  ['null', null],
  ['undefined', undefined],
];
const BAD_DELTAS: [string, unknown][] = [
  ['a fraction', 1.5],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['a numeric string', '1'],
  ['an unsafe integer', Number.MAX_SAFE_INTEGER + 1],
  ['null', null],
];

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

    describe('hit', () => {
      it('creates a missing counter at 1 with the whole window', async () => {
        const first = await b.hit('h', 60_000);
        expect(first.count).toBe(1);
        expect(first.ttlMs).toBeGreaterThan(0);
        expect(first.ttlMs).toBeLessThanOrEqual(60_000);
        expect(await b.get('h')).toBe(1);
        expect(await b.ttl('h')).toBeGreaterThan(0);
      });

      it('keeps the remaining window of an existing counter and returns it', async () => {
        await b.hit('w', 60_000);
        const second = await b.hit('w', 5_000_000);
        expect(second.count).toBe(2);
        expect(second.ttlMs).toBeGreaterThan(0);
        expect(second.ttlMs).toBeLessThanOrEqual(60_000);
        expect((await b.ttl('w'))!).toBeLessThanOrEqual(60_000);
      });

      it('adds any integer delta, negative ones included, like incrementBy', async () => {
        expect((await b.hit('d', 60_000, 5)).count).toBe(5);
        expect((await b.hit('d', 60_000, -7)).count).toBe(-2);
        expect((await b.hit('d', 60_000, 0)).count).toBe(-2);
        const negative = await b.hit('n', 60_000, -3);
        expect(negative.count).toBe(-3);
        expect(negative.ttlMs).toBeGreaterThan(0);
        expect(await b.incrementBy('d', 2, 60_000)).toBe(0);
        expect((await b.hit('d', 60_000)).count).toBe(1);
      });

      it('follows the TTL rules of incrementBy for integers stored without expiry', async () => {
        await b.set('kept', 41);
        expect(await b.hit('kept', 1000)).toEqual({ count: 42, ttlMs: null });
        expect(await b.ttl('kept')).toBeNull();
        await b.set('zero', 0);
        const fresh = await b.hit('zero', 5000);
        expect(fresh.count).toBe(1);
        expect(fresh.ttlMs).toBeGreaterThan(0);
        expect(fresh.ttlMs).toBeLessThanOrEqual(5000);
        expect((await b.ttl('zero'))!).toBeLessThanOrEqual(5000);
      });

      it('counts again from delta after the window ended', async () => {
        if (fixture.inProcess) {
          freezeDate();
          try {
            expect(await b.hit('e', 1000)).toEqual({ count: 1, ttlMs: 1000 });
            jest.setSystemTime(FROZEN_AT + 400);
            expect(await b.hit('e', 1000)).toEqual({ count: 2, ttlMs: 600 });
            jest.setSystemTime(FROZEN_AT + 999);
            expect(await b.hit('e', 1000, 3)).toEqual({ count: 5, ttlMs: 1 });
            jest.setSystemTime(FROZEN_AT + 1000);
            expect(await b.hit('e', 1000, 3)).toEqual({ count: 3, ttlMs: 1000 });
          } finally {
            thawDate();
          }
          return;
        }
        // On a server: a 20 ms window has surely ended 100 ms later, whatever the clocks say.
        expect((await b.hit('e', 20)).count).toBe(1);
        await sleep(100);
        const again = await b.hit('e', 60_000);
        expect(again.count).toBe(1);
        expect(again.ttlMs).toBeGreaterThan(20);
      });

      it('is atomic: 500 concurrent hits count 1..500 once each, all in one window', async () => {
        const hits = await Promise.all(Array.from({ length: 500 }, () => b.hit('race', 60_000)));
        expect(hits.map((h) => h.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
        for (const h of hits) {
          expect(h.ttlMs).toBeGreaterThan(0);
          expect(h.ttlMs).toBeLessThanOrEqual(60_000);
        }
      });

      it('counts under a namespace prefix', async () => {
        const ns = b.namespace('hits:');
        expect((await ns.hit('x', 60_000)).count).toBe(1);
        expect(await b.get('hits:x')).toBe(1);
        expect(await b.exists('x')).toBe(false);
      });

      it.each([
        ['a string', 'abc'],
        ['a float', 1.5],
        ['an object', { n: 1 }],
      ])('refuses to count %s with BackendValueError and leaves it unchanged', async (_l, value) => {
        await b.set('bad', value);
        await expect(b.hit('bad', 1000)).rejects.toMatchObject({ code: 'value' });
        expect(await b.get('bad')).toStrictEqual(value);
      });

      it('answers exact counts past 2^52', async () => {
        await b.set('large', 2 ** 53 - 10);
        expect((await b.hit('large', 1000, 3)).count).toBe(2 ** 53 - 7);
        expect((await b.hit('large', 1000, -(2 ** 53 - 7))).count).toBe(0);
        expect((await b.hit('large', 1000, -(2 ** 52 + 5))).count).toBe(-(2 ** 52 + 5));
      });

      it('refuses to overflow the safe integer range and leaves the counter unchanged', async () => {
        await b.set('big', Number.MAX_SAFE_INTEGER);
        await expect(b.hit('big', 1000)).rejects.toBeInstanceOf(BackendValueError);
        expect(await b.get('big')).toBe(Number.MAX_SAFE_INTEGER);
      });

      it.each(BAD_KEYS)('refuses %s as key with code "validation"', async (_l, key) => {
        await expect(b.hit(key as string, 1000)).rejects.toBeInstanceOf(BackendValidationError);
        await expect(b.hit(key as string, 1000)).rejects.toMatchObject({ code: 'validation' });
      });

      it.each(BAD_TTLS)('refuses %s TTL and writes nothing', async (_l, ttl) => {
        await expect(b.hit('t', ttl as number)).rejects.toBeInstanceOf(BackendValidationError);
        expect(await b.exists('t')).toBe(false);
      });

      it.each(BAD_DELTAS)('refuses %s delta and writes nothing', async (_l, delta) => {
        await expect(b.hit('t', 1000, delta as number)).rejects.toBeInstanceOf(BackendValidationError);
        expect(await b.exists('t')).toBe(false);
      });
    });

    describe('expire', () => {
      it('gives an existing key a new TTL and resolves true', async () => {
        await b.set('x', 'v');
        expect(await b.expire('x', 60_000)).toBe(true);
        const left = (await b.ttl('x'))!;
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(60_000);
        // Longer than before: the TTL is replaced, not only set on keys without one.
        expect(await b.expire('x', 5_000_000)).toBe(true);
        expect((await b.ttl('x'))!).toBeGreaterThan(60_000);
        expect(await b.get('x')).toBe('v');
        // A counter's window moves too.
        await b.hit('c', 60_000);
        expect(await b.expire('c', 5_000_000)).toBe(true);
        expect((await b.hit('c', 60_000)).ttlMs).toBeGreaterThan(60_000);
      });

      it('resolves false for a missing key and does not create it', async () => {
        expect(await b.expire('missing', 60_000)).toBe(false);
        expect(await b.exists('missing')).toBe(false);
        expect(await b.get('missing')).toBeUndefined();
      });

      it('resolves false for an expired key and does not bring it back', async () => {
        if (fixture.inProcess) {
          freezeDate();
          try {
            await b.set('gone', 'v', 1000);
            jest.setSystemTime(FROZEN_AT + 1000);
            expect(await b.expire('gone', 60_000)).toBe(false);
            jest.setSystemTime(FROZEN_AT);
            expect(await b.exists('gone')).toBe(false);
          } finally {
            thawDate();
          }
          return;
        }
        await b.set('gone', 'v', 20);
        await sleep(100);
        expect(await b.expire('gone', 60_000)).toBe(false);
        expect(await b.exists('gone')).toBe(false);
      });

      it('expires the key at the new TTL', async () => {
        if (fixture.inProcess) {
          freezeDate();
          try {
            await b.set('k', 'v', 60_000);
            expect(await b.expire('k', 500)).toBe(true);
            jest.setSystemTime(FROZEN_AT + 499);
            expect(await b.get('k')).toBe('v');
            jest.setSystemTime(FROZEN_AT + 500);
            expect(await b.get('k')).toBeUndefined();
          } finally {
            thawDate();
          }
          return;
        }
        await b.set('k', 'v', 60_000);
        expect(await b.expire('k', 20)).toBe(true);
        await sleep(100);
        expect(await b.get('k')).toBeUndefined();
      });

      it('acts on the namespace key only', async () => {
        const ns = b.namespace('exp:');
        await b.set('k', 1);
        await ns.set('k', 2);
        expect(await ns.expire('k', 60_000)).toBe(true);
        expect(await b.ttl('k')).toBeNull();
        expect(await b.ttl('exp:k')).toBeGreaterThan(0);
      });

      it.each(BAD_KEYS)('refuses %s as key with code "validation"', async (_l, key) => {
        await expect(b.expire(key as string, 1000)).rejects.toMatchObject({ code: 'validation' });
      });

      it.each(BAD_TTLS)('refuses %s TTL and changes nothing', async (_l, ttl) => {
        await b.set('t', 1);
        await expect(b.expire('t', ttl as number)).rejects.toBeInstanceOf(BackendValidationError);
        expect(await b.ttl('t')).toBeNull();
      });
    });

    describe('keys()', () => {
      it('lists the keys without the prefix, sub-namespaces with their own prefix', async () => {
        await b.set('a', 1);
        await b.set('b', 2, 60_000);
        await b.hit('counter', 60_000);
        await b.namespace('ns:').set('c', 3);
        expect(distinct(await collect(b.keys()))).toEqual(['a', 'b', 'counter', 'ns:c']);
        expect(distinct(await collect(b.namespace('ns:').keys()))).toEqual(['c']);
      });

      it('lists nothing of sibling namespaces or of the parent', async () => {
        const one = b.namespace('one:');
        const two = b.namespace('two:');
        await one.set('x', 1);
        await one.set('y', 1);
        await two.set('x', 2);
        await b.set('root', 3);
        await b.set('one', 4); // the namespace's name without its separator
        expect(distinct(await collect(one.keys()))).toEqual(['x', 'y']);
        expect(distinct(await collect(two.keys()))).toEqual(['x']);
        expect(await collect(b.namespace('empty:').keys())).toEqual([]);
      });

      it('filters with a glob pattern applied after the prefix', async () => {
        for (const key of ['user:1', 'user:2', 'user:10', 'team:1', 'ax', 'bx', 'cx', 'star*', 'q?'])
          await b.set(key, 1);
        await b.namespace('user:').set('nested', 1);
        expect(distinct(await collect(b.keys('user:*')))).toEqual(['user:1', 'user:10', 'user:2', 'user:nested']);
        expect(distinct(await collect(b.keys('user:?')))).toEqual(['user:1', 'user:2']);
        expect(distinct(await collect(b.keys('[ab]x')))).toEqual(['ax', 'bx']);
        expect(distinct(await collect(b.keys('[^ab]x')))).toEqual(['cx']);
        expect(distinct(await collect(b.keys('[a-b]x')))).toEqual(['ax', 'bx']);
        expect(distinct(await collect(b.keys('star\\*')))).toEqual(['star*']);
        expect(distinct(await collect(b.keys('q\\?')))).toEqual(['q?']);
        expect(distinct(await collect(b.keys('1')))).toEqual([]);
        expect(distinct(await collect(b.namespace('user:').keys('n*')))).toEqual(['nested']);
      });

      it('escapes glob characters of the namespace prefix', async () => {
        const glob = b.namespace('g*[1]?:');
        const lookalike = b.namespace('gX1Y:');
        await glob.set('a', 1);
        await glob.set('b', 1);
        await lookalike.set('a', 2);
        await b.namespace('g\\:').set('z', 1);
        expect(distinct(await collect(glob.keys()))).toEqual(['a', 'b']);
        expect(distinct(await collect(glob.keys('a*')))).toEqual(['a']);
        expect(distinct(await collect(lookalike.keys()))).toEqual(['a']);
        expect(distinct(await collect(b.namespace('g\\:').keys()))).toEqual(['z']);
      });

      it('never lists an expired key', async () => {
        if (fixture.inProcess) {
          freezeDate();
          try {
            await b.set('gone', 1, 1000);
            await b.hit('window', 1000);
            await b.set('stay', 1);
            jest.setSystemTime(FROZEN_AT + 1000);
            expect(await collect(b.keys())).toEqual(['stay']);
          } finally {
            thawDate();
          }
          return;
        }
        await b.set('gone', 1, 20);
        await b.hit('window', 20);
        await b.set('stay', 1);
        await sleep(100);
        expect(distinct(await collect(b.keys()))).toEqual(['stay']);
      });

      it('lists 2,500 keys across several SCAN pages, each at least once', async () => {
        const expected = Array.from({ length: 2500 }, (_, i) => `bulk:${i}`);
        for (let i = 0; i < expected.length; i += 250) {
          await b.setMany(expected.slice(i, i + 250).map((key) => ({ key, value: 1 })));
        }
        await b.namespace('other').set('x', 1);
        const listed = await collect(b.keys('bulk:*'));
        expect(distinct(listed)).toEqual([...expected].sort());
        if (fixture.inProcess) expect(listed).toHaveLength(expected.length);
      });

      it('stops when the caller breaks out, and the backend goes on working', async () => {
        for (let i = 0; i < 1200; i++) await b.set(`s${i}`, i);
        const seen: string[] = [];
        for await (const key of b.keys()) {
          seen.push(key);
          if (seen.length === 3) break;
        }
        expect(seen).toHaveLength(3);
        expect(await b.get(seen[0])).toBe(Number(seen[0].slice(1)));
      });

      it.each([
        ['a number', 5],
        ['an object', {}],
        ['a lone surrogate', 'a\uD800*'],
      ])('refuses %s as pattern with code "validation" on the first step', async (_l, pattern) => {
        const err = await firstStepError(b.keys(pattern as string));
        expect(err).toBeInstanceOf(BackendValidationError);
        expect(err).toMatchObject({ code: 'validation' });
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
