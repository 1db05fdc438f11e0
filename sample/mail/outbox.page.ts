import type { SentRecord } from 'nestjs-backends';
import { escapeHtml, htmlPage } from '../html/html.util.js';

/** The path that downloads attachment `index` of the email `messageId`. */
export function attachmentPath(messageId: string, index: number): string {
  return `/outbox/${encodeURIComponent(messageId)}/attachments/${index}`;
}

function addresses(list: readonly string[]): string {
  return list.length === 0 ? '<span class="none">none</span>' : escapeHtml(list.join(', '));
}

function emailArticle({ email, messageId, sentAt }: SentRecord): string {
  const attachments = email.attachments.map(
    (a, i) =>
      `<li><a class="attachment" href="${escapeHtml(attachmentPath(messageId, i))}" download="${escapeHtml(a.filename)}">` +
      `${escapeHtml(a.filename)}</a> (${escapeHtml(a.contentType)}, ${a.size} bytes)</li>`,
  );
  // The HTML part runs in a sandboxed frame (no scripts, no same-origin access); the text part is shown as text.
  const html =
    email.html === undefined
      ? '<p class="none">no HTML part</p>'
      : `<iframe class="preview" sandbox="" title="HTML preview" srcdoc="${escapeHtml(email.html)}"></iframe>`;
  const text =
    email.text === undefined ? '<p class="none">no text part</p>' : `<pre class="text">${escapeHtml(email.text)}</pre>`;
  return `<article class="email" data-message-id="${escapeHtml(messageId)}">
  <dl>
    <dt>From</dt><dd class="from">${escapeHtml(email.from)}</dd>
    <dt>To</dt><dd class="to">${addresses(email.to)}</dd>
    <dt>Cc</dt><dd class="cc">${addresses(email.cc)}</dd>
    <dt>Bcc</dt><dd class="bcc">${addresses(email.bcc)}</dd>
    ${email.replyTo === undefined ? '' : `<dt>Reply-To</dt><dd class="reply-to">${escapeHtml(email.replyTo)}</dd>`}
    <dt>Subject</dt><dd class="subject">${escapeHtml(email.subject)}</dd>
    <dt>Sent</dt><dd><time datetime="${sentAt.toISOString()}">${sentAt.toISOString()}</time></dd>
    <dt>Attachments</dt><dd>${attachments.length === 0 ? '<span class="none">none</span>' : `<ul class="attachments">${attachments.join('')}</ul>`}</dd>
  </dl>
  <div class="bodies">
    <section><h3>Text</h3>${text}</section>
    <section><h3>HTML preview</h3>${html}</section>
  </div>
</article>`;
}

/** The outbox page: newest email first, every value escaped. */
export function outboxPage(records: readonly SentRecord[]): string {
  const count = `<p class="count">${records.length} email${records.length === 1 ? '' : 's'} sent.</p>`;
  const clear = `<form method="post" action="/outbox/clear"><button type="submit" class="clear">Clear the outbox</button></form>`;
  const list =
    records.length === 0
      ? '<p class="empty">Nothing sent yet.</p>'
      : [...records].reverse().map(emailArticle).join('\n');
  return htmlPage('Outbox', `<p><a href="/">← all routes</a></p><h1>Outbox</h1>\n${count}\n${clear}\n${list}`);
}

/** The page shown when the email backend is not the memory one. */
export function noOutboxPage(): string {
  return htmlPage(
    'Outbox',
    '<p><a href="/">← all routes</a></p><h1>Outbox</h1>\n' +
      '<p>The outbox shows emails only with the memory email backend (no email variable set).</p>',
  );
}
