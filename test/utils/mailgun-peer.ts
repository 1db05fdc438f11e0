import busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { HttpPeer, type RecordedRequest, type Reply } from './http-peer.js';

/** A Mailgun multipart request, decoded. */
export interface MailgunForm {
  fields: [string, string][];
  files: { field: string; filename: string; mimeType: string; data: Buffer }[];
}

/** Decodes the multipart/form-data body of a recorded request with busboy. */
export function parseMailgunForm(req: RecordedRequest): Promise<MailgunForm> {
  return new Promise((resolve, reject) => {
    const form: MailgunForm = { fields: [], files: [] };
    const bb = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    bb.on('field', (name, value) => form.fields.push([name, value]));
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () =>
        form.files.push({ field, filename: info.filename ?? '', mimeType: info.mimeType, data: Buffer.concat(chunks) }),
      );
    });
    bb.on('close', () => resolve(form));
    bb.on('error', reject);
    Readable.from([req.body]).pipe(bb);
  });
}

/** All values of a repeated form field. */
export function fieldValues(form: MailgunForm, name: string): string[] {
  return form.fields.filter(([n]) => n === name).map(([, v]) => v);
}

/**
 * Answers `POST /v3/{domain}/messages` and `/messages.mime` as Mailgun documents them: Basic auth
 * `api:{key}`, multipart fields checked, 200 `{ id, message }`.
 */
export async function startMailgunPeer(apiKey: string, domain: string): Promise<HttpPeer> {
  const expected = `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`;
  return HttpPeer.start(async (req): Promise<Reply> => {
    const mime = req.url === `/v3/${domain}/messages.mime`;
    if (req.method !== 'POST' || (req.url !== `/v3/${domain}/messages` && !mime))
      return { status: 404, body: { message: 'Not Found' } };
    if (req.headers.authorization !== expected) return { status: 401, body: 'Forbidden' };
    if (!String(req.headers['content-type']).startsWith('multipart/form-data'))
      return { status: 400, body: { message: 'multipart/form-data expected' } };
    const form = await parseMailgunForm(req);
    if (fieldValues(form, 'to').length === 0) return { status: 400, body: { message: "'to' parameter is missing" } };
    if (mime) {
      if (!form.files.some((f) => f.field === 'message'))
        return { status: 400, body: { message: "'message' parameter is missing" } };
    } else {
      if (fieldValues(form, 'from').length !== 1)
        return { status: 400, body: { message: "'from' parameter is missing" } };
      if (fieldValues(form, 'subject').length !== 1)
        return { status: 400, body: { message: "'subject' parameter is missing" } };
      if (fieldValues(form, 'text').length + fieldValues(form, 'html').length === 0) {
        return { status: 400, body: { message: 'Need at least one of text or html parameters' } };
      }
    }
    if (fieldValues(form, 'o:tag').length > 10) return { status: 400, body: { message: 'Too many tags' } };
    return { status: 200, body: { id: `<${randomUUID()}@${domain}>`, message: 'Queued. Thank you.' } };
  });
}
