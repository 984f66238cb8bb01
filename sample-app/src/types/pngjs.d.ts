// The part of pngjs 7 the sample uses (the package ships no type declarations).
declare module 'pngjs' {
  export interface PNGImageData {
    width: number;
    height: number;
    /** RGBA, 8 bits per channel, row after row. */
    data: Buffer;
  }
  export interface PNGReadOptions {
    /** Keep 16-bit samples as they are (default: scaled to 8 bits). */
    skipRescale?: boolean;
  }
  export interface PNGWriteOptions {
    colorType?: 0 | 2 | 4 | 6;
    inputColorType?: 0 | 2 | 4 | 6;
    bitDepth?: 8 | 16;
    deflateLevel?: number;
    inputHasAlpha?: boolean;
  }
  export const PNG: {
    sync: {
      read(
        buffer: Buffer,
        options?: PNGReadOptions,
      ): PNGImageData & { depth: number; colorType: number; alpha: boolean };
      write(png: PNGImageData, options?: PNGWriteOptions): Buffer;
    };
  };
}
