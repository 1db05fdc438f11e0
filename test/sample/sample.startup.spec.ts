import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../utils/free-port.js';

const run = promisify(execFile);

/**
 * The sample's real entry point (`sample/main.ts`) in its own process, as `npm run sample` starts
 * it: compiled with the sample's tsconfig into `.tmp/` inside the package, where `nestjs-backends`
 * resolves to the built `dist/` by the package's own name.
 */
describe('sample startup in its own process', () => {
  let outDir: string;
  beforeAll(async () => {
    mkdirSync(join(process.cwd(), '.tmp'), { recursive: true });
    outDir = mkdtempSync(join(process.cwd(), '.tmp', 'sample-startup-'));
    await run('npx', ['tsc', '-p', 'tsconfig.sample.json', '--outDir', outDir, '--sourceMap', 'false'], {
      timeout: 150_000,
    });
  }, 180_000);
  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** Starts the sample with `env`; resolves its exit code and output (killed after 30 s). */
  async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const main = join(outDir, 'sample', 'main.js');
    return new Promise((resolve) => {
      execFile(
        'node',
        [main],
        { timeout: 30_000, env: { PATH: process.env.PATH ?? '', PORT: '0', ...env } },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
  }

  it('with a Redis Cluster that is down, prints one line naming REDIS_CLUSTER_NODES and exits non-zero (#21.11)', async () => {
    const { code, stderr } = await start({ REDIS_CLUSTER_NODES: `127.0.0.1:${await freePort()}` });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.split('\n').filter((l) => l.startsWith('sample: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sample: REDIS_CLUSTER_NODES: Redis is unreachable \(.+\)$/);
  }, 60_000);

  it('with a standalone Redis that is down, prints one line naming REDIS_URL and exits non-zero', async () => {
    const { code, stderr } = await start({ REDIS_URL: `redis://:Sup3rSecretPw@127.0.0.1:${await freePort()}` });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.split('\n').filter((l) => l.startsWith('sample: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sample: REDIS_URL: Redis is unreachable/);
    expect(stderr).not.toContain('Sup3rSecretPw');
  }, 60_000);
});
