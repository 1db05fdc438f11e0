/** A bad environment setting: names the variable and never carries its secret part. */
export class SampleConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}
