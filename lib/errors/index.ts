export { BackendError, type BackendErrorCode } from './backend.error.js';
export { BackendUnavailableError } from './backend-unavailable.error.js';
export { BackendTimeoutError } from './backend-timeout.error.js';
export { BackendSerializationError } from './backend-serialization.error.js';
export { BackendValueError } from './backend-value.error.js';
export { BackendValidationError } from './backend-validation.error.js';
export { BackendPermissionError } from './backend-permission.error.js';
export { MissingDependencyError } from './missing-dependency.error.js';
export { EmailError, type EmailErrorCode, type EmailErrorDetails } from './email.error.js';
