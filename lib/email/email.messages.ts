/** Every message an {@link EmailError} carries is built here, so wording stays consistent and secret-free. */
export const EmailMessages = {
  missingSender: () => 'The email has no sender: call from()',
  missingRecipient: () => 'The email has no recipient: call to(), cc() or bcc()',
  emptySubject: () => 'The email subject is empty',
  missingBody: () => 'The email has no body: call textBody(), htmlBody() or bothBody()',
  notText: (what: string) => `${what} must be a string`,
  encodedWord: (what: string) => `${what} contains an RFC 2047 encoded word (=?...?=), which mail readers would decode`,
  controlChar: (what: string) => `${what} contains a line break or another control character (refused, never stripped)`,
  invalidAddress: (what: string, why: string) => `${what} is not a valid address: ${why}`,
  invalidHeaderName: (name: string) => `Header name ${JSON.stringify(name)} is not a valid RFC 5322 field name`,
  reservedHeader: (name: string) =>
    `Header ${JSON.stringify(name)} is set by the backend and cannot be given with header()`,
  duplicateHeader: (name: string) => `Header ${JSON.stringify(name)} is given twice`,
  invalidTag: () => 'A tag must be a non-empty string without control characters',
  invalidMetadata: () => 'Metadata keys must be non-empty strings and values strings, without control characters',
  invalidContentType: (type: string) => `Content type ${JSON.stringify(type)} is not a valid MIME type`,
  invalidContent: () => 'Attachment content must be a Buffer, a Uint8Array or a string',
  invalidContentId: () => 'An inline attachment needs a content id made of letters, digits and . _ - @ +',
  duplicateContentId: (cid: string) => `Two inline attachments share the content id ${JSON.stringify(cid)}`,
  invalidIdempotencyKey: () =>
    'idempotencyKey must be a non-empty string of at most 256 characters without control characters',
  invalidConcurrency: () => 'concurrency must be a positive whole number',
  notAnEmail: () => 'sendEmail() expects an Email built with Email.builder()',
  closed: (backend: string) => `The ${backend} email backend is closed`,
  invalidConfig: (backend: string, why: string) => `Invalid ${backend} configuration: ${why}`,
  unknownType: (type: unknown) =>
    `Unknown email type ${JSON.stringify(type)}: use "memory", "console", "smtp", "sendgrid", "ses", "mailgun" or an EmailBackend object`,
  notConfigured: () => 'No email backend is configured: pass `email` to BackendsModule.forRoot()',
  idempotencyStore: () => 'The idempotency store could not be reached; the email was not sent',
  idempotencyPending: () =>
    'An earlier send with the same idempotency key is still in progress (it may deliver); the email was not sent again',
  idempotencyInDoubt: (code: string) =>
    `An earlier send with the same idempotency key ended in doubt (${code}); it was not sent again`,
  attemptTimeout: (backend: string, ms: number, inDoubt: boolean) =>
    `${backend} send failed (timeout): no complete answer within ${ms} ms; ${
      inDoubt ? 'the message had gone out, so it may have been delivered' : 'the message was not sent'
    }`,
  sendFailed: (backend: string, code: string, detail?: string) =>
    `${backend} send failed (${code})${detail ? `: ${detail}` : ''}`,
} as const;
