#!/usr/bin/env node
// Runs the throttler, cache and session suites under libfaketime with the wall clock set 50 ms
// before a window boundary of their keys, to show that no count, TTL or expiry they assert depends
// on where the wall clock stands (issue 21 item 2). `npm run test:boundary` (builds first);
// `--no-build` skips the build. Needs `faketime` (libfaketime) on the PATH.
//
// libfaketime's "@<time>" starts every Node process's clock (this script's probes, jest) at that
// time when the process starts, and lets it run from there. redis-server cannot run with libfaketime
// preloaded (it hangs in libfaketime's initialisation: "Unexpected recursive calls to
// clock_gettime()"), so the Redis servers the suites start keep the real clock: wrappers first on
// the PATH start redis-server and redis-cli without LD_PRELOAD. Redis TTLs are relative, so its
// clock is not the one under test.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const LEAD_MS = 50;
const HOUR = 3_600_000;

/**
 * Where a key's windows end, mirroring the Throttler: window k of a key is [k * ttl, (k + 1) * ttl)
 * of the clock shifted by the first 32 bits of the SHA-256 of the key, modulo ttl.
 */
function nextBoundary(hashedKey, ttlMs, after) {
  const offset = createHash('sha256').update(hashedKey).digest().readUInt32BE(0) % ttlMs;
  return (Math.floor((after + offset) / ttlMs) + 1) * ttlMs - offset;
}

const now = Date.now();
const groups = [
  {
    name: 'throttler',
    paths: ['test/throttler', 'test/sample/sample.e2e.spec.ts'],
    // The key of issue 21.2: '/t/limited' (3/hour) of test/e2e/web/throttle.app.ts, client 127.0.0.1;
    // its windows end at xx:37:29.391 UTC.
    key: "guard 'ThrottledController.limited' / 'default' / 127.0.0.1, 3/hour",
    boundary: nextBoundary('ThrottledController.limited\u0000default\u0000127.0.0.1', HOUR, now),
  },
  {
    name: 'cache and session',
    paths: ['test/cache', 'test/session'],
    // Cache entries and sessions expire a TTL after they are written, with no window of their own:
    // the boundary is the one of every aligned period (second, minute, 15 minutes, hour).
    key: 'cache and session TTLs (no aligned window): the next full UTC hour',
    boundary: (Math.floor(now / HOUR) + 1) * HOUR,
  },
];

/** libfaketime's "@YYYY-MM-DD HH:MM:SS.mmm", in UTC (TZ=UTC below). */
const fakeSpec = (ms) => `@${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}`;

/** A directory of `redis-server` / `redis-cli` wrappers that drop LD_PRELOAD (see the top comment). */
function realClockRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'boundary-run-'));
  for (const bin of ['redis-server', 'redis-cli']) {
    let real;
    try {
      real = execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();
    } catch {
      continue; // the suites report a missing Redis themselves
    }
    const wrapper = join(dir, bin);
    writeFileSync(wrapper, `#!/bin/sh\nunset LD_PRELOAD\nexec '${real}' "$@"\n`);
    chmodSync(wrapper, 0o755);
  }
  return dir;
}

const wrappers = realClockRedis();
process.on('exit', () => rmSync(wrappers, { recursive: true, force: true }));
const fakeEnv = {
  ...process.env,
  TZ: 'UTC',
  FAKETIME_DONT_FAKE_MONOTONIC: '1',
  PATH: `${wrappers}${delimiter}${process.env.PATH ?? ''}`,
};

function run(cmd, args, env = process.env) {
  const res = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (res.error) throw new Error(`${cmd}: ${res.error.message}`);
  return res;
}

/** Checks that faketime reaches Node and a child Node starts; throws when it does not. */
function checkFaketime(at) {
  const probe =
    "const t=Date.now();const {spawnSync}=require('node:child_process');" +
    "const c=spawnSync(process.execPath,['-e','console.log(Date.now())'],{encoding:'utf8'});" +
    'console.log(t, c.stdout.trim())';
  const res = run('faketime', ['-f', fakeSpec(at), process.execPath, '-e', probe], fakeEnv);
  const [parent, child] = res.stdout.trim().split(/\s+/).map(Number);
  for (const [who, seen] of [
    ['node', parent],
    ['its child', child],
  ]) {
    if (!Number.isFinite(seen) || Math.abs(seen - at) > 5000) {
      throw new Error(`faketime does not reach ${who}: Date.now() ${seen}, expected about ${at} (${res.stderr})`);
    }
  }
  return { parent, child };
}

if (spawnSync('faketime', ['--version']).error) {
  console.error('boundary-run: `faketime` (libfaketime) is not installed: apt-get install faketime');
  process.exit(2);
}
if (!process.argv.includes('--no-build')) {
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

let failed = false;
for (const group of groups) {
  const at = group.boundary - LEAD_MS;
  const seen = checkFaketime(at);
  console.log(`\n== ${group.name}: ${group.paths.join(' ')}`);
  console.log(`   key:      ${group.key}`);
  console.log(`   boundary: ${new Date(group.boundary).toISOString()}`);
  console.log(`   faketime: ${fakeSpec(at)} UTC (${LEAD_MS} ms before it)`);
  console.log(
    `   check:    node saw ${new Date(seen.parent).toISOString()}, its child ${new Date(seen.child).toISOString()}`,
  );
  const jest = run('faketime', ['-f', fakeSpec(at), 'npx', 'jest', ...group.paths, '--maxWorkers=1'], {
    ...fakeEnv,
    NODE_OPTIONS: '--experimental-vm-modules --no-warnings=ExperimentalWarning',
  });
  const lines = `${jest.stdout}\n${jest.stderr}`.split('\n');
  for (const line of lines) {
    if (/^(PASS|FAIL)\s|^Tests:|^Test Suites:|●/.test(line.trim())) console.log(`   ${line.trim()}`);
  }
  console.log(`   jest exit code ${jest.status}`);
  if (jest.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
