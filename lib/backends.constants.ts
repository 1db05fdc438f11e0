/** Injection token of the shared storage {@link Backend}. */
export const STORAGE_BACKEND = 'NESTJS_BACKENDS_STORAGE_BACKEND';

/** Injection token of the configured {@link EmailBackend}. */
export const EMAIL_BACKEND = 'NESTJS_BACKENDS_EMAIL_BACKEND';
