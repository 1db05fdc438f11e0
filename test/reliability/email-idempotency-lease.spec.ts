import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { EmailError, Email, RedisBackend, SendGridBackend } from '../../lib/index.js';
import { HttpPeer } from '../utils/http-peer.js';
import { redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { startSendGridPeer } from '../utils/sendgrid-peer.js';

// A sender process reserves an idempotency key on Redis and is killed (SIGKILL). Its key must not
// block the key for 24 h: the lease runs out and the next sender takes it over.
const worker = join(process.cwd(), 'test/fixtures/email-sender-worker.mjs');
const LEASE_MS = 600;
const email = () =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject('lease').textBody('b').build();

let prefix: string;
let store: RedisBackend;
let provider: HttpPeer;
/** The provider the killed senders talk to: it never answers. */
let silent: HttpPeer;
let backend: SendGridBackend;

beforeAll(async () => {
  prefix = uniquePrefix('email-lease');
  store = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
  provider = await startSendGridPeer('SG.lease-key');
  silent = await HttpPeer.start(() => 'hang');
  backend = new SendGridBackend('SG.lease-key', {
    baseUrl: provider.url,
    idempotencyStore: store,
    idempotencyLeaseMs: LEASE_MS,
    // Far longer than the lease: the send must not end by giving up waiting.
    idempotencyWaitMs: 15_000,
    retry: { retries: 0 },
  });
});
afterAll(async () => {
  await backend?.close();
  await store?.close();
  await provider?.close();
  await silent?.close();
});

/** Starts a sender that reserves `key`; resolves once it has, with the process, still running. */
function reserveInChild(key: string, mode: 'stall' | 'send'): Promise<ChildProcess> {
  const child = fork(worker, [redisUrl(), prefix, silent.url, key, String(LEASE_MS), mode], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'reserved' ? resolve(child) : reject(new Error(`child said ${String(m)}`))));
    child.once('exit', (code) => reject(new Error(`sender process exited with ${code} before it reserved`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.removeAllListeners('message');
  child.kill('SIGKILL');
  await exited;
}

async function outcome(p: Promise<unknown>) {
  try {
    const sent = (await p) as { messageId: string };
    return { ok: true, messageId: sent.messageId };
  } catch (err) {
    expect(err).toBeInstanceOf(EmailError);
    const e = err as EmailError;
    return { ok: false, code: e.code, retryable: e.retryable, possiblyDelivered: e.possiblyDelivered };
  }
}

describe('idempotency keys of a sender that was killed', () => {
  it('killed after reserving, before sending: the next send takes the key over and sends once', async () => {
    const child = await reserveInChild('killed-before-send', 'stall');
    // Give the child time to stall on its write (or, on code without leases, to go out to the silent peer).
    await new Promise((r) => setTimeout(r, 200));
    await kill(child);
    const sent = await outcome(backend.sendEmail(email(), { idempotencyKey: 'killed-before-send' }));
    expect(sent).toMatchObject({ ok: true });
    expect(provider.requests).toHaveLength(1);
    expect(silent.requests).toHaveLength(0);
    // The key now holds the result.
    const again = await outcome(backend.sendEmail(email(), { idempotencyKey: 'killed-before-send' }));
    expect(again).toEqual(sent);
    expect(provider.requests).toHaveLength(1);
  }, 30_000);

  it('killed mid-request: the outcome is unknown, said so (possiblyDelivered), and nothing is sent again', async () => {
    provider.reset();
    const child = await reserveInChild('killed-mid-send', 'send');
    while (silent.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await kill(child);
    const first = await outcome(backend.sendEmail(email(), { idempotencyKey: 'killed-mid-send' }));
    expect(first).toEqual({ ok: false, code: 'timeout', retryable: false, possiblyDelivered: true });
    const again = await outcome(backend.sendEmail(email(), { idempotencyKey: 'killed-mid-send' }));
    expect(again).toEqual(first);
    expect(provider.requests).toHaveLength(0);
  }, 30_000);

  it('a live sender keeps its key past the lease (renewed): a duplicate waits and never takes it over', async () => {
    provider.reset();
    // The first send takes several leases to get its answer.
    provider.script('hang');
    const slow = new SendGridBackend('SG.lease-key', {
      baseUrl: provider.url,
      idempotencyStore: store,
      idempotencyLeaseMs: LEASE_MS,
      retry: { retries: 0 },
      timeoutMs: LEASE_MS * 4,
    });
    try {
      const first = outcome(slow.sendEmail(email(), { idempotencyKey: 'alive' }));
      while (provider.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      const duplicate = await outcome(backend.sendEmail(email(), { idempotencyKey: 'alive' }));
      // The first send timed out in doubt; the duplicate never took the key over and sent nothing.
      expect(await first).toEqual({ ok: false, code: 'timeout', retryable: false, possiblyDelivered: true });
      expect(duplicate).toEqual({ ok: false, code: 'timeout', retryable: false, possiblyDelivered: true });
      expect(provider.requests).toHaveLength(1);
    } finally {
      await slow.close();
    }
  }, 30_000);

  it('a duplicate that gives up waiting on a live sender says the outcome is unknown (possiblyDelivered)', async () => {
    provider.reset();
    provider.script('hang');
    const slow = new SendGridBackend('SG.lease-key', {
      baseUrl: provider.url,
      idempotencyStore: store,
      idempotencyLeaseMs: LEASE_MS,
      retry: { retries: 0 },
      timeoutMs: 5000,
    });
    const impatient = new SendGridBackend('SG.lease-key', {
      baseUrl: provider.url,
      idempotencyStore: store,
      idempotencyLeaseMs: LEASE_MS,
      idempotencyWaitMs: LEASE_MS * 2,
    });
    try {
      const first = outcome(slow.sendEmail(email(), { idempotencyKey: 'impatient' }));
      while (provider.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      const gaveUp = await outcome(impatient.sendEmail(email(), { idempotencyKey: 'impatient' }));
      expect(gaveUp).toEqual({ ok: false, code: 'timeout', retryable: true, possiblyDelivered: true });
      await first;
      expect(provider.requests).toHaveLength(1);
    } finally {
      await impatient.close();
      await slow.close();
    }
  }, 30_000);
});
