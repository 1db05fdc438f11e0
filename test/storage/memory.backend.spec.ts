import { describe, expect, it } from '@jest/globals';
import { BackendValueError, MemoryBackend } from '../../lib/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the timers created while `fn` runs (the real timers still run). */
async function countTimers(fn: () => Promise<void>): Promise<number> {
  const { setTimeout: st, setInterval: si } = globalThis;
  let created = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof st>) => (created++, st(...args))) as typeof st;
  globalThis.setInterval = ((...args: Parameters<typeof si>) => (created++, si(...args))) as typeof si;
  try {
    await fn();
  } finally {
    globalThis.setTimeout = st;
    globalThis.setInterval = si;
  }
  return created;
}

describe('MemoryBackend', () => {
  it('evicts the least recently used entry past maxEntries', async () => {
    const b = new MemoryBackend({ maxEntries: 3 });
    await b.set('a', 1);
    await b.set('b', 2);
    await b.set('c', 3);
    expect(await b.get('a')).toBe(1); // a is now the most recently used
    await b.set('d', 4);
    expect(await b.exists('b')).toBe(false);
    expect(await b.getMany(['a', 'c', 'd'])).toEqual([1, 3, 4]);
    expect(b.size).toBe(3);
    await b.close();
  });

  it('stays bounded under a flood of distinct keys (e.g. client IPs)', async () => {
    const b = new MemoryBackend({ maxEntries: 1000 });
    for (let i = 0; i < 20_000; i++) await b.increment(`ip:10.0.${i >> 8}.${i & 255}`, 60_000);
    expect(b.size).toBe(1000);
    expect(await b.get('ip:10.0.78.31')).toBe(1); // among the newest thousand
    expect(await b.exists('ip:10.0.0.0')).toBe(false);
    await b.close();
  });

  it('keeps an entry that is read often while newer ones push the rest out', async () => {
    const b = new MemoryBackend({ maxEntries: 100 });
    await b.set('hot', 'keep');
    for (let i = 0; i < 1000; i++) {
      await b.set(`cold:${i}`, i);
      expect(await b.get('hot')).toBe('keep');
    }
    await b.close();
  });

  it('uses one sweep timer, not a timer per key, and the sweep drops expired entries', async () => {
    let b!: MemoryBackend;
    const created = await countTimers(async () => {
      b = new MemoryBackend({ sweepIntervalMs: 50 });
      for (let i = 0; i < 5000; i++) await b.set(`k${i}`, i, 30);
      for (let i = 0; i < 5000; i++) await b.increment(`c${i}`, 30);
    });
    expect(created).toBe(1);
    await b.set('forever', 1);
    expect(b.size).toBe(10_001);
    await sleep(250);
    expect(b.size).toBe(1);
    await b.close();
  });

  it('namespace views share the store and closing a view leaves the store running', async () => {
    const b = new MemoryBackend();
    const ns = b.namespace('a:');
    await ns.set('x', 1);
    await ns.close();
    expect(await ns.get('x')).toBe(1);
    expect(await b.get('a:x')).toBe(1);
    await b.close();
  });

  it('stores only own keys of an object while Object.prototype carries an enumerable property', async () => {
    const backend = new MemoryBackend();
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = () => 'not JSON';
    try {
      await backend.set('user', { id: 1, roles: ['a'] });
      const back = (await backend.get<Record<string, unknown>>('user'))!;
      expect(Object.keys(back)).toEqual(['id', 'roles']);
      expect(Object.hasOwn(back, 'polluted')).toBe(false);
    } finally {
      delete proto.polluted;
      await backend.close();
    }
  });

  it('refuses invalid options', () => {
    expect(() => new MemoryBackend({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new MemoryBackend({ sweepIntervalMs: -1 })).toThrow(RangeError);
  });
});

describe('MemoryBackend.countNow (the throttler path)', () => {
  it('counts like increment, at the caller’s clock, and starts over on an expired or missing counter', async () => {
    const backend = new MemoryBackend();
    const now = Date.now();
    expect(backend.countNow('c', 1000, now)).toBe(1);
    expect(backend.countNow('c', 1000, now)).toBe(2);
    expect(await backend.ttl('c')).toBeGreaterThan(900);
    await backend.set('short', 7, 50);
    // Read after the write, so the caller's clock is past the 50 ms expiry however slow the set was.
    expect(backend.countNow('short', 1000, Date.now() + 60)).toBe(1);
    await backend.set('zero', 0);
    expect(backend.countNow('zero', 1000, now)).toBe(1);
    expect(await backend.ttl('zero')).toBeGreaterThan(0);
    await backend.set('text', 'x');
    expect(() => backend.countNow('text', 1000, now)).toThrow(BackendValueError);
    await backend.set('top', Number.MAX_SAFE_INTEGER);
    expect(() => backend.countNow('top', 1000, now)).toThrow(/overflow/);
    expect(await backend.get('top')).toBe(Number.MAX_SAFE_INTEGER);
    await backend.close();
  });
});
