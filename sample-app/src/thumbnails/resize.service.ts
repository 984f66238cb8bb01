import { Injectable } from '@nestjs/common';
import type { RgbaImage } from './image.service.js';

export type ResizeFilter = 'box' | 'bilinear';

/** For each output position along one axis: the input positions it reads and their weights. */
interface AxisWeights {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly offset: Int32Array;
  readonly weights: Float32Array;
}

/**
 * Resizes RGBA images in plain JavaScript, in two separable passes
 * (horizontal, then vertical), on premultiplied alpha so that transparent
 * pixels do not bleed dark fringes into their neighbours.
 *
 * - `box`: each output pixel is the area-weighted average of the input pixels
 *   it covers (partial pixels count for their share). The right filter for
 *   thumbnails: no aliasing, however large the reduction.
 * - `bilinear`: each output pixel interpolates the 2x2 input pixels around its
 *   centre. Smooth for enlargements and small reductions; for big reductions
 *   it skips pixels (aliasing), which is why `box` is the default.
 */
@Injectable()
export class ResizeService {
  resize(source: RgbaImage, width: number, height: number, filter: ResizeFilter): RgbaImage {
    const horizontal = axisWeights(source.width, width, filter);
    const vertical = axisWeights(source.height, height, filter);
    const premultiplied = premultiply(source);
    const wide = pass(premultiplied, source.width, source.height, width, horizontal, 'x');
    const done = pass(wide, width, source.height, height, vertical, 'y');
    return { width, height, data: unpremultiply(done) };
  }
}

function axisWeights(inSize: number, outSize: number, filter: ResizeFilter): AxisWeights {
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const offset = new Int32Array(outSize);
  const weights: number[] = [];
  for (let o = 0; o < outSize; o++) {
    offset[o] = weights.length;
    if (filter === 'box') {
      // Output pixel o covers input interval [a, b).
      const a = o * scale;
      const b = Math.min(inSize, (o + 1) * scale);
      const from = Math.floor(a);
      const to = Math.min(inSize - 1, Math.ceil(b) - 1);
      first[o] = from;
      for (let i = from; i <= to; i++) weights.push((Math.min(i + 1, b) - Math.max(i, a)) / (b - a));
      count[o] = to - from + 1;
    } else {
      const centre = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const left = Math.floor(centre);
      const t = centre - left;
      first[o] = left;
      if (t === 0 || left + 1 >= inSize) {
        weights.push(1);
        count[o] = 1;
      } else {
        weights.push(1 - t, t);
        count[o] = 2;
      }
    }
  }
  return { first, count, offset, weights: Float32Array.from(weights) };
}

/** Resamples along one axis. Images here are Float32 RGBA, premultiplied. */
function pass(
  input: Float32Array,
  inWidth: number,
  inHeight: number,
  outSize: number,
  axis: AxisWeights,
  along: 'x' | 'y',
): Float32Array {
  const outWidth = along === 'x' ? outSize : inWidth;
  const outHeight = along === 'x' ? inHeight : outSize;
  const output = new Float32Array(outWidth * outHeight * 4);
  // Distance between neighbouring input samples along the axis, in floats.
  const stride = along === 'x' ? 4 : inWidth * 4;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const o = along === 'x' ? x : y;
      const base = along === 'x' ? (y * inWidth + axis.first[o]!) * 4 : (axis.first[o]! * inWidth + x) * 4;
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const n = axis.count[o]!;
      const w0 = axis.offset[o]!;
      for (let k = 0; k < n; k++) {
        const w = axis.weights[w0 + k]!;
        const i = base + k * stride;
        r += input[i]! * w;
        g += input[i + 1]! * w;
        b += input[i + 2]! * w;
        a += input[i + 3]! * w;
      }
      const out = (y * outWidth + x) * 4;
      output[out] = r;
      output[out + 1] = g;
      output[out + 2] = b;
      output[out + 3] = a;
    }
  }
  return output;
}

function premultiply({ data }: RgbaImage): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3]! / 255;
    out[i] = data[i]! * alpha;
    out[i + 1] = data[i + 1]! * alpha;
    out[i + 2] = data[i + 2]! * alpha;
    out[i + 3] = data[i + 3]!;
  }
  return out;
}

function unpremultiply(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3]!;
    if (a <= 0) continue;
    const unscale = 255 / a;
    out[i] = clampByte(data[i]! * unscale);
    out[i + 1] = clampByte(data[i + 1]! * unscale);
    out[i + 2] = clampByte(data[i + 2]! * unscale);
    out[i + 3] = clampByte(a);
  }
  return out;
}

function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}
