import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import sgMail from '@sendgrid/mail';
import FormData from 'form-data';
import Mailgun from 'mailgun.js';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { SMTPServer } from 'smtp-server';
import {
  ConsoleEmailBackend,
  Email,
  type EmailBackend,
  MailgunBackend,
  SendGridBackend,
  SesBackend,
  SmtpBackend,
} from '../lib/index.js';
import { startMailgunPeer } from '../test/utils/mailgun-peer.js';
import { startSendGridPeer } from '../test/utils/sendgrid-peer.js';
import { SesPeer } from '../test/utils/ses-peer.js';
import { type BenchContext, type Comparison, compare, concurrentOps } from './bench.util.js';

const POOL_SIZE = 5;
const IN_FLIGHT = 10;

/** A small text email, as our API builds it and as the raw SDKs take it. */
function message(i: number) {
  return {
    from: 'sender@example.com',
    to: `rcpt${i}@example.com`,
    subject: `Notification ${i}`,
    text: `Hello number ${i}, this is a small notification email.`,
  };
}
function email(i: number): Email {
  const m = message(i);
  return Email.builder().from(m.from).to(m.to).subject(m.subject).textBody(m.text).build();
}

/** An SMTP sink on 127.0.0.1 that drains each message (no parsing, so the client side is what is measured). */
async function startSmtpSink(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    hideSTARTTLS: true,
    disableReverseLookup: true,
    closeTimeout: 1000,
    logger: false,
    onData(stream, _session, cb) {
      stream.on('end', () => cb());
      stream.resume();
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Throughput of `backend.sendBulk` over `count` prebuilt emails; throws if any failed. */
async function bulkRate(backend: EmailBackend, emails: Email[]): Promise<number> {
  const start = process.hrtime.bigint();
  const results = await backend.sendBulk(emails, { concurrency: IN_FLIGHT });
  const ns = Number(process.hrtime.bigint() - start);
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) throw failed.error;
  return (emails.length / ns) * 1e9;
}

/**
 * Email benchmarks: SMTP bulk send through SmtpBackend vs a hand-tuned raw nodemailer pool of the
 * same size (target >= 90%), and emails/s of every other backend against its local peer vs the raw
 * SDK doing the same sends.
 */
export async function runEmailBench(ctx: BenchContext): Promise<Comparison[]> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const out: Comparison[] = [];
  const smtpCount = ctx.quick ? 50 : 1000;
  const apiCount = ctx.quick ? 50 : 300;
  const retry = { retries: 0 };

  // SMTP: ours vs raw nodemailer pool, same pool size, same in-flight count, same sink.
  {
    const sink = await startSmtpSink();
    const ours = new SmtpBackend({
      host: '127.0.0.1',
      port: sink.port,
      encryption: 'none',
      poolSize: POOL_SIZE,
      retry,
    });
    const raw = nodemailer.createTransport({
      pool: true,
      host: '127.0.0.1',
      port: sink.port,
      ignoreTLS: true,
      maxConnections: POOL_SIZE,
      maxMessages: Infinity,
      logger: false,
    });
    const emails = Array.from({ length: smtpCount }, (_, i) => email(i));
    const raws = Array.from({ length: smtpCount }, (_, i) => message(i));
    try {
      await bulkRate(ours, emails.slice(0, 20));
      await concurrentOps(20, IN_FLIGHT, (i) => raw.sendMail(raws[i]));
      out.push(
        await compare(
          {
            group: 'email',
            workload: `SMTP bulk send of ${smtpCount} small emails, pool ${POOL_SIZE}, ${IN_FLIGHT} in flight`,
            unit: 'emails/s',
            oursLabel: 'SmtpBackend.sendBulk',
            peerLabel: 'raw nodemailer pool',
            target: { ratio: 0.9, text: '>= 90% of raw nodemailer pool' },
          },
          ctx.rounds,
          () => bulkRate(ours, emails),
          () => concurrentOps(smtpCount, IN_FLIGHT, (i) => raw.sendMail(raws[i])),
        ),
      );
    } finally {
      await ours.close();
      raw.close();
      await sink.close();
    }
  }

  // Console: ours vs MailComposer + stream write.
  {
    const devNull = () => new Writable({ write: (_c, _e, cb) => cb() });
    const ours = new ConsoleEmailBackend({ stream: devNull(), retry });
    const stream = devNull();
    const emails = Array.from({ length: apiCount }, (_, i) => email(i));
    const raws = Array.from({ length: apiCount }, (_, i) => message(i));
    const rawSend = async (i: number) => {
      const bytes = await new MailComposer(raws[i]).compile().build();
      await new Promise<void>((resolve, reject) => stream.write(bytes, (e) => (e ? reject(e) : resolve())));
    };
    out.push(
      await compare(
        {
          group: 'email',
          workload: `console: ${apiCount} emails composed to a stream`,
          unit: 'emails/s',
          oursLabel: 'ConsoleEmailBackend',
          peerLabel: 'raw MailComposer',
        },
        ctx.rounds,
        () => bulkRate(ours, emails),
        () => concurrentOps(apiCount, IN_FLIGHT, rawSend),
      ),
    );
    await ours.close();
  }

  // SendGrid: ours vs a raw MailService, both against the local v3 peer.
  {
    const apiKey = 'SG.bench-key';
    const peer = await startSendGridPeer(apiKey);
    const ours = new SendGridBackend(apiKey, { baseUrl: peer.url, retry });
    const MailService = (sgMail as unknown as { MailService: new () => typeof sgMail }).MailService;
    const raw = new MailService();
    raw.setApiKey(apiKey);
    (raw as unknown as { client: { setDefaultRequest(k: string, v: unknown): void } }).client.setDefaultRequest(
      'baseUrl',
      peer.url,
    );
    const emails = Array.from({ length: apiCount }, (_, i) => email(i));
    try {
      out.push(
        await compare(
          {
            group: 'email',
            workload: `SendGrid: ${apiCount} emails to a local v3 API peer`,
            unit: 'emails/s',
            oursLabel: 'SendGridBackend',
            peerLabel: 'raw @sendgrid/mail',
          },
          ctx.rounds,
          async () => {
            peer.reset();
            return bulkRate(ours, emails);
          },
          async () => {
            peer.reset();
            return concurrentOps(apiCount, IN_FLIGHT, (i) => raw.send(message(i)));
          },
        ),
      );
    } finally {
      await ours.close();
      await peer.close();
    }
  }

  // SES: ours vs a raw SESv2Client, both against aws-ses-v2-local.
  {
    const peer = await SesPeer.start();
    const config = {
      endpoint: peer.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
      maxAttempts: 1,
    };
    const ours = new SesBackend({ ...config, retry });
    const raw = new SESv2Client(config);
    const emails = Array.from({ length: apiCount }, (_, i) => email(i));
    const rawSend = (i: number) => {
      const m = message(i);
      return raw.send(
        new SendEmailCommand({
          FromEmailAddress: m.from,
          Destination: { ToAddresses: [m.to] },
          Content: {
            Simple: {
              Subject: { Data: m.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: m.text, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    };
    try {
      out.push(
        await compare(
          {
            group: 'email',
            workload: `SES: ${apiCount} emails to aws-ses-v2-local`,
            unit: 'emails/s',
            oursLabel: 'SesBackend',
            peerLabel: 'raw SESv2Client',
          },
          ctx.rounds,
          async () => {
            await peer.clear();
            return bulkRate(ours, emails);
          },
          async () => {
            await peer.clear();
            return concurrentOps(apiCount, IN_FLIGHT, rawSend);
          },
        ),
      );
    } finally {
      await ours.close();
      raw.destroy();
      await peer.close();
    }
  }

  // Mailgun: ours vs a raw mailgun.js client, both against the local Messages API peer.
  {
    const apiKey = 'key-bench';
    const domain = 'mg.bench.test';
    const peer = await startMailgunPeer(apiKey, domain);
    const ours = new MailgunBackend(apiKey, domain, { url: peer.url, retry });
    const raw = new Mailgun(FormData).client({ username: 'api', key: apiKey, url: peer.url });
    const emails = Array.from({ length: apiCount }, (_, i) => email(i));
    try {
      out.push(
        await compare(
          {
            group: 'email',
            workload: `Mailgun: ${apiCount} emails to a local Messages API peer`,
            unit: 'emails/s',
            oursLabel: 'MailgunBackend',
            peerLabel: 'raw mailgun.js',
          },
          ctx.rounds,
          async () => {
            peer.reset();
            return bulkRate(ours, emails);
          },
          async () => {
            peer.reset();
            return concurrentOps(apiCount, IN_FLIGHT, (i) => {
              const m = message(i);
              return raw.messages.create(domain, { from: m.from, to: [m.to], subject: m.subject, text: m.text });
            });
          },
        ),
      );
    } finally {
      await ours.close();
      await peer.close();
    }
  }
  return out;
}
