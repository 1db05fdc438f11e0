import { describe, expect, it } from '@jest/globals';
import { Email, MemoryEmailBackend } from '../../lib/index.js';

const email = (subject: string) =>
  Email.builder().from('app@example.com').to('user@example.com').subject(subject).textBody('Hello').build();

describe('MemoryEmailBackend', () => {
  it('keeps every sent email with its message id and time, oldest first, until clear()', async () => {
    const backend = new MemoryEmailBackend();
    const before = Date.now();
    const first = await backend.sendEmail(email('one'));
    const second = await backend.sendEmail(email('two'));
    const records = backend.sentRecords();
    expect(records.map((r) => r.email.subject)).toEqual(['one', 'two']);
    expect(records.map((r) => r.messageId)).toEqual([first.messageId, second.messageId]);
    for (const r of records) {
      expect(r.sentAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(r.sentAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
    records[0].sentAt.setFullYear(2000);
    expect(backend.sentRecords()[0].sentAt.getFullYear()).not.toBe(2000);
    backend.clear();
    expect(backend.sentRecords()).toEqual([]);
    expect(backend.sentEmails()).toEqual([]);
    await backend.close();
  });
});
