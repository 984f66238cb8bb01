import { NestFactory } from '@nestjs/core';
import { WorkerManager } from 'nestjs-worker';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(process.env.PORT ?? 0);
  const result = await app.get(WorkerManager).run('hash', 'hello');
  console.log(`task hash ${JSON.stringify(result)}`);
}
await bootstrap();
