import jsQR from "jsqr";

/**
 * decodePdfQrs reads back the QR codes of a `kubectl esim qr ORDER --pdf` sheet: each is a `q … Q` block of
 * unit squares (`x y w 1 re`, one run of dark modules each), drawn here into a bitmap that jsQR decodes.
 * A test of the file as written, not of the writer's inputs.
 */
export function decodePdfQrs(pdf: string): (string | undefined)[] {
  const blocks = pdf
    .split(/\nq\n/)
    .slice(1)
    .map((b) => b.slice(0, b.indexOf("\nQ")));
  return blocks.map(decodeBlock);
}

function decodeBlock(block: string): string | undefined {
  const rects = [...block.matchAll(/^(\d+) (\d+) (\d+) 1 re$/gm)].map((m) => m.slice(1, 4).map(Number));
  const size = Math.max(...rects.map(([x = 0, , w = 0]) => x + w)) + 4;
  const scale = 4;
  const px = size * scale;
  const data = new Uint8ClampedArray(px * px * 4).fill(255);
  for (const [x = 0, y = 0, w = 0] of rects) {
    for (let yy = (size - 1 - y) * scale; yy < (size - y) * scale; yy++) {
      for (let xx = x * scale; xx < (x + w) * scale; xx++) data.fill(0, (yy * px + xx) * 4, (yy * px + xx) * 4 + 3);
    }
  }
  // jsqr is CommonJS: under NodeNext its default export arrives on `.default`.
  const decode = ((jsQR as unknown as { default?: typeof jsQR }).default ?? jsQR) as unknown as typeof jsQR.default;
  return decode(data, px, px)?.data;
}
