import { Module } from '@nestjs/common';
import { CompressionService } from './compression.service.js';
import { CompressionTasks } from './compression.tasks.js';

@Module({ providers: [CompressionService, CompressionTasks] })
export class CompressionModule {}
