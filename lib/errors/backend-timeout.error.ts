import { BackendUnavailableError } from './backend-unavailable.error.js';

/** The storage service did not answer within the command timeout (also a {@link BackendUnavailableError}). */
export class BackendTimeoutError extends BackendUnavailableError {
  override readonly name: string = 'BackendTimeoutError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'timeout');
  }
}
