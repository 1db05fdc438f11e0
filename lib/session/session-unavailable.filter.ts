import { type ArgumentsHost, Catch, ServiceUnavailableException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SessionStoreError } from './session-data.error.js';

/**
 * Answers 503 (not 500) when a route's `req.session.save()` / `destroy()` fails because the storage
 * backend is down; other session errors go to Nest's default handling. Registered by the module.
 */
@Catch(SessionStoreError)
export class SessionUnavailableFilter extends BaseExceptionFilter {
  override catch(error: SessionStoreError, host: ArgumentsHost): void {
    if (error.code === 'session_unavailable' && host.getType() === 'http') {
      super.catch(new ServiceUnavailableException('Sessions are unavailable'), host);
      return;
    }
    super.catch(error, host);
  }
}
