/**
 * The SES v2 client configuration, written out structurally so that the published declarations need no
 * AWS SDK types (an app that does not send through SES compiles with `skipLibCheck: false` without
 * `@aws-sdk/client-sesv2`). Every option name of the SDK's `SESv2ClientConfig` is listed, so a value typed
 * with the SDK's own type is assignable; the common ones carry their types, the rest go to the SDK unchecked.
 */
export interface SesClientConfig {
  /** The AWS region, e.g. `'eu-west-1'` (else the SDK's default chain). */
  region?: string | (() => Promise<string>);
  /** Static credentials, or a provider; else the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | (() => Promise<unknown>);
  /** A custom endpoint (tests, VPC endpoints). */
  endpoint?: string | object | (() => Promise<unknown>);
  maxAttempts?: number | (() => Promise<number>);
  requestHandler?: unknown;
  cacheMiddleware?: unknown;
  protocol?: unknown;
  protocolSettings?: unknown;
  apiVersion?: unknown;
  sha256?: unknown;
  urlParser?: unknown;
  bodyLengthChecker?: unknown;
  streamCollector?: unknown;
  base64Decoder?: unknown;
  base64Encoder?: unknown;
  utf8Decoder?: unknown;
  utf8Encoder?: unknown;
  runtime?: unknown;
  disableHostPrefix?: unknown;
  serviceId?: unknown;
  useDualstackEndpoint?: unknown;
  useFipsEndpoint?: unknown;
  profile?: unknown;
  defaultUserAgentProvider?: unknown;
  credentialDefaultProvider?: unknown;
  retryMode?: unknown;
  logger?: unknown;
  extensions?: unknown;
  defaultsMode?: unknown;
  customUserAgent?: unknown;
  userAgentAppId?: unknown;
  retryStrategy?: unknown;
  endpointProvider?: unknown;
  tls?: unknown;
  ignoreConfiguredEndpointUrls?: unknown;
  serviceConfiguredEndpoint?: unknown;
  authSchemePreference?: unknown;
  httpAuthSchemes?: unknown;
  httpAuthSchemeProvider?: unknown;
  signer?: unknown;
  signingEscapePath?: unknown;
  systemClockOffset?: unknown;
  signingRegion?: unknown;
  signerConstructor?: unknown;
  disableClockSkewCorrection?: unknown;
  sigv4aSigningRegionSet?: unknown;
}

/** An `SESv2Client` of your own, seen through the members the backend uses. */
export interface SesClient {
  send(command: never, ...rest: never[]): Promise<unknown>;
  destroy(): void;
}
