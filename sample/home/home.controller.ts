import { Controller, Get, Header } from '@nestjs/common';
import {
  type Backend,
  type EmailBackend,
  InjectEmail,
  InjectStorage,
  MemoryBackend,
  MemoryEmailBackend,
} from 'nestjs-backends';
import { homePage } from './home.page.js';

/** `GET /`: an HTML index of the sample's routes. */
@Controller()
export class HomeController {
  constructor(
    @InjectStorage() private readonly storage: Backend,
    @InjectEmail() private readonly email: EmailBackend,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): string {
    const email = this.email instanceof MemoryEmailBackend ? 'memory (see /outbox)' : this.emailKind();
    return homePage({ storage: this.storage instanceof MemoryBackend ? 'memory' : 'Redis', email });
  }

  private emailKind(): string {
    const kind = (this.email as { kind?: unknown }).kind;
    return typeof kind === 'string' ? kind : 'custom';
  }
}
