import type { EmailErrorCode } from '../errors/email.error.js';

/** @internal How a failure is handled: its code and whether a retry is safe or only safe with a key. */
export interface FailureClass {
  code: EmailErrorCode;
  retryable: boolean;
  possiblyDelivered: boolean;
}

/**
 * @internal Classifies an HTTP status from an email API: 429 and 503 are transient; 500, 502 and 504
 * may have sent the mail; 401/403 are credentials; other 4xx are refusals.
 */
export function classifyHttpStatus(status: number): FailureClass {
  if (status === 429) return { code: 'rate_limited', retryable: true, possiblyDelivered: false };
  if (status === 401 || status === 403) return { code: 'authentication', retryable: false, possiblyDelivered: false };
  if (status === 408) return { code: 'timeout', retryable: false, possiblyDelivered: true };
  if (status === 503) return { code: 'provider', retryable: true, possiblyDelivered: false };
  if (status >= 500) return { code: 'provider', retryable: false, possiblyDelivered: true };
  return { code: 'rejected', retryable: false, possiblyDelivered: false };
}

/**
 * @internal Classifies a network failure (no HTTP response) from its error code or message. A
 * connection that was never made is safe to retry; a reset or a timeout after the request went out
 * leaves the mail in doubt: the provider may have accepted it, so it is never sent again.
 */
export function classifyNetworkCode(code: string, message = ''): FailureClass {
  const text = `${code} ${message}`;
  if (/ECONNREFUSED|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|\bconnect E[A-Z]+/.test(text)) {
    return { code: 'connection', retryable: true, possiblyDelivered: false };
  }
  if (/ECONNRESET|EPIPE|socket hang up/i.test(text)) {
    return { code: 'connection', retryable: false, possiblyDelivered: true };
  }
  if (/ECONNABORTED|ETIMEDOUT|ESOCKETTIMEDOUT|TimeoutError|timeout/i.test(text)) {
    return { code: 'timeout', retryable: false, possiblyDelivered: true };
  }
  return { code: 'connection', retryable: false, possiblyDelivered: false };
}
