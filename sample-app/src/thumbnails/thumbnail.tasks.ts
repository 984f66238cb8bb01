import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from 'nestjs-worker';
import { base64, int, object, oneOf, optional, payloadSchema, type Infer } from '../common/schema.js';
import { ImageService, type RgbaImage } from './image.service.js';
import { ResizeService } from './resize.service.js';

const ThumbnailPayload = object(
  {
    /** The source image, a PNG file in base64. */
    png: optional(base64({ maxBytes: 16 * 1024 * 1024 })),
    /** Or a generated test picture of this size, to try the task without a file. */
    pattern: optional(object({ width: int({ min: 1, max: 8192 }), height: int({ min: 1, max: 8192 }) })),
    /** Thumbnail width, in pixels. */
    width: int({ min: 1, max: 2048 }),
    /** Thumbnail height; when given, the thumbnail fits in width x height, keeping the aspect ratio. */
    height: optional(int({ min: 1, max: 2048 })),
    filter: optional(oneOf(['box', 'bilinear']), 'box'),
  },
  [
    (p) =>
      (p.png === undefined) === (p.pattern === undefined)
        ? 'must contain exactly one of "png" (base64 PNG file) and "pattern" ({ width, height })'
        : undefined,
  ],
);
export const thumbnailSchema = payloadSchema(ThumbnailPayload);
export type ThumbnailInput = Infer<typeof ThumbnailPayload>;

export interface ThumbnailResult {
  readonly width: number;
  readonly height: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly filter: 'box' | 'bilinear';
  /** Size of the thumbnail file, in bytes. */
  readonly bytes: number;
  /** The thumbnail, a PNG file in base64. */
  readonly png: string;
  readonly ms: number;
}

/**
 * Thumbnails: decode a PNG, resize it with a real filter, encode a PNG. All
 * pure JavaScript, so all of it would stall the event loop if run in the
 * main thread: a 12-megapixel photo takes about a second.
 */
@Injectable()
export class ThumbnailTasks {
  constructor(
    private readonly images: ImageService,
    private readonly resizer: ResizeService,
  ) {}

  // A broken file fails at once (UnprocessableInputError is not retried);
  // anything else gets one more attempt. A huge image must not hold a thread
  // forever: after 15 s the thread is stopped and replaced.
  @Task('thumbnail', { schema: thumbnailSchema, timeoutMs: 15_000, maxAttempts: 2 })
  create(input: ThumbnailInput, _ctx: TaskContext): ThumbnailResult {
    const started = performance.now();
    const source: RgbaImage =
      input.png !== undefined
        ? this.images.decodePng(Buffer.from(input.png, 'base64'))
        : this.images.testPattern(input.pattern!.width, input.pattern!.height);
    const { width, height } = fit(source.width, source.height, input.width, input.height);
    const thumbnail = this.resizer.resize(source, width, height, input.filter);
    const file = this.images.encodePng(thumbnail);
    return {
      width,
      height,
      sourceWidth: source.width,
      sourceHeight: source.height,
      filter: input.filter,
      bytes: file.length,
      png: file.toString('base64'),
      ms: Math.round(performance.now() - started),
    };
  }
}

/** The largest size within maxWidth x maxHeight with the source's aspect ratio. */
export function fit(
  sourceWidth: number,
  sourceHeight: number,
  maxWidth: number,
  maxHeight?: number,
): { width: number; height: number } {
  const scale = Math.min(maxWidth / sourceWidth, maxHeight === undefined ? Infinity : maxHeight / sourceHeight);
  return { width: Math.max(1, Math.round(sourceWidth * scale)), height: Math.max(1, Math.round(sourceHeight * scale)) };
}
