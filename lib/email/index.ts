export type {
  EmailBackend,
  SentEmail,
  SendOptions,
  BulkOptions,
  BulkResult,
  RejectedRecipient,
} from './email-backend.interface.js';
export { DeliveryAttempt, type DeliveryReport } from './email-attempt.js';
export { Email, type EmailInit } from './email.js';
export { EmailBuilder } from './email.builder.js';
export { Attachment, type AttachmentContent } from './attachment.js';
export { parseMailbox, validateEmail, type Mailbox, RESERVED_HEADERS, MAX_ADDRESS_LENGTH } from './email.validation.js';
export type { RetryOptions } from './email-retry.js';
export { BaseEmailBackend, type EmailBackendOptions } from './base-email.backend.js';
export { MemoryEmailBackend, type MemoryEmailBackendOptions, type SentRecord } from './memory-email.backend.js';
export { ConsoleEmailBackend, type ConsoleEmailBackendOptions } from './console-email.backend.js';
export { SmtpBackend, type SmtpConfig, type SmtpEncryption } from './smtp.backend.js';
export { SendGridBackend, type SendGridOptions } from './sendgrid.backend.js';
export { SesBackend, type SesConfig, type SesBackendOptions } from './ses.backend.js';
export type { SesClient, SesClientConfig } from './ses-config.types.js';
export { MailgunBackend, MailgunRegion, type MailgunOptions } from './mailgun.backend.js';
export type {
  EmailOptions,
  MemoryEmailOptions,
  ConsoleEmailOptions,
  SmtpEmailOptions,
  SendGridEmailOptions,
  SesEmailOptions,
  MailgunEmailOptions,
} from './email-options.interface.js';
export { createEmailBackend, isEmailBackend, type OwnedEmailBackend } from './email.factory.js';
export { InjectEmail } from './inject-email.decorator.js';
