import { describe, expect, it, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'nb-pack-'));

const APP = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BackendsModule, STORAGE_BACKEND, EMAIL_BACKEND, Email } from 'nestjs-backends';

class AppModule {}
Module({ imports: [BackendsModule.forRoot({ email: { type: 'memory' } })] })(AppModule);

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const storage = app.get(STORAGE_BACKEND);
await storage.set('greeting', { hello: 'world' }, 60000);
const email = app.get(EMAIL_BACKEND);
const sent = await email.sendEmail(
  Email.builder().from('app@example.com').to('user@example.com').subject('Hi').textBody('Hello').build(),
);
console.log(JSON.stringify({ value: await storage.get('greeting'), backend: sent.backend }));
await app.close();
`;

describe('npm pack', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('ships only dist/, README, LICENSE and CHANGELOG, and boots in scratch Nest 12 and Nest 11 apps', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: process.cwd() });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = info.files.map((f) => f.path);
    const unexpected = paths.filter(
      (p) => !/^dist\//.test(p) && !['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json'].includes(p),
    );
    expect(unexpected).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE', 'CHANGELOG.md']),
    );
    expect(paths.some((p) => p.includes('.spec.') || p.startsWith('test/') || p.startsWith('lib/'))).toBe(false);

    for (const nest of ['12.5.1', '11.2.10']) {
      const app = join(scratch, `app-nest-${nest}`);
      await run('mkdir', ['-p', app]);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
      writeFileSync(join(app, 'main.mjs'), APP);
      await run(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          '--loglevel=error',
          join(scratch, info.filename),
          `@nestjs/common@${nest}`,
          `@nestjs/core@${nest}`,
          'reflect-metadata@0.2.2',
          'rxjs@7.8.2',
        ],
        { cwd: app },
      );
      const out = await run('node', ['main.mjs'], { cwd: app });
      expect({ nest, ...JSON.parse(out.stdout) }).toEqual({ nest, value: { hello: 'world' }, backend: 'memory' });
    }
  }, 300_000);
});
