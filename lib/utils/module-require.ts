import { createRequire } from 'node:module';

/**
 * @internal A `require` that resolves from this package's own folder, for the optional peers it loads
 * lazily. This ES module line is the one place where the two builds differ: the CommonJS build
 * (`tools/build.mjs`) replaces it with the module's own `require`, so that build has no `import.meta`.
 */
// The CommonJS compile reports TS1343 here (and tools/build.mjs rewrites its output); the ES one does not,
// so @ts-expect-error would fail that one.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
export const requireFromHere: NodeJS.Require = createRequire(import.meta.url);
