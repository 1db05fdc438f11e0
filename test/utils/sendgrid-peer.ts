import { randomUUID } from 'node:crypto';
import { HttpPeer, type RecordedRequest, type Reply } from './http-peer.js';

/** A SendGrid v3 Mail Send request body, as the API documents it. */
export interface SendGridBody {
  personalizations: {
    to: { email: string; name?: string }[];
    cc?: { email: string; name?: string }[];
    bcc?: { email: string; name?: string }[];
  }[];
  from: { email: string; name?: string };
  reply_to?: { email: string; name?: string };
  subject: string;
  content: { type: string; value: string }[];
  attachments?: { content: string; filename: string; type?: string; disposition?: string; content_id?: string }[];
  headers?: Record<string, string>;
  categories?: string[];
  custom_args?: Record<string, string>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fieldErrors(body: unknown): { field: string; message: string }[] {
  const errors: { field: string; message: string }[] = [];
  const b = body as Partial<SendGridBody> | undefined;
  const isAddress = (a: unknown) =>
    typeof (a as { email?: unknown })?.email === 'string' && /^[^@\s]+@[^@\s]+$/.test((a as { email: string }).email);
  if (!b || typeof b !== 'object') return [{ field: 'body', message: 'Invalid JSON' }];
  if (!Array.isArray(b.personalizations) || b.personalizations.length === 0) {
    errors.push({ field: 'personalizations', message: 'The personalizations field is required' });
  } else {
    for (const p of b.personalizations) {
      if (!Array.isArray(p.to) || p.to.length === 0 || !p.to.every(isAddress)) {
        errors.push({ field: 'personalizations.0.to', message: 'The to array is required' });
      }
      for (const k of ['cc', 'bcc'] as const) {
        if (p[k] !== undefined && !(Array.isArray(p[k]) && p[k].every(isAddress))) {
          errors.push({ field: `personalizations.0.${k}`, message: `Invalid ${k}` });
        }
      }
    }
  }
  if (!isAddress(b.from)) errors.push({ field: 'from.email', message: 'The from email is required' });
  if (b.reply_to !== undefined && !isAddress(b.reply_to))
    errors.push({ field: 'reply_to', message: 'Invalid reply_to' });
  if (typeof b.subject !== 'string' || b.subject.length === 0)
    errors.push({ field: 'subject', message: 'The subject is required' });
  if (!Array.isArray(b.content) || b.content.length === 0) {
    errors.push({ field: 'content', message: 'At least one content is required' });
  } else {
    const types = b.content.map((c) => c.type);
    if (types.includes('text/plain') && types[0] !== 'text/plain') {
      errors.push({ field: 'content', message: 'If present, text/plain must be first, followed by text/html' });
    }
    if (!b.content.every((c) => typeof c.value === 'string' && c.value.length > 0)) {
      errors.push({ field: 'content.value', message: 'Content values must be non-empty strings' });
    }
  }
  for (const a of b.attachments ?? []) {
    if (typeof a.content !== 'string' || !BASE64.test(a.content))
      errors.push({ field: 'attachments.content', message: 'Attachment content must be base64' });
    if (typeof a.filename !== 'string' || a.filename.length === 0)
      errors.push({ field: 'attachments.filename', message: 'Attachment filename is required' });
    if (a.disposition === 'inline' && !a.content_id)
      errors.push({ field: 'attachments.content_id', message: 'Inline attachments need content_id' });
  }
  if (
    b.categories !== undefined &&
    !(Array.isArray(b.categories) && b.categories.length <= 10 && b.categories.every((c) => typeof c === 'string'))
  ) {
    errors.push({ field: 'categories', message: 'Categories must be at most 10 strings' });
  }
  for (const k of ['headers', 'custom_args'] as const) {
    const v = b[k];
    if (v !== undefined && !(typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string'))) {
      errors.push({ field: k, message: `${k} values must be strings` });
    }
  }
  return errors;
}

/** Answers `POST /v3/mail/send` as SendGrid documents it: Bearer auth, JSON schema checks, 202 with X-Message-Id. */
export async function startSendGridPeer(apiKey: string): Promise<HttpPeer> {
  return HttpPeer.start((req: RecordedRequest): Reply => {
    if (req.method !== 'POST' || req.url !== '/v3/mail/send')
      return { status: 404, body: { errors: [{ message: 'Not found' }] } };
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return {
        status: 401,
        body: {
          errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }],
        },
      };
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      return { status: 415, body: { errors: [{ message: 'Content-Type must be application/json' }] } };
    }
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return { status: 400, body: { errors: [{ field: 'body', message: 'Invalid JSON' }] } };
    }
    const errors = fieldErrors(body);
    if (errors.length) return { status: 400, body: { errors } };
    return { status: 202, headers: { 'x-message-id': randomUUID().replace(/-/g, '') } };
  });
}

/** The JSON body of a recorded SendGrid request. */
export function sendGridBody(req: RecordedRequest): SendGridBody {
  return JSON.parse(req.body.toString('utf8')) as SendGridBody;
}
