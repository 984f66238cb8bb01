import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

const logger = new Logger('TaskErrors');

function body(status: HttpStatus, task: string, message: string, extra: Record<string, unknown> = {}) {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', task, message, ...extra };
}

export function unknownTask(name: string, known: readonly string[]): HttpException {
  return new HttpException(
    body(
      HttpStatus.NOT_FOUND,
      name,
      `Unknown task "${name}". Known tasks: ${known.map((k) => `"${k}"`).join(', ')}. GET /tasks lists them with their payloads.`,
    ),
    HttpStatus.NOT_FOUND,
  );
}

export function invalidPayload(name: string, problems: readonly string[]): HttpException {
  return new HttpException(
    body(
      HttpStatus.BAD_REQUEST,
      name,
      `Invalid payload for task "${name}": ${problems.join('; ')}. Nothing was run or enqueued.`,
      { problems },
    ),
    HttpStatus.BAD_REQUEST,
  );
}

export function notJson(name: string, contentType: string | undefined): HttpException {
  return new HttpException(
    body(
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      name,
      `Send the payload of task "${name}" as JSON (Content-Type: application/json), got ${contentType ?? 'no Content-Type'}.`,
    ),
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  );
}

/** The payload is the JSON body; an empty body is an empty object. */
export function payloadOf(
  name: string,
  body: unknown,
  contentType: string | undefined,
  contentLength: string | undefined,
): unknown {
  const hasBody = contentLength !== undefined && contentLength !== '0';
  if (hasBody && !/^application\/(.+\+)?json\b/i.test(contentType ?? '')) throw notJson(name, contentType);
  return body === undefined ? {} : body;
}

/**
 * What a failed `run()` / `map()` means for an HTTP client. The library's
 * errors carry a stable `code`; the handler's own errors keep their name and
 * message across the thread boundary, and `retryable: false` for
 * NonRetryableError and its subclasses.
 */
export function taskFailure(name: string, error: unknown): HttpException {
  const e = (error ?? {}) as {
    code?: unknown;
    name?: string;
    message?: string;
    retryable?: unknown;
    direction?: unknown;
  };
  const message = e.message ?? String(error);
  const reply = (status: HttpStatus, extra: Record<string, unknown> = {}) =>
    new HttpException(
      body(status, name, message, { ...(typeof e.code === 'string' ? { code: e.code } : {}), ...extra }),
      status,
      { cause: error },
    );
  switch (e.code) {
    case 'ERR_WORKER_UNKNOWN_TASK':
      return reply(HttpStatus.NOT_FOUND);
    case 'ERR_WORKER_INVALID_PAYLOAD':
      return reply(HttpStatus.BAD_REQUEST);
    case 'ERR_WORKER_NOT_CLONEABLE':
      return reply(e.direction === 'payload' ? HttpStatus.BAD_REQUEST : HttpStatus.INTERNAL_SERVER_ERROR);
    case 'ERR_WORKER_TASK_TIMEOUT':
      return reply(HttpStatus.GATEWAY_TIMEOUT);
    case 'ERR_WORKER_SHUTTING_DOWN':
    case 'ERR_WORKER_QUEUE_FULL':
    case 'ERR_WORKER_ABORTED':
      return reply(HttpStatus.SERVICE_UNAVAILABLE);
  }
  if (e.retryable === false) return reply(HttpStatus.UNPROCESSABLE_ENTITY, { errorName: e.name });
  logger.error(`Task "${name}" failed: ${e.name ?? 'Error'}: ${message}`, (error as Error)?.stack);
  return reply(HttpStatus.INTERNAL_SERVER_ERROR, { errorName: e.name });
}
