import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Email, SmtpBackend } from '../../lib/index.js';
import { SmtpPeer } from '../utils/smtp-peer.js';

// A server that refuses cc gone@ for good (550) and bcc busy@ for now (450) while it accepts `to`.
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 20 };
let busyRefusals = 0;
/** How many RCPT TO for busy@ the server refuses before it accepts one. */
let busyRefusalsLeft = 0;
let peer: SmtpPeer;
const backends: SmtpBackend[] = [];

const email = () =>
  Email.builder()
    .from('sender@example.com')
    .to('rcpt@example.com')
    .cc('gone@example.com')
    .bcc('busy@example.com')
    .subject('partial')
    .textBody('body')
    .build();

function backend(retries = retry.retries): SmtpBackend {
  const b = new SmtpBackend({
    host: '127.0.0.1',
    port: peer.port,
    encryption: 'none',
    retry: { ...retry, retries },
    poolSize: 1,
  });
  backends.push(b);
  return b;
}

beforeAll(async () => {
  peer = await SmtpPeer.start({
    mode: 'none',
    refuse: (address) => {
      if (address === 'gone@example.com') return 550;
      if (address === 'busy@example.com' && busyRefusalsLeft > 0) {
        busyRefusalsLeft--;
        busyRefusals++;
        return 450;
      }
      return false;
    },
  });
});
beforeEach(() => {
  peer.reset();
  busyRefusals = 0;
});
afterAll(async () => {
  for (const b of backends) await b.close();
  await peer.close();
});

describe('SmtpBackend: recipients refused while others are accepted', () => {
  it('a 550 is reported in `rejected`; a 450 is retried for that recipient only, with the same message', async () => {
    busyRefusalsLeft = 1;
    const sent = await backend().sendEmail(email());
    expect(sent.rejected).toEqual([{ address: 'gone@example.com', code: 550, permanent: true }]);
    expect(peer.messages.map((m) => m.envelope.to)).toEqual([['rcpt@example.com'], ['busy@example.com']]);
    const [first, second] = peer.messages;
    // The resend is the same message: same Message-ID and visible headers, still no Bcc header.
    expect(second.parsed.messageId).toBe(first.parsed.messageId);
    expect(sent.messageId).toBe(first.parsed.messageId);
    expect(second.parsed.headers.get('cc')).toEqual(first.parsed.headers.get('cc'));
    expect(second.parsed.headers.has('bcc')).toBe(false);
    expect(second.parsed.text?.trim()).toBe('body');
  });

  it('a recipient refused for now on every attempt: retried up to retry.retries, then listed as temporary', async () => {
    busyRefusalsLeft = 100;
    const sent = await backend().sendEmail(email());
    expect(busyRefusals).toBe(1 + retry.retries);
    expect(sent.rejected).toEqual([
      { address: 'gone@example.com', code: 550, permanent: true },
      { address: 'busy@example.com', code: 450, permanent: false },
    ]);
    expect(peer.messages.map((m) => m.envelope.to)).toEqual([['rcpt@example.com']]);
    busyRefusalsLeft = 0;
  });

  it('with retries off the 450 is not retried and is listed as temporary', async () => {
    busyRefusalsLeft = 1;
    const sent = await backend(0).sendEmail(email());
    expect(busyRefusals).toBe(1);
    expect(sent.rejected).toEqual([
      { address: 'gone@example.com', code: 550, permanent: true },
      { address: 'busy@example.com', code: 450, permanent: false },
    ]);
  });

  it('sendBulk results and a repeated idempotency key carry the refused recipients too', async () => {
    busyRefusalsLeft = 0;
    const b = backend();
    const [result] = await b.sendBulk([email()]);
    expect(result).toMatchObject({ ok: true, rejected: [{ address: 'gone@example.com', code: 550, permanent: true }] });
    const first = await b.sendEmail(email(), { idempotencyKey: 'partial-1' });
    const again = await b.sendEmail(email(), { idempotencyKey: 'partial-1' });
    expect(again).toEqual(first);
    expect(again.rejected).toEqual([{ address: 'gone@example.com', code: 550, permanent: true }]);
  });

  it('every recipient accepted: no `rejected` field', async () => {
    const sent = await backend().sendEmail(
      Email.builder().from('sender@example.com').to('rcpt@example.com').subject('all').textBody('b').build(),
    );
    expect(sent).not.toHaveProperty('rejected');
  });
});
