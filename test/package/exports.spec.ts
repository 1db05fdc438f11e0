import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MissingDependencyError } from '../../lib/index.js';
import { loadPackage } from '../../lib/utils/load-package.util.js';

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

  it('can be require()d from CommonJS on Node >= 20.19', async () => {
    const script = `const lib = require('./dist/index.js'); console.log(typeof lib.BackendsModule, typeof lib.MemoryBackend);`;
    const { stdout } = await run('node', ['-e', script]);
    expect(stdout.trim()).toBe('function function');
  });

  it('resolves by its package name through the exports map, for import and require', async () => {
    const esm = await run('node', [
      '--input-type=module',
      '-e',
      `import { STORAGE_BACKEND } from 'nestjs-backends'; console.log(STORAGE_BACKEND)`,
    ]);
    const cjs = await run('node', ['-e', `console.log(require('nestjs-backends').STORAGE_BACKEND)`]);
    expect(esm.stdout.trim()).toBe('NESTJS_BACKENDS_STORAGE_BACKEND');
    expect(cjs.stdout.trim()).toBe('NESTJS_BACKENDS_STORAGE_BACKEND');
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
});
