import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';
import { Attachment, EMAIL_BACKEND, Email, type MemoryEmailBackend } from '../../lib/index.js';
import { createSampleApp } from '../../sample/bootstrap.js';
import { freePort } from '../utils/free-port.js';

const CHROMIUM = '/usr/bin/chromium';

describe('sample index and /outbox in a real browser', () => {
  let app: INestApplication;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: install Debian's chromium (sudo apt-get install -y chromium)`);
    }
    app = await createSampleApp({}, false);
    const port = await freePort();
    await app.listen(port, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows an email sent through the API, with its HTML preview', async () => {
    const res = await fetch(`${base}/mail/welcome`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'Ada <ada@example.com>', name: 'Ada' }),
    });
    expect(res.status).toBe(201);

    const page = await browser.newPage();
    await page.goto(`${base}/outbox`);
    expect(await page.title()).toBe('Outbox');
    const email = page.locator('article.email').first();
    await expect(email.locator('.subject').textContent()).resolves.toBe('Welcome, Ada!');
    await expect(email.locator('.to').textContent()).resolves.toBe('Ada <ada@example.com>');
    await expect(email.locator('.from').textContent()).resolves.toBe('Sample App <noreply@sample.example>');
    const preview = page.frameLocator('article.email iframe.preview').first();
    await expect(preview.locator('h1').textContent()).resolves.toBe('Hello Ada');
    await page.close();
  }, 60_000);

  /** The memory outbox of the sample. */
  const outbox = () => app.get<MemoryEmailBackend>(EMAIL_BACKEND);

  it('opens GET routes from the index links and posts its forms as JSON, keeping the session', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    expect(await page.title()).toBe('nestjs-backends sample');
    await expect(page.locator('.demo-users').textContent()).resolves.toContain('alice / wonderland');

    await page.locator('a.route-link[href="/visits/home"]').click();
    expect(new URL(page.url()).pathname).toBe('/visits/home');
    expect(JSON.parse((await page.locator('body').textContent()) ?? '')).toMatchObject({ page: 'home' });
    await page.goBack();

    // The login form comes filled in with a demo account; its answer shows below it.
    const login = page.locator('form[action="/account/login"]');
    await login.locator('button').click();
    await expect(login.locator('output[data-status]').textContent()).resolves.toMatch(/^200 [\s\S]*"user": "alice"/);
    await page.locator('a.route-link[href="/account/me"]').click();
    expect(JSON.parse((await page.locator('body').textContent()) ?? '')).toEqual({ user: 'alice' });
    await page.goBack();

    // The newsletter textarea is sent as an array, one recipient per line.
    const newsletter = page.locator('form[action="/mail/newsletter"]');
    await newsletter.locator('textarea').fill('a@example.com\nnot an address');
    await newsletter.locator('button').click();
    const answer = newsletter.locator('output[data-status]');
    await expect(answer.getAttribute('data-status')).resolves.toBe('201');
    const results = JSON.parse(((await answer.textContent()) ?? '').replace(/^201 /, ''));
    expect(results.map((r: { to: string; ok: boolean }) => [r.to, r.ok])).toEqual([
      ['a@example.com', true],
      ['not an address', false],
    ]);

    // A bad form answers 400 naming the field.
    const welcome = page.locator('form[action="/mail/welcome"]');
    await welcome.locator('input[name="to"]').fill('');
    await welcome.locator('button').click();
    await expect(welcome.locator('output[data-status]').textContent()).resolves.toContain(
      'to must be a non-empty string of at most 320 characters',
    );

    // The outbox's clear form is a plain form: the browser follows it back to /outbox.
    await page.locator('form[action="/outbox/clear"] button').click();
    await page.waitForURL(`${base}/outbox`);
    await expect(page.locator('p.empty').textContent()).resolves.toBe('Nothing sent yet.');
    await page.close();
  }, 60_000);

  it('shows text beside HTML, cc/bcc, downloadable attachments, escapes every value, and clears', async () => {
    outbox().clear();
    await outbox().sendEmail(
      Email.builder()
        .from('Sample App <noreply@sample.example>')
        .to('ada@example.com')
        .cc('"<b>Carl</b>" <carl@example.com>')
        .bcc('eve@example.com')
        .subject('<script>window.pwned = 1</script>')
        .bothBody('Plain <text> part', '<p class="greeting">Rich part</p><script>parent.pwned = 2</script>')
        .attachment(new Attachment('notes <1>.txt', 'text/plain', 'the notes'))
        .build(),
    );
    const page = await browser.newPage();
    await page.goto(`${base}/outbox`);
    const email = page.locator('article.email').first();
    await expect(email.locator('.subject').textContent()).resolves.toBe('<script>window.pwned = 1</script>');
    await expect(email.locator('.cc').textContent()).resolves.toBe('"<b>Carl</b>" <carl@example.com>');
    await expect(email.locator('.bcc').textContent()).resolves.toBe('eve@example.com');
    await expect(email.locator('pre.text').textContent()).resolves.toBe('Plain <text> part');
    const preview = page.frameLocator('article.email iframe.preview').first();
    await expect(preview.locator('p.greeting').textContent()).resolves.toBe('Rich part');
    // Neither the subject nor the sandboxed HTML part ran a script.
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    const [download] = await Promise.all([page.waitForEvent('download'), email.locator('a.attachment').click()]);
    await expect(email.locator('a.attachment').textContent()).resolves.toBe('notes <1>.txt');
    // Chromium replaces the characters a file name cannot hold (`notes _1_.txt`).
    expect(download.suggestedFilename()).toMatch(/^notes .1.\.txt$/);
    expect(await readFile(await download.path(), 'utf8')).toBe('the notes');

    await page.locator('button.clear').click();
    await page.waitForURL(`${base}/outbox`);
    await expect(page.locator('p.empty').textContent()).resolves.toBe('Nothing sent yet.');
    expect(outbox().sentEmails()).toEqual([]);
    await page.close();
  }, 60_000);
});
