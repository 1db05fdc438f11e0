import { Module } from '@nestjs/common';
import { BackendsModule } from 'nestjs-backends';
import { AppController } from './app.controller.js';

@Module({
  imports: [
    BackendsModule.forRoot({
      storage: { type: 'redis', url: process.env.REDIS_URL, keyPrefix: process.env.KEY_PREFIX ?? 'consumer:' },
      // A sliding window refuses the 4th quick hit of '3/hour' wherever the window boundaries fall.
      throttle: { algorithm: 'sliding-window' },
    }),
  ],
  controllers: [AppController],
})
export class AppModule {}
