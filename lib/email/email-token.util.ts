import { EMAIL_BACKEND } from '../backends.constants.js';
import { EmailError } from '../errors/email.error.js';
import { EmailRoutingMessages } from './email-routing.messages.js';

/** Name of the email backend behind `EMAIL_BACKEND` and `@InjectEmail()`. */
export const DEFAULT_EMAIL_NAME = 'default';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

/** @internal Whether `name` can name an email backend (letters, digits, `_`, `-`, `.`, `:`). */
export function isEmailBackendName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 100 && NAME.test(name);
}

/**
 * The injection token of a named email backend (`email: { backends: { [name]: ... } }`), for
 * `moduleRef.get()`, `@Inject()` and `overrideProvider()`; `default` (or no name) is `EMAIL_BACKEND`.
 * @example Test.createTestingModule({ imports: [AppModule] }).overrideProvider(getEmailBackendToken('marketing'))
 */
export function getEmailBackendToken(name: string = DEFAULT_EMAIL_NAME): string {
  if (!isEmailBackendName(name)) throw new EmailError('configuration', EmailRoutingMessages.invalidName(name));
  return name === DEFAULT_EMAIL_NAME ? EMAIL_BACKEND : `${EMAIL_BACKEND}:${name}`;
}
