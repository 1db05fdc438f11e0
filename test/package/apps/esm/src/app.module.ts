import { Module } from '@nestjs/common';
import { BackendsModule } from 'nestjs-backends';
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';

@Module({
  imports: [
    BackendsModule.forRoot({
      email: { type: 'console' },
      // A sliding window refuses the 4th quick hit of '3/hour' wherever the window boundaries fall.
      throttle: { algorithm: 'sliding-window' },
    }),
  ],
  controllers: [AppController],
  providers: [AppService],
})
export class AppModule {}
