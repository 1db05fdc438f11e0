import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
const INSTALL_HINT =
  'redis-server was not found on PATH: install it (Debian/Ubuntu: sudo apt-get install -y redis-server redis-tools; macOS: brew install redis) or set REDIS_URL and REDIS_CLUSTER_NODES';
/** Throws a one-line install hint when `redis-server` / `redis-cli` are missing. */
export function assertRedisInstalled() {
  for (const bin of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(INSTALL_HINT);
    }
  }
}
/** Sends one inline command and resolves the first reply line, or rejects after `timeoutMs`. */
export function rawCommand(port, command, timeoutMs = 500) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (err) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(data);
    };
    const timer = setTimeout(() => done(new Error(`no answer from 127.0.0.1:${port}`)), timeoutMs);
    socket.on('error', done);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done();
    });
  });
}
/** Sends one inline command whose reply is a bulk string (INFO, CLUSTER NODES) and resolves its text. */
export function rawBulk(port, command, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const done = (err, text) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(text);
    };
    const timer = setTimeout(() => done(new Error(`no answer from 127.0.0.1:${port}`)), timeoutMs);
    socket.on('error', done);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const eol = data.indexOf('\r\n');
      if (eol < 0) return;
      const head = data.subarray(0, eol).toString();
      if (!head.startsWith('$')) return done(new Error(`unexpected reply ${head}`));
      const length = Number(head.slice(1));
      if (data.length >= eol + 2 + length) done(undefined, data.subarray(eol + 2, eol + 2 + length).toString());
    });
  });
}
async function waitFor(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}
/** A private `redis-server` on 127.0.0.1 that keeps nothing on disk. */
export class RedisProcess {
  port;
  extraArgs;
  child;
  dir = mkdtempSync(join(tmpdir(), 'nb-redis-'));
  constructor(port, extraArgs) {
    this.port = port;
    this.extraArgs = extraArgs;
  }
  /** Starts a server on a free port (or `port`) and waits until it answers PING. */
  static async start(extraArgs = [], port) {
    assertRedisInstalled();
    const proc = new RedisProcess(port ?? (await freePort()), extraArgs);
    await proc.start();
    return proc;
  }
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  get pid() {
    return this.child?.pid;
  }
  /** (Re)starts the server on the same port. */
  async start() {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--loglevel',
      'warning',
      ...this.extraArgs,
    ];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    try {
      // A server with requirepass answers -NOAUTH: it is up all the same.
      await waitFor(
        async () => /^(\+PONG|-NOAUTH)/.test(await rawCommand(this.port, 'PING')),
        `redis-server on port ${this.port}`,
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }
  /** Stops the server (SIGKILL: as sudden as a crash) and waits for the port to close. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
  /** Freezes the server (SIGSTOP): it keeps its sockets open and answers nothing, like a hung host. */
  pause() {
    this.child?.kill('SIGSTOP');
  }
  /** Thaws a server frozen by `pause()` (SIGCONT). */
  resume() {
    this.child?.kill('SIGCONT');
  }
  /** Stops the server and removes its directory. */
  async destroy() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
/** A local Redis Cluster of `masters` masters (and `replicas` replicas each). */
export class RedisClusterProcess {
  nodes;
  constructor(nodes) {
    this.nodes = nodes;
  }
  /**
   * Starts `masters * (1 + replicas)` nodes and joins them. `nodeTimeoutMs` is how long a silent
   * master stays trusted before its replica takes over.
   */
  static async start(masters = 3, replicas = 0, nodeTimeoutMs = 2000) {
    assertRedisInstalled();
    const count = masters * (1 + replicas);
    const nodes = await Promise.all(
      Array.from({ length: count }, () =>
        RedisProcess.start([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
        ]),
      ),
    );
    const cluster = new RedisClusterProcess(nodes);
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    await waitFor(
      async () => {
        const infos = await Promise.all(nodes.map((n) => rawCommand(n.port, 'CLUSTER INFO')));
        return infos.every((i) => i.includes('cluster_state:ok'));
      },
      'the Redis Cluster to be ready',
      20_000,
    );
    if (replicas > 0) {
      // A replica that never finished its first sync would refuse to take over from its master.
      await waitFor(
        async () => {
          const infos = await Promise.all(nodes.map((n) => rawBulk(n.port, 'INFO replication')));
          const synced = infos.filter((i) => i.includes('master_link_status:up')).length;
          return synced === masters * replicas;
        },
        'the replicas to finish their first sync',
        20_000,
      );
    }
    return cluster;
  }
  /** `host:port,host:port,...` as REDIS_CLUSTER_NODES expects it. */
  get spec() {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }
  async destroy() {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
