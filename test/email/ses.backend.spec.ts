import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { randomBytes } from 'node:crypto';
import { Attachment, Email, SesBackend } from '../../lib/index.js';
import { HttpPeer } from '../utils/http-peer.js';
import { SesPeer } from '../utils/ses-peer.js';
import { everythingShown, expectNoSecret } from './secrets.util.js';
import { failure } from './failure.util.js';

process.env.AWS_EC2_METADATA_DISABLED = 'true';
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'ses-spec-Secret-Access-Key' };
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 50 };
const simple = () =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject('hello').textBody('body').build();

let ses: SesPeer;
let client: SESv2Client;
let inputs: SendEmailCommandInput[];
let backend: SesBackend;

beforeAll(async () => {
  ses = await SesPeer.start();
  client = new SESv2Client({ endpoint: ses.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  // Records what the SDK is asked to send (a real middleware of the real client, not a mock).
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendEmailCommand') inputs.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordInput' },
  );
  backend = new SesBackend({ client, retry });
});
beforeEach(async () => {
  inputs = [];
  await ses.clear();
});
afterAll(async () => {
  await backend.close();
  client.destroy();
  await ses.close();
});

describe('SesBackend against aws-ses-v2-local', () => {
  it('uses Simple content with BccAddresses and Attachments by default', async () => {
    const bytes = randomBytes(50_000);
    const email = Email.builder()
      .from('Sénder <sender@example.com>')
      .to('a@example.com')
      .bcc('hidden@example.com')
      .subject('Grüße')
      .bothBody('plain', '<p>html</p>')
      .attachment(new Attachment('a.bin', 'application/octet-stream', bytes))
      .header('X-Tenant-Id', 't-1')
      .metadata('tenant', 't1')
      .build();
    const sent = await backend.sendEmail(email);
    expect(sent.backend).toBe('ses');
    const [input] = inputs;
    expect(input.Destination).toEqual({ ToAddresses: ['a@example.com'], BccAddresses: ['hidden@example.com'] });
    expect(input.FromEmailAddress).toBe('=?UTF-8?B?U8OpbmRlcg==?= <sender@example.com>');
    expect(input.Content?.Simple?.Attachments?.[0]).toMatchObject({
      FileName: 'a.bin',
      ContentDisposition: 'ATTACHMENT',
    });
    expect(input.EmailTags).toEqual([{ Name: 'tenant', Value: 't1' }]);
    const [stored] = await ses.emails();
    expect(stored.messageId).toBe(sent.messageId);
    expect(stored.destination.bcc).toEqual(['hidden@example.com']);
    expect(Buffer.from(stored.attachments[0].content, 'base64').equals(bytes)).toBe(true);
  });

  it('switches to Raw MIME for inline images, with every recipient in Destination and no Bcc header', async () => {
    const png = randomBytes(1000);
    const email = Email.builder()
      .from('sender@example.com')
      .to('a@example.com')
      .cc('c@example.com')
      .bcc('hidden@example.com')
      .subject('inline')
      .htmlBody('<img src="cid:logo@nb">')
      .attachment(Attachment.inline('logo.png', 'image/png', png, 'logo@nb'))
      .build();
    await backend.sendEmail(email);
    const [input] = inputs;
    expect(input.Content?.Simple).toBeUndefined();
    expect(input.Destination).toEqual({
      ToAddresses: ['a@example.com'],
      CcAddresses: ['c@example.com'],
      BccAddresses: ['hidden@example.com'],
    });
    const raw = Buffer.from(input.Content!.Raw!.Data!);
    expect(raw.toString('latin1')).not.toMatch(/^bcc:/im);
    const parsed = await simpleParser(raw);
    expect(parsed.attachments[0].cid).toBe('logo@nb');
    expect(parsed.attachments[0].content.equals(png)).toBe(true);
    expect(await ses.emails()).toHaveLength(1);
  });

  it('leaves a client it was given open on close()', async () => {
    const own = new SesBackend({ client, retry });
    await own.close();
    await expect(backend.sendEmail(simple())).resolves.toMatchObject({ backend: 'ses' });
  });
});

describe('SesBackend: errors from an SES-shaped HTTP peer', () => {
  let peer: HttpPeer;
  let failing: SesBackend;
  beforeAll(async () => {
    peer = await HttpPeer.start(() => ({ status: 200, body: { MessageId: 'ok-id' } }));
    failing = new SesBackend({ endpoint: peer.url, region: 'us-east-1', credentials, retry, timeoutMs: 500 });
  });
  beforeEach(() => peer.reset());
  afterAll(async () => {
    await failing.close();
    await peer.close();
  });
  const awsError = (status: number, type: string, message: string) => ({
    status,
    headers: { 'x-amzn-errortype': type, 'x-amzn-requestid': 'req-1' },
    body: { message },
  });

  it('TooManyRequestsException is `rate_limited` and retried by us (the SDK makes one attempt)', async () => {
    peer.script(awsError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded'));
    await expect(failing.sendEmail(simple())).resolves.toEqual({ messageId: 'ok-id', backend: 'ses' });
    expect(peer.requests).toHaveLength(2);
  });

  it('MessageRejected is `rejected` and not retried; the secret key is nowhere', async () => {
    peer.script(awsError(400, 'MessageRejected', 'Email address is not verified'));
    const err = await failure(failing.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'rejected', status: 400, retryable: false });
    expect(err.providerMessage).toMatch(/MessageRejected: Email address is not verified/);
    expect(peer.requests).toHaveLength(1);
    expectNoSecret(everythingShown(err, failing), [credentials.secretAccessKey]);
  });

  it('a 500 is possibly delivered: one request without a key', async () => {
    peer.script(awsError(500, 'InternalFailure', 'oops'));
    const err = await failure(failing.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'provider', status: 500, possiblyDelivered: true });
    expect(peer.requests).toHaveLength(1);
  });

  it('a hang is `timeout`', async () => {
    peer.script('hang');
    const err = await failure(failing.sendEmail(simple()));
    expect(err.code).toBe('timeout');
    expect(peer.requests).toHaveLength(1);
  });
});
