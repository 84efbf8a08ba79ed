import jsQR from "jsqr";
import { PNG } from "pngjs";
import QRCode from "qrcode";
import { describe, expect, it } from "vitest";
import { qrPng } from "../../controller/api/qrpng.js";

// jsqr is CommonJS: under NodeNext its default export arrives on `.default`.
const decode = ((jsQR as unknown as { default?: typeof jsQR }).default ?? jsQR) as unknown as typeof jsQR.default;

const CODES = {
  "a typical activation code": "LPA:1$smdp.simulator.soracom.local$0123456789ABCDEF01234567",
  "a short one (a smaller QR version)": "LPA:1$a.b$C",
  "a long one (a larger QR version)": `LPA:1$${"rsp.example.com".repeat(6)}$${"A1B2C3D4".repeat(8)}`,
};

/** black reads a decoded PNG as one boolean per pixel (whatever its colour type and bit depth). */
function black(png: Buffer): { width: number; height: number; pixels: boolean[] } {
  const img = PNG.sync.read(png);
  const pixels: boolean[] = [];
  for (let i = 0; i < img.width * img.height; i++) pixels.push(img.data[i * 4]! < 128);
  return { width: img.width, height: img.height, pixels };
}

describe("qrPng: the QR code PNG of an activation Secret", () => {
  for (const [sentence, code] of Object.entries(CODES)) {
    it(`${sentence}: the same picture as qrcode's PNG renderer, pixel for pixel, and it decodes`, async () => {
      const ours = qrPng(code);
      const theirs = await QRCode.toBuffer(code, { type: "png", errorCorrectionLevel: "M", margin: 4, scale: 6 });
      const a = black(ours);
      const b = black(theirs);
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      expect(a.pixels.filter((p, i) => p !== b.pixels[i])).toHaveLength(0);
      const img = PNG.sync.read(ours);
      expect(decode(new Uint8ClampedArray(img.data), img.width, img.height)?.data).toBe(code);
      expect(ours.length).toBeLessThan(theirs.length);
    });
  }
});
