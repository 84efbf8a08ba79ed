import { describe, expect, it } from "vitest";
import { areaOf, type CpuProfile, summarize } from "../../bench/cpuprofile.js";

const frame = (id: number, functionName: string, url: string) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
});

describe("bench/cpuprofile: where the controller's CPU went", () => {
  it("sums self time per function and per area from the sample gaps, as shares of wall time", () => {
    const profile: CpuProfile = {
      nodes: [
        frame(1, "(root)", ""),
        frame(2, "(idle)", ""),
        frame(3, "qrPng", "file:///app/dist/controller/profile/qrpng.js"),
        frame(4, "getBestMask", "file:///app/node_modules/qrcode/lib/core/mask-pattern.js"),
        frame(5, "writev", ""),
      ],
      startTime: 0,
      endTime: 10_000, // 10 ms
      samples: [2, 3, 4, 3, 2, 5],
      // V8 records the gap before each sample; a sample's own time is the next gap.
      timeDeltas: [0, 4_000, 1_000, 2_000, 500, 2_000],
    };
    const s = summarize(profile);
    expect(s.wallMs).toBe(10);
    expect(Object.fromEntries(s.byArea.map((a) => [a.name, a.ms]))).toEqual({
      "(idle)": 6,
      "controller/profile": 1.5,
      "npm:qrcode": 2,
      "(native)": 0,
    });
    expect(s.byFunction[0]).toMatchObject({ name: "(idle)", ms: 6, share: 0.6 });
    expect(s.byFunction.find((f) => f.name.startsWith("qrPng"))).toMatchObject({
      name: "qrPng dist/controller/profile/qrpng.js:10",
      ms: 1.5,
    });
  });

  it("names areas by where the code lives", () => {
    expect(areaOf("parse", "file:///x/node_modules/@kubernetes/client-node/dist/a.js")).toBe(
      "npm:@kubernetes/client-node",
    );
    expect(areaOf("f", "node:internal/http")).toBe("node:internals");
    expect(areaOf("plan", "file:///x/dist/controller/order/plan.js")).toBe("controller/order");
    expect(areaOf("main", "file:///x/dist/controller/main.js")).toBe("controller");
    expect(areaOf("(garbage collector)", "")).toBe("(garbage collector)");
  });
});
