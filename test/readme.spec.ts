import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A ```ts block of the README, with the `<!-- readme-test: … -->` note of the line before it, if any. */
interface Block {
  name: string;
  line: number;
  code: string;
  /** Why the block is type-checked but not run (it needs a service or binds a port), else undefined. */
  typeCheckOnly?: string;
}

const NOTE = /<!-- readme-test: type-check only \(([^)]+)\) -->\n$/;

function readmeBlocks(): Block[] {
  const readme = readFileSync('README.md', 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => {
    const before = readme.slice(Math.max(0, m.index - 200), m.index);
    return {
      name: `block-${String(i + 1).padStart(2, '0')}`,
      line: readme.slice(0, m.index).split('\n').length,
      code: m[1],
      typeCheckOnly: NOTE.exec(before)?.[1],
    };
  });
}

const dir = join('.tmp', 'readme');
const AWS_NODE_NOTICE =
  /\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?More information can be found at: \S+\n(\(Use `node --trace-warnings \.\.\.` [^\n]*\n)?/;
const blocks = readmeBlocks();

// Runs one compiled block with no environment beyond PATH and HOME, then, for every Nest module it exports,
// creates an application context and closes it (so factories such as `forRootAsync`'s run as well).
const RUNNER = `
import { pathToFileURL } from 'node:url';
const { NestFactory } = await import('@nestjs/core');
const block = await import(pathToFileURL(process.argv[2]).href);
for (const [name, value] of Object.entries(block)) {
  if (typeof value !== 'function') continue;
  const keys = Reflect.getMetadataKeys?.(value) ?? [];
  if (!['imports', 'controllers', 'providers'].some((k) => keys.includes(k))) continue;
  const app = await NestFactory.createApplicationContext(value, { logger: false, abortOnError: false });
  await app.close();
  console.log('module ' + name + ' started and closed');
}
`;

describe('README.md', () => {
  it('has TypeScript examples, and every note names why its block is not run', () => {
    expect(blocks.length).toBeGreaterThan(5);
    const notes = readFileSync('README.md', 'utf8').match(/<!-- readme-test:[^>]*-->/g) ?? [];
    expect(notes.length).toBe(blocks.filter((b) => b.typeCheckOnly).length);
  });

  it('every TypeScript code block type-checks against the built package, and compiles', async () => {
    // Inside the repository, `nestjs-backends` resolves to dist/ through the package's own exports map.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const b of blocks) writeFileSync(join(dir, `${b.name}.ts`), b.code);
    writeFileSync(join(dir, 'run-block.mjs'), RUNNER);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          skipLibCheck: true,
          outDir: 'out',
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    let output = '';
    try {
      await run(join(process.cwd(), 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')]);
    } catch (err) {
      output = (err as { stdout?: string }).stdout ?? String(err);
    }
    expect(output).toBe('');
  }, 60_000);

  const runnable = blocks.filter((b) => !b.typeCheckOnly);
  it.each(runnable.map((b) => [b.name, b.line, b] as const))(
    '%s (README line %i) runs as written with no environment variables',
    async (_name, _line, block) => {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(dir, 'run-block.mjs'), resolve(dir, 'out', `${block.name}.js`)],
        { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 20_000 },
      ).catch((err: { stdout?: string; stderr?: string; code?: unknown; signal?: unknown }) => {
        throw new Error(
          `${block.name} (README line ${block.line}) failed (${String(err.signal ?? err.code)}):\n${err.stderr ?? ''}${err.stdout ?? ''}`,
        );
      });
      // The console examples print what they show; nothing else may reach stderr (no warning, no stack) but the
      // AWS SDK's own notice, on Node 20, that its releases from 2027 need Node 22.
      expect(stderr.replace(AWS_NODE_NOTICE, '')).toBe('');
      // Every Nest module the block exports was started and closed.
      const modules = [...block.code.matchAll(/@Module\([\s\S]*?\)\s*export class (\w+)/g)].map((m) => m[1]);
      for (const name of modules) expect(stdout).toContain(`module ${name} started and closed`);
    },
    30_000,
  );
});
