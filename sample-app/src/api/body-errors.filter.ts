import {
  BadRequestException,
  Catch,
  HttpException,
  HttpStatus,
  PayloadTooLargeException,
  type ArgumentsHost,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/**
 * Says which request had a body the JSON parser refused (malformed, or
 * larger than the limit) instead of the parser's bare message.
 */
@Catch(HttpException)
export class BodyErrorsFilter extends BaseExceptionFilter {
  constructor(
    httpAdapter: ConstructorParameters<typeof BaseExceptionFilter>[0],
    private readonly limit: string,
  ) {
    super(httpAdapter);
  }

  override catch(exception: HttpException, host: ArgumentsHost): void {
    const cause = exception.cause;
    const req = host.switchToHttp().getRequest<{ method?: string; originalUrl?: string; url?: string }>();
    const where = `${req.method ?? ''} ${req.originalUrl ?? req.url ?? ''}`.trim();
    if (exception.getStatus() === HttpStatus.BAD_REQUEST && cause instanceof SyntaxError) {
      return super.catch(
        new BadRequestException(
          `The body of ${where} is not valid JSON (${cause.message}). Nothing was run or enqueued.`,
        ),
        host,
      );
    }
    if (exception.getStatus() === HttpStatus.PAYLOAD_TOO_LARGE) {
      return super.catch(
        new PayloadTooLargeException(`The body of ${where} is larger than ${this.limit}. Nothing was run or enqueued.`),
        host,
      );
    }
    return super.catch(exception, host);
  }
}
