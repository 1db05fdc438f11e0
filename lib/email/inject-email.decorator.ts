import { Inject } from '@nestjs/common';
import { getEmailBackendToken } from './email-token.util.js';

/**
 * Injects the configured email backend, or with a name one of `email: { backends: { ... } }`.
 * @example constructor(@InjectEmail() private readonly email: EmailBackend, @InjectEmail('marketing') private readonly marketing: EmailBackend) {}
 */
export const InjectEmail = (name?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getEmailBackendToken(name));
