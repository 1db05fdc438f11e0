/** Messages of failover chains and named email backends (no secret is ever part of them). */
export const EmailRoutingMessages = {
  unknownType: (type: unknown) =>
    `Unknown email type ${JSON.stringify(type)}: use "memory", "console", "smtp", "sendgrid", "ses", "mailgun", "failover" or an EmailBackend object`,
  emptyFailover: () => 'A failover needs at least one backend in `backends`',
  nestedFailover: (at: string) => `${at} is a failover itself; a failover chain cannot contain another one`,
  notAMember: (at: string) => `${at} is neither a backend description (with a \`type\`) nor an EmailBackend object`,
  invalidFailoverOn: (value: unknown) => `failoverOn must be "transient" or "any", not ${JSON.stringify(value)}`,
  invalidMemberName: (at: string) => `${at}.name must be a non-empty string without control characters`,
  duplicateMemberName: (name: string) => `Two backends of the failover are named ${JSON.stringify(name)}`,
  invalidTtl: () => 'idempotencyTtlMs must be a positive number',
  allFailed: (tried: readonly { backend: string; code: string; status?: number }[]) =>
    `Every email backend tried failed: ${tried
      .map((t) => `${t.backend} (${t.code}${t.status === undefined ? '' : `, ${t.status}`})`)
      .join(', ')}`,
  invalidName: (name: unknown) =>
    `Email backend name ${JSON.stringify(name)} is invalid: use letters, digits, "_", "-", "." and ":"`,
  noDefault: () => 'email.backends needs a `default` entry: the backend behind EMAIL_BACKEND and @InjectEmail()',
  namedNotObject: () =>
    'email.backends must be an object of named backends ({ default: {...}, marketing: {...} }); for a failover chain add type: "failover"',
  nestedNamed: (name: string) =>
    `email.backends.${name} is itself a set of named backends; each entry describes one backend (a failover chain needs type: "failover")`,
  notDeclared: (names: readonly string[]) =>
    `email.backends configures ${names.map((n) => JSON.stringify(n)).join(', ')}, which forRootAsync() did not declare: add them to its \`emailBackends\``,
  notConfigured: (name: string) =>
    `The email backend ${JSON.stringify(name)} is declared but not configured: add email.backends.${name}`,
} as const;
