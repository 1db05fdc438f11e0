import { Injectable } from '@nestjs/common';
import { Attachment, type BulkResult, Email, type EmailBackend, InjectEmail, type SentEmail } from 'nestjs-backends';
import { escapeHtml } from '../html/html.util.js';

/** Sends the sample's emails through whichever backend the environment configured. */
@Injectable()
export class MailService {
  constructor(@InjectEmail() private readonly email: EmailBackend) {}

  /** A welcome email with an HTML body, a text alternative and an attachment. */
  welcome(to: string, name: string, idempotencyKey?: string): Promise<SentEmail> {
    const email = Email.builder()
      .from('Sample App <noreply@sample.example>')
      .to(to)
      .subject(`Welcome, ${name}!`)
      .bothBody(
        `Hello ${name},\n\nthanks for signing up.`,
        `<h1>Hello ${escapeHtml(name)}</h1><p>Thanks for signing up.</p>`,
      )
      .attachment(
        new Attachment('getting-started.txt', 'text/plain', `Getting started, ${name}:\n1. Log in\n2. Explore\n`),
      )
      .tag('welcome')
      .build();
    return this.email.sendEmail(email, { idempotencyKey });
  }

  /** A newsletter to many recipients: one result per recipient, in order. */
  async newsletter(recipients: string[]): Promise<{ to: string; result: BulkResult }[]> {
    const emails: Email[] = [];
    const refused: Map<number, BulkResult> = new Map();
    recipients.forEach((to, i) => {
      try {
        emails.push(
          Email.builder()
            .from('Sample App <news@sample.example>')
            .to(to)
            .subject('This month at Sample App')
            .htmlBody('<p>Here is what is new.</p>')
            .build(),
        );
      } catch (error) {
        refused.set(i, { ok: false, error: error as never });
      }
    });
    const sent = await this.email.sendBulk(emails, { concurrency: 5 });
    let next = 0;
    return recipients.map((to, i) => ({ to, result: refused.get(i) ?? sent[next++] }));
  }
}
