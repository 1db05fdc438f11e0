import { BackendError } from './backend.error.js';

/** A value cannot be stored (function, symbol, circular, class instance...) or a stored value cannot be read. */
export class BackendSerializationError extends BackendError {
  override readonly name: string = 'BackendSerializationError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('serialization', message, options);
  }
}
