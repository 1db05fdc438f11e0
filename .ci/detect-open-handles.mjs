#!/usr/bin/env node
// Runs `npm test -- --detectOpenHandles` (the README's test command; the flag implies --runInBand)
// and fails when Jest reports a handle left open, instead of hanging or passing. Jest fails a test
// on an unhandled rejection by itself. Arguments are passed on to jest (e.g. a path to run one folder).
import { spawn } from 'node:child_process';

const LIMIT_MS = Number(process.env.HANDLES_TIMEOUT_MS ?? 15 * 60_000);
const DETECTED = 'Jest has detected the following';
// After the summary, Jest only runs the global teardown: a process still alive a minute later is held
// by a handle --detectOpenHandles did not trace (the teardown prints what is open after 20 s).
const FINISHED = /^Ran all test suites/m;
const EXIT_AFTER_SUMMARY_MS = 60_000;
let summaryTimer;

const child = spawn('npm', ['test', '--', '--detectOpenHandles', ...process.argv.slice(2)], {
  env: process.env,
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let output = '';
let verdict;
const stop = (why) => {
  verdict ??= why;
  // Jest waits forever for the open handle: end its whole process group.
  setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 2000).unref();
};
for (const stream of [child.stdout, child.stderr]) {
  stream.on('data', (chunk) => {
    const text = chunk.toString();
    (stream === child.stdout ? process.stdout : process.stderr).write(text);
    output += text;
    if (output.includes(DETECTED)) stop('open handles');
    if (!summaryTimer && FINISHED.test(output)) {
      summaryTimer = setTimeout(
        () => stop(`no exit ${EXIT_AFTER_SUMMARY_MS} ms after the summary`),
        EXIT_AFTER_SUMMARY_MS,
      );
    }
  });
}
const timer = setTimeout(() => stop(`no exit after ${LIMIT_MS} ms`), LIMIT_MS);
child.on('exit', (code) => {
  clearTimeout(timer);
  clearTimeout(summaryTimer);
  if (verdict) {
    console.error(`\ntest:handles FAILED: ${verdict}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
