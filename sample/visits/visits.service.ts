import { Injectable } from '@nestjs/common';
import { type Backend, InjectStorage } from 'nestjs-backends';

/** A custom service using the shared storage backend directly. */
@Injectable()
export class VisitsService {
  private readonly storage: Backend;

  constructor(@InjectStorage() storage: Backend) {
    this.storage = storage.namespace('visits:');
  }

  /** Counts the visits of a page in a one-hour window. */
  async visit(page: string): Promise<{ page: string; visits: number; windowMsLeft: number | null | undefined }> {
    const visits = await this.storage.increment(page, 60 * 60 * 1000);
    return { page, visits, windowMsLeft: await this.storage.ttl(page) };
  }
}
