import { HttpException, HttpStatus } from '@nestjs/common';

/** The 429 answer of {@link ThrottlerGuard}: body `{ statusCode: 429, message }`. */
export class ThrottlerException extends HttpException {
  constructor(message = 'Too Many Requests') {
    super({ statusCode: HttpStatus.TOO_MANY_REQUESTS, message }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** The 503 answer of {@link ThrottlerGuard} when the backend fails and `onBackendError` is `'deny'`. */
export class ThrottlerUnavailableException extends HttpException {
  constructor(message = 'Rate limiting is unavailable') {
    super({ statusCode: HttpStatus.SERVICE_UNAVAILABLE, message }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
