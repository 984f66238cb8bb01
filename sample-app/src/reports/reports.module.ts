import { Module } from '@nestjs/common';
import { ReportTasks } from './report.tasks.js';
import { SalesDataService } from './sales-data.service.js';
import { StatisticsService } from './statistics.service.js';

@Module({ providers: [SalesDataService, StatisticsService, ReportTasks], exports: [StatisticsService] })
export class ReportsModule {}
