import { MissingDependencyError } from '../errors/missing-dependency.error.js';
import { requireFromHere } from './module-require.js';

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * Loads an optional peer dependency on first use, or throws {@link MissingDependencyError}
 * naming the package to install.
 */
export function loadPackage<T>(packageName: string, feature: string): T {
  try {
    return requireFromHere(packageName) as T;
  } catch (err) {
    if (isNotFound(err)) throw new MissingDependencyError(packageName, feature, { cause: err });
    throw err;
  }
}

/** Checks that an optional peer dependency is installed without loading it, or throws {@link MissingDependencyError}. */
export function assertPackage(packageName: string, feature: string): void {
  try {
    requireFromHere.resolve(packageName);
  } catch (err) {
    if (isNotFound(err)) throw new MissingDependencyError(packageName, feature, { cause: err });
    throw err;
  }
}

/**
 * Imports an optional peer dependency that ships an ES module build, so the app and this library
 * share that one copy (a `require` would load the package's CommonJS build beside it).
 */
export async function importPackage<T>(packageName: string, feature: string): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (err) {
    if (isNotFound(err)) throw new MissingDependencyError(packageName, feature, { cause: err });
    throw err;
  }
}
