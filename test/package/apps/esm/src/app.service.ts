import { Injectable } from '@nestjs/common';
import { EMAIL_BACKEND, Email, type EmailBackend } from 'nestjs-backends';
import { Inject } from '@nestjs/common';

@Injectable()
export class AppService {
  private served = 0;

  constructor(@Inject(EMAIL_BACKEND) private readonly email: EmailBackend) {}

  /** Counts how often the handler really ran (a cached answer does not run it). */
  product(id: string) {
    this.served += 1;
    return { id, served: this.served };
  }

  welcome(to: string) {
    return this.email.sendEmail(
      Email.builder().from('app@example.com').to(to).subject('Welcome').textBody('Hi!').build(),
    );
  }
}
