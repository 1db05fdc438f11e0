import {
  Body,
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  Post,
  Redirect,
  StreamableFile,
} from '@nestjs/common';
import { type EmailBackend, InjectEmail, MemoryEmailBackend } from 'nestjs-backends';
import { BodyPipe } from '../validation/body.pipe.js';
import type { BodyOf } from '../validation/body.rules.js';
import { noOutboxPage, outboxPage } from './outbox.page.js';

const NO_BODY = {};
const NOT_MEMORY = 'the outbox exists only with the memory email backend (no email variable set)';

/** /outbox: the emails the memory email backend holds, so a developer sees what the app sent. */
@Controller('outbox')
export class OutboxController {
  constructor(@InjectEmail() private readonly email: EmailBackend) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return this.email instanceof MemoryEmailBackend ? outboxPage(this.email.sentRecords()) : noOutboxPage();
  }

  /** The "clear" button: forgets every email, then back to the page. */
  @Post('clear')
  @Redirect('/outbox', 303)
  clear(@Body(new BodyPipe(NO_BODY)) _body: BodyOf<typeof NO_BODY>): void {
    this.memory().clear();
  }

  /** Downloads one attachment, never rendered by the browser (`attachment` disposition, `nosniff`). */
  @Get(':messageId/attachments/:index')
  @Header('X-Content-Type-Options', 'nosniff')
  attachment(@Param('messageId') messageId: string, @Param('index') index: string): StreamableFile {
    const record = this.memory()
      .sentRecords()
      .find((r) => r.messageId === messageId);
    const file = /^\d+$/.test(index) ? record?.email.attachments[Number(index)] : undefined;
    if (!file) throw new NotFoundException('no such email or attachment in the outbox');
    const type = /^[\w.+-]+\/[\w.+-]+$/.test(file.contentType) ? file.contentType : 'application/octet-stream';
    return new StreamableFile(file.content, {
      type,
      disposition: `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
      length: file.size,
    });
  }

  private memory(): MemoryEmailBackend {
    if (!(this.email instanceof MemoryEmailBackend)) throw new NotFoundException(NOT_MEMORY);
    return this.email;
  }
}
