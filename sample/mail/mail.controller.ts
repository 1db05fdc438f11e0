import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import { EmailError } from 'nestjs-backends';
import { MailService } from './mail.service.js';

@Controller('mail')
export class MailController {
  constructor(private readonly mail: MailService) {}

  @Post('welcome')
  async welcome(@Body() body: { to?: string; name?: string; idempotencyKey?: string }) {
    try {
      return await this.mail.welcome(String(body?.to ?? ''), String(body?.name ?? 'friend'), body?.idempotencyKey);
    } catch (err) {
      if (err instanceof EmailError && err.code === 'validation') throw new BadRequestException(err.message);
      throw err;
    }
  }

  @Post('newsletter')
  async newsletter(@Body() body: { recipients?: string[] }) {
    const results = await this.mail.newsletter(Array.isArray(body?.recipients) ? body.recipients.map(String) : []);
    return results.map(({ to, result }) =>
      result.ok
        ? { to, ok: true, messageId: result.messageId }
        : { to, ok: false, error: result.error.code, message: result.error.message },
    );
  }
}
