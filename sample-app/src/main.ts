/**
 * nestjs-worker sample app: a NestJS HTTP API whose CPU-heavy work (PNG
 * thumbnails, password hashing and key derivation, file digests, brotli/gzip
 * compression, a statistics report) runs in a pool of worker threads, each
 * with its own Nest DI container booted from `tasks.module.ts`.
 *
 *   npm run sample                            from the repository root (in-memory queue)
 *   TASKS_URL=postgres://... npm run sample   tasks in PostgreSQL (table created on start)
 *   TASKS_URL=redis://... npm run sample      tasks in Redis
 *   PORT (3000), HOST (all interfaces), WORKERS (one per core), SHUTDOWN_TIMEOUT_MS (25000)
 *   OTEL_CONSOLE=1       a span per task attempt printed to the console (OpenTelemetry)
 *   DASHBOARD_PASSWORD   the dashboard's actions (and page) for user "admin"; without it, read-only
 *
 *   GET  /health         pool statistics, answers at once even with every thread busy
 *   GET  /health/ready   Terminus health check with WorkerHealthIndicator (503 when down)
 *   GET  /workers        the workers dashboard (live; actions behind DASHBOARD_PASSWORD)
 *   GET  /tasks          the tasks and the payloads they take
 *   POST /tasks/:name    enqueue (202 + id); GET /tasks/:id for state and result
 *   POST /run/:name      run in a thread now and answer with the result
 *   POST /reports/sales  one report split over every thread with map()
 *
 * SIGTERM/SIGINT: new requests get 503, running tasks and the requests
 * waiting on them finish (up to SHUTDOWN_TIMEOUT_MS), queued tasks go back to
 * a durable backend, then the process exits 0.
 */
import 'reflect-metadata';
// First: OTEL_CONSOLE=1 registers the OpenTelemetry SDK before anything traces.
import './observability/console-tracing.js';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WorkerManager } from 'nestjs-worker';
import { BodyErrorsFilter } from './api/body-errors.filter.js';
import { HttpDrain } from './api/http-drain.js';
import { AppModule } from './app.module.js';
import { redact } from './task-source.module.js';

const port = Number(process.env.PORT) || 3000;
const host = process.env.HOST;
const bodyLimit = '25mb';

const app = await NestFactory.create<NestExpressApplication>(AppModule, {
  // While shutting down, new requests are refused with 503 (a load balancer
  // retries them elsewhere) and the ones in progress are answered.
  return503OnClosing: true,
});
app.use(app.get(HttpDrain).middleware);
// Uploads (PNG files, documents to compress) come as base64 in JSON.
app.useBodyParser('json', { limit: bodyLimit });
app.useGlobalFilters(new BodyErrorsFilter(app.getHttpAdapter(), bodyLimit));
// Close cleanly on SIGTERM/SIGINT, then exit with code 0.
app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
await (host ? app.listen(port, host) : app.listen(port));

const logger = new Logger('SampleApp');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    const { running, queued, waiting } = app.get(WorkerManager).stats();
    logger.log(
      `${signal}: refusing new requests; letting ${running} running task(s) finish, and ${queued + waiting} queued one(s): POST /run calls still run, background tasks go back to the task queue.`,
    );
  });
}
const tasksUrl = process.env.TASKS_URL;
logger.log(
  `Listening on http://${host ?? 'localhost'}:${port} (tasks: ${tasksUrl ? redact(tasksUrl) : 'in memory'}). Try: curl -s localhost:${port}/health`,
);
