/**
 * V8 inline-cache misses per request of the guard apps (`node --log-ic`): each one is a property
 * lookup done by V8's runtime instead of compiled code. Express gives every request and response
 * object a shape of its own (properties added after `Object.setPrototypeOf`), so every property read
 * from them misses once per request; this counts how many a guard adds, and lists the misses in our
 * own code. `npm run bench:ic [-- --only a,b]`; prints, writes nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT, type BenchApp, listeningPort, loadByAmount, onlyApps } from './bench.util.js';

const WARM = 3_000;
const MEASURED = 2_000;

const VARIANTS: BenchApp[] = [
  { app: 'none', what: 'no guard' },
  { app: 'pass-guard', what: 'a guard that returns true' },
  { app: 'header-guard', what: 'a guard that only sets the three X-RateLimit-* headers' },
  { app: 'minimal-counting-guard', what: 'one Map entry per address and the same three headers' },
  { app: 'throttle-memory', what: 'ThrottlerGuard on memory' },
];

const IC_LINE =
  /^(Load|Store|KeyedLoad|KeyedStore|LoadGlobal|StoreGlobal|StoreInArrayLiteral|DefineKeyedOwn|DefineNamedOwn)IC,/;

/** The V8 log lines of IC events and of code objects (for the function each event happened in). */
function readLog(file: string): { ics: string[]; code: { start: number; end: number; name: string }[] } {
  const ics: string[] = [];
  const code: { start: number; end: number; name: string }[] = [];
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (IC_LINE.test(line)) ics.push(line);
    else if (line.startsWith('code-creation,')) {
      // code-creation,<type>,<kind>,<time>,<address>,<size>,<name>[,...]
      const cols = line.split(',');
      const start = parseInt(cols[4], 16);
      const size = Number(cols[5]);
      if (Number.isFinite(start) && Number.isFinite(size)) code.push({ start, end: start + size, name: cols[6] });
    }
  }
  code.sort((a, b) => a.start - b.start);
  return { ics, code };
}

/** The name of the code object holding `pc` (the last one created there wins). */
function functionAt(code: { start: number; end: number; name: string }[], pc: number): string {
  let lo = 0;
  let hi = code.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (code[mid].start <= pc) lo = mid + 1;
    else hi = mid - 1;
  }
  for (let i = hi; i >= 0 && i > hi - 64; i--) if (code[i].start <= pc && pc < code[i].end) return code[i].name;
  return '?';
}

async function measure(variant: BenchApp, dir: string): Promise<void> {
  const log = join(dir, `${variant.app}.log`);
  const entry = join(BENCH_ROOT, '.bench-dist', 'bench', 'apps', 'http-app.js');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--log-ic', `--logfile=${log}`, '--no-logfile-per-isolate', entry],
    {
      cwd: BENCH_ROOT,
      env: { ...process.env, BENCH_APP: variant.app, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const url = `http://127.0.0.1:${await listeningPort(child, variant.app, 60_000)}/r`;
    await loadByAmount({ url, connections: 32, amount: WARM });
    await new Promise((r) => setTimeout(r, 1000));
    const before = readLog(log).ics.length;
    await loadByAmount({ url, connections: 32, amount: MEASURED });
    await new Promise((r) => setTimeout(r, 1000));
    const { ics, code } = readLog(log);
    const window = ics.slice(before);
    const ours = new Map<string, number>();
    for (const line of window) {
      const cols = line.split(',');
      const where = functionAt(code, parseInt(cols[1], 16));
      if (!where.includes('/.bench-dist/lib/')) continue;
      const site = `${cols[0]} of "${cols[8]}" in ${where.replace(/file:\/\/\/\S*\/\.bench-dist\//, '')}`;
      ours.set(site, (ours.get(site) ?? 0) + 1);
    }
    console.log(`${variant.app} (${variant.what}): ${(window.length / MEASURED).toFixed(1)} IC misses per request`);
    for (const [site, n] of [...ours].sort((a, b) => b[1] - a[1])) {
      if (n >= MEASURED / 10) console.log(`  ${(n / MEASURED).toFixed(2)} ${site}`);
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-backends-ic-'));
  try {
    for (const variant of onlyApps(VARIANTS)) await measure(variant, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
