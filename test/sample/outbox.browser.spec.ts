import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { createSampleApp } from '../../sample/bootstrap.js';
import { freePort } from '../utils/free-port.js';

const CHROMIUM = '/usr/bin/chromium';

describe('sample /outbox in a real browser', () => {
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
});
