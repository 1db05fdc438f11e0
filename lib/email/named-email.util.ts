import { EmailError } from '../errors/email.error.js';
import type { EmailOptions, NamedEmailOptions } from './email-options.interface.js';
import { EmailRoutingMessages } from './email-routing.messages.js';
import { DEFAULT_EMAIL_NAME, isEmailBackendName } from './email-token.util.js';

function isBackendObject(value: object): boolean {
  const v = value as { sendEmail?: unknown; sendBulk?: unknown; close?: unknown };
  return typeof v.sendEmail === 'function' && typeof v.sendBulk === 'function' && typeof v.close === 'function';
}

/**
 * Whether module `email` options are the named form: an object with `backends` and no `type` that is
 * not an EmailBackend. Every one-backend form has a `type` (or is an EmailBackend), so the two never meet.
 */
export function isNamedEmailOptions(email: unknown): email is NamedEmailOptions {
  if (typeof email !== 'object' || email === null || isBackendObject(email)) return false;
  return (email as { type?: unknown }).type === undefined && 'backends' in email;
}

function configError(why: string): EmailError {
  return new EmailError('configuration', why);
}

/** @internal The names of a named form other than `default` (valid ones only), for the module's providers. */
export function namedEmailNames(email: unknown): string[] {
  if (!isNamedEmailOptions(email)) return [];
  const map: unknown = email.backends;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return [];
  return Object.keys(map).filter((n) => n !== DEFAULT_EMAIL_NAME && isEmailBackendName(n));
}

/** @internal Checks the backend names `forRootAsync({ emailBackends })` declares. */
export function checkDeclaredNames(names: unknown): string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw configError(EmailRoutingMessages.invalidName(names));
  for (const n of names) if (!isEmailBackendName(n)) throw configError(EmailRoutingMessages.invalidName(n));
  return [...new Set(names as string[])].filter((n) => n !== DEFAULT_EMAIL_NAME);
}

/**
 * @internal The options of the email backend named `name` in the module's `email` options, after
 * checking the whole named form (without creating anything). `declared` lists the names
 * `forRootAsync` registered providers for; a configured name it lacks would be unreachable, so it is refused.
 */
export function selectEmailOptions(
  email: EmailOptions | NamedEmailOptions | undefined,
  name: string,
  declared?: readonly string[],
): EmailOptions | undefined {
  if (!isNamedEmailOptions(email)) {
    const missing = name === DEFAULT_EMAIL_NAME ? declared?.[0] : name;
    if (missing !== undefined) throw configError(EmailRoutingMessages.notConfigured(missing));
    return email;
  }
  const map: unknown = email.backends;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || isBackendObject(map)) {
    throw configError(EmailRoutingMessages.namedNotObject());
  }
  const entries = map as Record<string, EmailOptions>;
  for (const [key, value] of Object.entries(entries)) {
    if (!isEmailBackendName(key)) throw configError(EmailRoutingMessages.invalidName(key));
    if (isNamedEmailOptions(value)) throw configError(EmailRoutingMessages.nestedNamed(key));
  }
  if (!Object.hasOwn(entries, DEFAULT_EMAIL_NAME)) throw configError(EmailRoutingMessages.noDefault());
  if (declared !== undefined) {
    const extra = Object.keys(entries).filter((n) => n !== DEFAULT_EMAIL_NAME && !declared.includes(n));
    if (extra.length > 0) throw configError(EmailRoutingMessages.notDeclared(extra));
  }
  if (!Object.hasOwn(entries, name)) throw configError(EmailRoutingMessages.notConfigured(name));
  return entries[name];
}
