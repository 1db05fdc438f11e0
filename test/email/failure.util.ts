import { expect } from '@jest/globals';
import { EmailError } from '../../lib/index.js';

/** Awaits a send that must fail, asserts the failure is an {@link EmailError}, and returns it. */
export async function failure(p: Promise<unknown>): Promise<EmailError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EmailError);
  return err as EmailError;
}
