import { Inject } from '@nestjs/common';
import { STORAGE_BACKEND } from '../backends.constants.js';

/**
 * Injects the shared storage backend.
 * @example constructor(@InjectStorage() private readonly storage: Backend) {}
 */
export const InjectStorage = (): PropertyDecorator & ParameterDecorator => Inject(STORAGE_BACKEND);
