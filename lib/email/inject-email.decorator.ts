import { Inject } from '@nestjs/common';
import { EMAIL_BACKEND } from '../backends.constants.js';

/**
 * Injects the configured email backend.
 * @example constructor(@InjectEmail() private readonly email: EmailBackend) {}
 */
export const InjectEmail = (): PropertyDecorator & ParameterDecorator => Inject(EMAIL_BACKEND);
