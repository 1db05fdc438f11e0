#!/usr/bin/env node
// Builds the two outputs of one source: the ES module build in dist/ and the CommonJS build in dist/cjs/
// (each with its declarations). The only difference between them that tsc cannot make is the `require`
// that loads optional peers: createRequire(import.meta.url) in the ES build, the module's own `require` in
// the CommonJS build, where import.meta is a syntax error.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const tsc = join('node_modules', '.bin', 'tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(tsc, ['-p', 'tsconfig.build.json'], { stdio: 'inherit' });
execFileSync(tsc, ['-p', 'tsconfig.build-cjs.json'], { stdio: 'inherit' });
writeFileSync(join('dist', 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

const shim = join('dist', 'cjs', 'utils', 'module-require.js');
const ESM_LINE = 'exports.requireFromHere = (0, node_module_1.createRequire)(import.meta.url);';
const source = readFileSync(shim, 'utf8');
if (!source.includes(ESM_LINE)) throw new Error(`build: ${shim} no longer has the line to rewrite:\n${ESM_LINE}`);
writeFileSync(shim, source.replace(ESM_LINE, 'exports.requireFromHere = require;'));

// Nothing ES-module-only may remain in the CommonJS build.
const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.js') ? [path] : [];
  });
const offenders = files(join('dist', 'cjs')).filter((f) =>
  /\bimport\.meta\.|^\s*(import|export)\s/m.test(readFileSync(f, 'utf8')),
);
if (offenders.length > 0)
  throw new Error(`build: ES module syntax left in the CommonJS build: ${offenders.join(', ')}`);
