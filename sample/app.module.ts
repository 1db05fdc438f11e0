import { type DynamicModule, Module } from '@nestjs/common';
import { BackendsModule, type BackendsModuleOptions } from 'nestjs-backends';
import { AccountController } from './account/account.controller.js';
import { LimitsController } from './demo/limits.controller.js';
import { HomeController } from './home/home.controller.js';
import { MailController } from './mail/mail.controller.js';
import { MailService } from './mail/mail.service.js';
import { OutboxController } from './mail/outbox.controller.js';
import { CatalogController } from './shop/catalog.controller.js';
import { CatalogService } from './shop/catalog.service.js';
import { VisitsController } from './visits/visits.controller.js';
import { VisitsService } from './visits/visits.service.js';

/** The sample app; its backends come from the options built from the environment. */
@Module({})
export class AppModule {
  static forRoot(options: BackendsModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [BackendsModule.forRoot(options)],
      controllers: [
        HomeController,
        VisitsController,
        LimitsController,
        CatalogController,
        AccountController,
        MailController,
        OutboxController,
      ],
      providers: [VisitsService, CatalogService, MailService],
    };
  }
}
