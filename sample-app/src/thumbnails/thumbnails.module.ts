import { Module } from '@nestjs/common';
import { ImageService } from './image.service.js';
import { ResizeService } from './resize.service.js';
import { ThumbnailTasks } from './thumbnail.tasks.js';

@Module({ providers: [ImageService, ResizeService, ThumbnailTasks] })
export class ThumbnailsModule {}
