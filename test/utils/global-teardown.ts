import { ChildProcess } from 'node:child_process';
import { Server, Socket } from 'node:net';

/** Stops what global-setup started; if the process then stays alive, says what holds it open. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__NB_SERVERS__ ?? []).map((s) => s.destroy()));
  // Unreferenced: it fires only when something else keeps the process alive after the run,
  // a hang that --detectOpenHandles misses for handles it does not trace back to a test.
  setTimeout(() => {
    process.stderr.write(`\nnpm test: still running 20 s after the last suite; open:\n${describeOpenHandles()}\n`);
  }, 20_000).unref();
}

/** One line per resource keeping the event loop alive: sockets and servers with their ports, child processes with their command. */
function describeOpenHandles(): string {
  const lines = [`resources: ${process.getActiveResourcesInfo().join(', ')}`];
  const handles = (process as NodeJS.Process & { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const handle of handles) {
    if (handle === process.stdout || handle === process.stderr || handle === process.stdin) continue;
    if (handle instanceof ChildProcess) {
      lines.push(`child process ${handle.pid}: ${handle.spawnargs.join(' ')}`);
    } else if (handle instanceof Socket) {
      lines.push(`socket ${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort} (${handle.readyState})`);
    } else if (handle instanceof Server) {
      lines.push(`server ${JSON.stringify(handle.address())}`);
    } else {
      lines.push(`handle ${(handle as object | null)?.constructor?.name ?? typeof handle}`);
    }
  }
  return lines.join('\n');
}
