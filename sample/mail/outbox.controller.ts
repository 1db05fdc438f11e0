import { Controller, Get, Header } from '@nestjs/common';
import { type EmailBackend, InjectEmail, MemoryEmailBackend } from 'nestjs-backends';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** /outbox: the emails the memory email backend holds, so a developer sees what the app sent. */
@Controller('outbox')
export class OutboxController {
  constructor(@InjectEmail() private readonly email: EmailBackend) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    if (!(this.email instanceof MemoryEmailBackend)) {
      return this.layout('<p>The outbox shows emails only with the memory email backend (no email variable set).</p>');
    }
    const records = this.email.sentRecords().reverse();
    const rows = records.map(({ email, sentAt, messageId }) => {
      const preview = email.html ?? `<pre>${escape(email.text ?? '')}</pre>`;
      return `<article class="email" data-message-id="${escape(messageId)}">
  <dl>
    <dt>From</dt><dd class="from">${escape(email.from)}</dd>
    <dt>To</dt><dd class="to">${escape([...email.to, ...email.cc].join(', '))}</dd>
    <dt>Subject</dt><dd class="subject">${escape(email.subject)}</dd>
    <dt>Sent</dt><dd><time datetime="${sentAt.toISOString()}">${sentAt.toISOString()}</time></dd>
    <dt>Attachments</dt><dd>${email.attachments.map((a) => escape(`${a.filename} (${a.size} bytes)`)).join(', ') || 'none'}</dd>
  </dl>
  <iframe class="preview" sandbox="" title="HTML preview" srcdoc="${escape(preview)}"></iframe>
</article>`;
    });
    return this.layout(
      `<p>${records.length} email${records.length === 1 ? '' : 's'} sent.</p>\n${rows.join('\n') || '<p class="empty">Nothing sent yet.</p>'}`,
    );
  }

  private layout(body: string): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outbox</title>
<style>body{font-family:sans-serif;margin:2rem;max-width:60rem}article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
dl{display:grid;grid-template-columns:8rem 1fr;margin:0}dt{font-weight:bold}iframe{width:100%;height:8rem;border:1px dashed #aaa}</style>
</head><body><h1>Outbox</h1>
${body}
</body></html>`;
  }
}
