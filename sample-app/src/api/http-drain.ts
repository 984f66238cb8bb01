import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';

interface Finishable {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Counts the HTTP requests being answered, and holds the shutdown until they
 * are. Nest closes the HTTP server after every `onModuleDestroy` (that is
 * when WorkerManager lets running tasks finish) and `beforeApplicationShutdown`;
 * waiting here makes sure a request parked on `POST /run` gets its answer
 * written before the server and the process go away.
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(HttpDrain.name);
  private inFlight = 0;
  private idle?: () => void;

  /** Express middleware (installed by main.ts with `app.use`). */
  readonly middleware = (_req: unknown, res: Finishable, next: () => void): void => {
    this.inFlight++;
    res.once('close', () => {
      if (--this.inFlight === 0) this.idle?.();
    });
    next();
  };

  async beforeApplicationShutdown(): Promise<void> {
    if (this.inFlight === 0) return;
    this.logger.log(`Waiting for ${this.inFlight} HTTP response(s) to be sent`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  onApplicationShutdown(signal?: string): void {
    this.logger.log(`Shut down cleanly${signal ? ` after ${signal}` : ''}.`);
  }
}
