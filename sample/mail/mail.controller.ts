import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import { EmailError } from 'nestjs-backends';
import { BodyPipe } from '../validation/body.pipe.js';
import { addressList, type BodyOf, optionalText, requiredText } from '../validation/body.rules.js';
import { MailService } from './mail.service.js';

const WELCOME_BODY = { to: requiredText(320), name: optionalText(100), idempotencyKey: optionalText(200) };
const NEWSLETTER_BODY = { recipients: addressList(100) };

@Controller('mail')
export class MailController {
  constructor(private readonly mail: MailService) {}

  @Post('welcome')
  async welcome(@Body(new BodyPipe(WELCOME_BODY)) body: BodyOf<typeof WELCOME_BODY>) {
    try {
      return await this.mail.welcome(body.to, body.name ?? 'friend', body.idempotencyKey);
    } catch (err) {
      if (err instanceof EmailError && err.code === 'validation') throw new BadRequestException(err.message);
      throw err;
    }
  }

  @Post('newsletter')
  async newsletter(@Body(new BodyPipe(NEWSLETTER_BODY)) body: BodyOf<typeof NEWSLETTER_BODY>) {
    const results = await this.mail.newsletter(body.recipients);
    return results.map(({ to, result }) =>
      result.ok
        ? { to, ok: true, messageId: result.messageId }
        : { to, ok: false, error: result.error.code, message: result.error.message },
    );
  }
}
