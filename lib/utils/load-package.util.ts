import { createRequire } from 'node:module';
import { MissingDependencyError } from '../errors/missing-dependency.error.js';

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads an optional peer dependency on first use, or throws {@link MissingDependencyError}
 * naming the package to install.
 */
export function loadPackage<T>(packageName: string, feature: string): T {
  try {
    return requireFromHere(packageName) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new MissingDependencyError(packageName, feature, { cause: err });
    }
    throw err;
  }
}
