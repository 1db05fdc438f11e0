/** An optional peer dependency needed by the chosen backend is not installed. */
export class MissingDependencyError extends Error {
  override readonly name = 'MissingDependencyError';
  /** Stable code for this error. */
  readonly code = 'missing_dependency';

  constructor(
    readonly packageName: string,
    feature: string,
    options?: { cause?: unknown },
  ) {
    super(`${feature} needs the optional package "${packageName}": run \`npm install ${packageName}\``, options);
  }
}
