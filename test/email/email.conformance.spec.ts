import { simpleParser } from 'mailparser';
import { Writable } from 'node:stream';
import { describeEmailBackendConformance } from '../contracts/email-backend.contract.js';
import {
  ConsoleEmailBackend,
  MailgunBackend,
  MemoryEmailBackend,
  SendGridBackend,
  SesBackend,
  SmtpBackend,
} from '../../lib/index.js';
import { startMailgunPeer, parseMailgunForm } from '../utils/mailgun-peer.js';
import { startSendGridPeer, sendGridBody } from '../utils/sendgrid-peer.js';
import { SesPeer } from '../utils/ses-peer.js';
import { SmtpPeer } from '../utils/smtp-peer.js';
import { generateCertificate } from '../utils/tls-cert.js';
import { fromEmail, fromMailgun, fromParsedMail, fromSendGrid, fromSes } from './delivered.util.js';

const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 20 };

describeEmailBackendConformance('MemoryEmailBackend', async () => {
  const backend = new MemoryEmailBackend({ retry });
  return {
    backend,
    kind: 'memory',
    secrets: [],
    delivered: async () => backend.sentEmails().map(fromEmail),
    providerCalls: async () => backend.sentEmails().length,
    reset: async () => backend.clear(),
    dispose: () => backend.close(),
  };
});

describeEmailBackendConformance('ConsoleEmailBackend', async () => {
  let chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  const backend = new ConsoleEmailBackend({ stream, retry });
  const messages = () =>
    Buffer.concat(chunks)
      .toString('utf8')
      .split(`\r\n${'-'.repeat(79)}\r\n`)
      .filter((m) => m.length > 0);
  return {
    backend,
    kind: 'console',
    secrets: [],
    delivered: async () =>
      Promise.all(messages().map(async (m) => fromParsedMail(await simpleParser(m), Buffer.from(m)))),
    providerCalls: async () => messages().length,
    reset: async () => {
      chunks = [];
    },
    dispose: () => backend.close(),
  };
});

describeEmailBackendConformance('SmtpBackend (STARTTLS + AUTH)', async () => {
  const cert = await generateCertificate();
  const auth = { username: 'mailer', password: 'smtp-Secret-Pa55' };
  const peer = await SmtpPeer.start({ mode: 'starttls', cert, auth });
  const backend = new SmtpBackend({
    host: '127.0.0.1',
    port: peer.port,
    encryption: 'starttls',
    auth,
    tls: { ca: cert.cert },
    poolSize: 3,
    timeoutMs: 5000,
    retry,
  });
  return {
    backend,
    kind: 'smtp',
    secrets: [auth.password],
    delivered: async () => peer.messages.map((m) => fromParsedMail(m.parsed, m.raw, m.envelope.to)),
    providerCalls: async () => peer.messages.length,
    reset: async () => peer.reset(),
    dispose: async () => {
      await backend.close();
      await peer.close();
    },
  };
});

describeEmailBackendConformance('SendGridBackend', async () => {
  const apiKey = 'SG.conformance-Secret-Key';
  const peer = await startSendGridPeer(apiKey);
  const backend = new SendGridBackend(apiKey, { baseUrl: peer.url, retry, timeoutMs: 5000 });
  return {
    backend,
    kind: 'sendgrid',
    secrets: [apiKey],
    delivered: async () => peer.requests.map((r) => fromSendGrid(sendGridBody(r))),
    providerCalls: async () => peer.requests.length,
    reset: async () => peer.reset(),
    dispose: async () => {
      await backend.close();
      await peer.close();
    },
  };
});

describeEmailBackendConformance('SesBackend (aws-ses-v2-local)', async () => {
  const peer = await SesPeer.start();
  const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'ses-Secret-Access-Key' };
  const backend = new SesBackend({ endpoint: peer.url, region: 'us-east-1', credentials, retry, timeoutMs: 5000 });
  return {
    backend,
    kind: 'ses',
    secrets: [credentials.secretAccessKey],
    delivered: async () => (await peer.emails()).map(fromSes),
    providerCalls: async () => (await peer.emails()).length,
    reset: () => peer.clear(),
    dispose: async () => {
      await backend.close();
      await peer.close();
    },
  };
});

describeEmailBackendConformance('MailgunBackend', async () => {
  const apiKey = 'key-conformance-Secret';
  const peer = await startMailgunPeer(apiKey, 'mg.example.test');
  const backend = new MailgunBackend(apiKey, 'mg.example.test', { url: peer.url, retry, timeoutMs: 5000 });
  return {
    backend,
    kind: 'mailgun',
    secrets: [apiKey],
    delivered: async () => Promise.all(peer.requests.map(async (r) => fromMailgun(await parseMailgunForm(r)))),
    providerCalls: async () => peer.requests.length,
    reset: async () => peer.reset(),
    dispose: async () => {
      await backend.close();
      await peer.close();
    },
  };
});
