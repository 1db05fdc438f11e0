import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
// Outside the repository, so that nothing resolves through its node_modules.
const scratch = mkdtempSync(join(tmpdir(), 'nb-dts-'));

/** The packages a memory-only app installs: our required peers, Node's types and TypeScript's checker. */
const REQUIRED = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs', '@types/node'];

const APP = `
import { Controller, Get, Module, UseGuards, UseInterceptors } from '@nestjs/common';
import * as lib from 'nestjs-backends';
import {
  BackendsModule,
  CacheInterceptor,
  MemoryBackend,
  MemoryEmailBackend,
  Throttle,
  ThrottlerGuard,
  type Backend,
  type BackendsModuleOptions,
} from 'nestjs-backends';

@Controller()
@UseGuards(ThrottlerGuard)
class AppController {
  @Get()
  @Throttle('10/minute')
  @UseInterceptors(CacheInterceptor)
  hello() {
    return 'hello';
  }
}

const options: BackendsModuleOptions = { storage: new MemoryBackend(), email: new MemoryEmailBackend() };
export const storage: Backend = options.storage as Backend;
export const names: string[] = Object.keys(lib);

@Module({ imports: [BackendsModule.forRoot(options)], controllers: [AppController] })
export class AppModule {}
`;

describe('the published declarations', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('compile with skipLibCheck: false in an app that installed only the required peers', async () => {
    const modules = join(scratch, 'node_modules');
    mkdirSync(join(modules, '@nestjs'), { recursive: true });
    mkdirSync(join(modules, '@types'), { recursive: true });
    for (const name of REQUIRED) symlinkSync(resolve('node_modules', name), join(modules, name));
    // The package as `npm pack` ships it: package.json and dist/.
    const pkg = join(modules, 'nestjs-backends');
    mkdirSync(pkg);
    cpSync('dist', join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), readFileSync('package.json'));
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'memory-only-app', type: 'module' }));
    writeFileSync(join(scratch, 'app.ts'), APP);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    let output = '';
    try {
      await run(resolve('node_modules', '.bin', 'tsc'), ['-p', join(scratch, 'tsconfig.json')], { cwd: scratch });
    } catch (err) {
      output = (err as { stdout?: string }).stdout ?? String(err);
    }
    // No TS2307 for ioredis, @aws-sdk/client-sesv2, nodemailer or any other optional package: no error at all.
    expect(output).toBe('');
  }, 120_000);
});
