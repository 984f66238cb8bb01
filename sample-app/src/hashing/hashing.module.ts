import { Module } from '@nestjs/common';
import { HashingService } from './hashing.service.js';
import { HashingTasks } from './hashing.tasks.js';

@Module({ providers: [HashingService, HashingTasks] })
export class HashingModule {}
