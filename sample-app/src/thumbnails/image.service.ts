import { Injectable } from '@nestjs/common';
import { PNG } from 'pngjs';
import { UnprocessableInputError } from '../common/errors.js';

/** An image in memory: RGBA, 8 bits per channel, row after row. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG in and out (pngjs, pure JavaScript), and a generated test picture. */
@Injectable()
export class ImageService {
  decodePng(bytes: Buffer): RgbaImage {
    if (bytes.length < PNG_SIGNATURE.length || !bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
      throw new UnprocessableInputError('The image is not a PNG file (its first bytes are not the PNG signature).');
    }
    try {
      const { width, height, data } = PNG.sync.read(bytes);
      return { width, height, data };
    } catch (error) {
      throw new UnprocessableInputError(`The PNG file cannot be decoded: ${(error as Error).message}`);
    }
  }

  encodePng(image: RgbaImage): Buffer {
    const data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    return PNG.sync.write({ width: image.width, height: image.height, data }, { colorType: 6, deflateLevel: 6 });
  }

  /**
   * A deterministic picture with smooth gradients and sharp edges (a
   * checkerboard and a circle), for trying the thumbnail task without a file
   * at hand.
   */
  testPattern(width: number, height: number): RgbaImage {
    const data = new Uint8Array(width * height * 4);
    const cx = width / 2;
    const cy = height / 2;
    const radius2 = (Math.min(width, height) * 0.3) ** 2;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const inCircle = (x - cx) ** 2 + (y - cy) ** 2 < radius2;
        const checker = ((x >> 5) + (y >> 5)) & 1;
        data[i] = inCircle ? 250 : Math.round((x / Math.max(1, width - 1)) * 255);
        data[i + 1] = inCircle ? 200 : Math.round((y / Math.max(1, height - 1)) * 255);
        data[i + 2] = inCircle ? 40 : checker ? 200 : 60;
        data[i + 3] = 255;
      }
    }
    return { width, height, data };
  }
}
