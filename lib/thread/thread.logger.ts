import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/** Nest's own start-up chatter, which every thread would otherwise repeat. */
const BOOT_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'NestApplicationContext', 'NestApplication']);

/** Console logger of a worker thread: names the thread and drops Nest's start-up lines. */
export class ThreadLogger extends ConsoleLogger {
  constructor(threadId: number, logLevels: LogLevel[]) {
    super('', { logLevels, prefix: `Nest:thread-${threadId}` });
  }

  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && BOOT_CONTEXTS.has(context)) return;
    super.log(message, ...(rest as [string]));
  }
}
