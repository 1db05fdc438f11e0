import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('test setup without redis-server', () => {
  it('fails with a one-line message telling how to install it', async () => {
    const script = `import('./test/utils/redis-server.js').then((m) => m.RedisProcess.start()).catch((e) => { console.log(e.message); });`;
    // A PATH with node but no redis-server.
    const { stdout } = await run(process.execPath, ['-e', script], { env: { PATH: '/nonexistent' } });
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(
      /^redis-server was not found on PATH: install it \(Debian\/Ubuntu: sudo apt-get install -y redis-server redis-tools/,
    );
  });
});
