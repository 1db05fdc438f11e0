import { createRequire } from 'node:module';

/**
 * @internal A `require` that resolves from this package's own folder, for the optional peers it loads
 * lazily. This ES module line is the one place where the two builds differ: the CommonJS build
 * (`tools/build.mjs`) replaces it with the module's own `require`, so that build has no `import.meta`.
 */
// @ts-ignore TS1343 in the CommonJS compile, whose output tools/build.mjs rewrites
export const requireFromHere: NodeJS.Require = createRequire(import.meta.url);
