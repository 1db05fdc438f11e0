import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../../lib/index.js';
import { assertPackage, importPackage, loadPackage } from '../../lib/utils/load-package.util.js';

const run = promisify(execFile);
const OPTIONAL = /node_modules\/(ioredis|nodemailer|@sendgrid|@aws-sdk|mailgun\.js|form-data|express-session)\//;

describe('the built package (dist/)', () => {
  it('loads no optional peer dependency and opens nothing when its root is imported', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const lib = await import('./dist/index.js');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => ${OPTIONAL}.test(f));
      console.log(JSON.stringify({ exports: Object.keys(lib).length, loaded, handles: process.getActiveResourcesInfo() }));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script]);
    const result = JSON.parse(stdout);
    expect(result.exports).toBeGreaterThan(5);
    expect(result.loaded).toEqual([]);
    expect(result.handles.filter((h: string) => /TCP|Timeout/.test(h))).toEqual([]);
  });

  it('MailgunBackend sends with the ES module build of mailgun.js, the copy an ESM app imports, and no CommonJS copy', async () => {
    const script = `
      import http from 'node:http';
      import { createRequire } from 'node:module';
      const { Email, MailgunBackend } = await import('./dist/index.js');
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ id: '<one@mg.example.test>', message: 'Queued. Thank you.' }));
        });
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const backend = new MailgunBackend('key-esm', 'mg.example.test', { url: 'http://127.0.0.1:' + server.address().port });
      const afterConstruction = Object.keys(createRequire(import.meta.url).cache).filter((f) => /mailgun\\.js\\//.test(f));
      const sent = await backend.sendEmail(Email.builder().from('a@example.com').to('b@example.com').subject('s').textBody('t').build());
      const cjsCopies = Object.keys(createRequire(import.meta.url).cache).filter((f) => /mailgun\\.js\\//.test(f));
      await backend.close();
      server.close();
      console.log(JSON.stringify({ afterConstruction, id: sent.messageId, cjsCopies }));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ afterConstruction: [], id: '<one@mg.example.test>', cjsCopies: [] });
  });

  it('SmtpBackend and ConsoleEmailBackend send with the ES module build of nodemailer, and no CommonJS copy', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { Writable } from 'node:stream';
      import { SMTPServer } from 'smtp-server';
      const { ConsoleEmailBackend, Email, SmtpBackend } = await import('./dist/index.js');
      const cjs = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => /nodemailer\\//.test(f));
      const received = [];
      const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _session, cb) {
          const chunks = [];
          stream.on('data', (c) => chunks.push(c));
          stream.on('end', () => { received.push(Buffer.concat(chunks).toString()); cb(); });
        },
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const smtp = new SmtpBackend({ host: '127.0.0.1', port: server.server.address().port, encryption: 'none' });
      let written = '';
      const stream = new Writable({ write(chunk, _enc, cb) { written += chunk; cb(); } });
      const console_ = new ConsoleEmailBackend({ stream });
      const afterConstruction = cjs();
      const email = Email.builder().from('a@example.com').to('b@example.com').subject('esm copy').textBody('t').build();
      await smtp.sendEmail(email);
      await console_.sendEmail(email);
      const cjsCopies = cjs();
      await smtp.close();
      await console_.close();
      await new Promise((resolve) => server.close(resolve));
      console.log(JSON.stringify({
        afterConstruction,
        smtp: received.length === 1 && received[0].includes('Subject: esm copy'),
        console: written.includes('Subject: esm copy'),
        cjsCopies,
      }));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ afterConstruction: [], smtp: true, console: true, cjsCopies: [] });
  });

  it('require() loads the CommonJS build and import the ES module build, by package name', async () => {
    const esm = await run('node', [
      '--input-type=module',
      '-e',
      `import { STORAGE_BACKEND } from 'nestjs-backends'; console.log(STORAGE_BACKEND, import.meta.resolve('nestjs-backends'))`,
    ]);
    const cjs = await run('node', [
      '-e',
      `console.log(require('nestjs-backends').STORAGE_BACKEND, require.resolve('nestjs-backends'))`,
    ]);
    const [esmToken, esmFile] = esm.stdout.trim().split(' ');
    const [cjsToken, cjsFile] = cjs.stdout.trim().split(' ');
    expect([esmToken, cjsToken]).toEqual(['NESTJS_BACKENDS_STORAGE_BACKEND', 'NESTJS_BACKENDS_STORAGE_BACKEND']);
    expect(esmFile).toMatch(/\/dist\/index\.js$/);
    expect(cjsFile).toMatch(/\/dist\/cjs\/index\.js$/);
  });

  it('both builds export the same names', async () => {
    const names = `console.log(JSON.stringify(Object.keys(lib).sort()))`;
    const esm = await run('node', [
      '--input-type=module',
      '-e',
      `const lib = await import('./dist/index.js'); ${names}`,
    ]);
    // Here @nestjs/common is version 12, an ES module, which Node 20.19+ require()s; the CommonJS Nest 11
    // apps of test/package/consumers.spec.ts load this build with no ES module anywhere.
    const cjs = await run('node', ['-e', `const lib = require('./dist/cjs/index.js'); ${names}`]);
    const esmNames = JSON.parse(esm.stdout) as string[];
    expect(esmNames.length).toBeGreaterThan(30);
    expect(JSON.parse(cjs.stdout)).toEqual(esmNames);
  });

  it('the CommonJS build loads no optional peer at require() and requires ioredis when a RedisBackend is created', async () => {
    const script = `
      const before = Object.keys(require.cache).filter((f) => ${OPTIONAL}.test(f));
      const { RedisBackend } = require('./dist/cjs/index.js');
      const atRequire = Object.keys(require.cache).filter((f) => ${OPTIONAL}.test(f));
      const backend = RedisBackend.create('redis://127.0.0.1:1', { connectTimeoutMs: 100 });
      const loaded = Object.keys(require.cache).filter((f) => /node_modules\\/ioredis\\//.test(f)).length > 0;
      backend.close().then(() => console.log(JSON.stringify({ before, atRequire, loaded })));
    `;
    const { stdout } = await run('node', ['-e', script]);
    expect(JSON.parse(stdout)).toEqual({ before: [], atRequire: [], loaded: true });
  });
});

describe('optional dependencies', () => {
  it('a missing package is a typed error naming the npm install command', () => {
    let caught: unknown;
    try {
      loadPackage('nestjs-backends-no-such-package', 'TestBackend');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MissingDependencyError);
    expect(caught).toMatchObject({ code: 'missing_dependency', packageName: 'nestjs-backends-no-such-package' });
    expect((caught as Error).message).toBe(
      'TestBackend needs the optional package "nestjs-backends-no-such-package": run `npm install nestjs-backends-no-such-package`',
    );
  });

  it('checking or importing a missing package gives the same typed error', async () => {
    const name = 'nestjs-backends-no-such-package';
    let checked: unknown;
    try {
      assertPackage(name, 'TestBackend');
    } catch (err) {
      checked = err;
    }
    expect(checked).toBeInstanceOf(MissingDependencyError);
    expect(checked).toMatchObject({ code: 'missing_dependency', packageName: name });
    const imported = await importPackage(name, 'TestBackend').catch((err: unknown) => err);
    expect(imported).toBeInstanceOf(MissingDependencyError);
    expect(imported).toMatchObject({ code: 'missing_dependency', packageName: name });
  });

  it('a failed import of nodemailer or mailgun.js fails that send with a typed error and is tried again on the next', async () => {
    // A module resolution hook (not a mock of the backends) makes the first import of each package fail.
    const hooks = `
      const failed = new Set();
      export async function resolve(specifier, context, next) {
        if ((specifier === 'nodemailer' || specifier === 'mailgun.js') && !failed.has(specifier)) {
          failed.add(specifier);
          throw Object.assign(new Error('simulated failure loading ' + specifier), { code: 'ERR_SIMULATED' });
        }
        return next(specifier, context);
      }
    `;
    const script = `
      import http from 'node:http';
      import { register } from 'node:module';
      import { SMTPServer } from 'smtp-server';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const { Email, EmailError, MailgunBackend, SmtpBackend } = await import('./dist/index.js');
      let smtpReceived = 0;
      const smtpServer = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _session, cb) { stream.resume(); stream.on('end', () => { smtpReceived++; cb(); }); },
      });
      await new Promise((resolve) => smtpServer.listen(0, '127.0.0.1', resolve));
      let mailgunReceived = 0;
      const mailgunServer = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          mailgunReceived++;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ id: '<retry@mg.example.test>', message: 'Queued. Thank you.' }));
        });
      });
      await new Promise((resolve) => mailgunServer.listen(0, '127.0.0.1', resolve));
      const email = Email.builder().from('a@example.com').to('b@example.com').subject('s').textBody('t').build();
      const attempt = (backend) => backend.sendEmail(email).then(
        (sent) => ({ ok: true, id: sent.messageId.length > 0 }),
        (err) => ({ ok: false, typed: err instanceof EmailError, code: err.code, cause: String(err.cause?.message) }),
      );
      const smtp = new SmtpBackend({ host: '127.0.0.1', port: smtpServer.server.address().port, encryption: 'none' });
      const mailgun = new MailgunBackend('key-retry', 'mg.example.test', { url: 'http://127.0.0.1:' + mailgunServer.address().port });
      const result = {
        smtp: [await attempt(smtp), await attempt(smtp)],
        mailgun: [await attempt(mailgun), await attempt(mailgun)],
      };
      await smtp.close();
      await mailgun.close();
      await new Promise((resolve) => smtpServer.close(resolve));
      mailgunServer.close();
      console.log(JSON.stringify({ ...result, smtpReceived, mailgunReceived }));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script]);
    const failedFirst = (name: string) => ({
      ok: false,
      typed: true,
      code: 'provider',
      cause: `simulated failure loading ${name}`,
    });
    expect(JSON.parse(stdout)).toEqual({
      smtp: [failedFirst('nodemailer'), { ok: true, id: true }],
      mailgun: [failedFirst('mailgun.js'), { ok: true, id: true }],
      smtpReceived: 1,
      mailgunReceived: 1,
    });
  });

  it('importPackage loads a present package and assertPackage accepts it', async () => {
    expect(() => assertPackage('form-data', 'TestBackend')).not.toThrow();
    const mod = await importPackage<{ default: unknown }>('mailgun.js', 'TestBackend');
    expect(typeof mod.default).toBe('function');
  });
});
