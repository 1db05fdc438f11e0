import { Controller, Get, Param } from '@nestjs/common';
import { VisitsService } from './visits.service.js';

@Controller('visits')
export class VisitsController {
  constructor(private readonly visits: VisitsService) {}

  @Get(':page')
  visit(@Param('page') page: string) {
    return this.visits.visit(page);
  }
}
