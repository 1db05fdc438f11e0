import { BackendError } from './backend.error.js';

/**
 * The storage service refused a command for lack of permission (a Redis ACL user without it): a
 * misconfiguration, not an outage; `command` names what was refused.
 */
export class BackendPermissionError extends BackendError {
  override readonly name: string = 'BackendPermissionError';

  constructor(
    /** The refused command, lowercase (`evalsha`, `select`...). */
    readonly command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('permission', message, options);
  }
}
