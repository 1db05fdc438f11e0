import { Module } from '@nestjs/common';
import { BackendsModule } from 'nestjs-backends';
import { sampleOptions } from './sample.config.js';
import { VisitsController } from './visits/visits.controller.js';
import { VisitsService } from './visits/visits.service.js';

@Module({
  imports: [BackendsModule.forRoot(sampleOptions(process.env))],
  controllers: [VisitsController],
  providers: [VisitsService],
})
export class AppModule {}
