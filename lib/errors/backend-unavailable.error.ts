import { BackendError, type BackendErrorCode } from './backend.error.js';

/** The storage service cannot be reached (down, disconnected or closed); the call had no effect. */
export class BackendUnavailableError extends BackendError {
  override readonly name: string = 'BackendUnavailableError';

  constructor(message: string, options?: { cause?: unknown }, code: BackendErrorCode = 'unavailable') {
    super(code, message, options);
  }
}
