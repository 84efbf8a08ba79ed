import { describe, expect, it } from "vitest";
import type { EsimProfile } from "../../controller/api/types.js";
import { COLUMNS, consoleTime, DEFAULT_COLUMNS, type ExportRow, selectColumns } from "../../plugin/columns.js";
import { csvDocument, csvField, csvRecord } from "../../plugin/csv.js";
import { UsageError } from "../../plugin/errors.js";

describe("csvField quotes exactly what RFC 4180 requires", () => {
  const cases: Record<string, [string, string]> = {
    "a plain value is left as is": ["8981100000000000001", "8981100000000000001"],
    "an empty value stays empty": ["", ""],
    "a comma forces quotes": ["a,b", '"a,b"'],
    "a double quote is doubled inside quotes": ['say "hi"', '"say ""hi"""'],
    "a line feed forces quotes": ["a\nb", '"a\nb"'],
    "a carriage return forces quotes": ["a\rb", '"a\rb"'],
    "an activation code with $ and : is not quoted": ["LPA:1$smdp.example$ABC-123", "LPA:1$smdp.example$ABC-123"],
    "leading spaces are data, not quoted": ["  x", "  x"],
  };
  for (const [sentence, [input, want]] of Object.entries(cases)) {
    it(sentence, () => expect(csvField(input)).toBe(want));
  }
});

describe("csvRecord and csvDocument", () => {
  it("a record ends in CRLF", () => expect(csvRecord(["a", "b,c"])).toBe('a,"b,c"\r\n'));
  it("a document is the header record, then the rows", () =>
    expect(
      csvDocument(
        ["H1", "H2"],
        [
          ["1", "2"],
          ["", "x"],
        ],
      ),
    ).toBe("H1,H2\r\n1,2\r\n,x\r\n"));
  it("a document without rows is only the header", () => expect(csvDocument(["H"], [])).toBe("H\r\n"));
});

describe("consoleTime renders times as ISO 8601 UTC", () => {
  const cases: Record<string, [string | undefined, string]> = {
    "no time is an empty cell": [undefined, ""],
    "an RFC 3339 UTC time stays as it is": ["2026-06-04T09:15:00Z", "2026-06-04T09:15:00Z"],
    "an offset time is converted to UTC": ["2026-06-04T18:15:00+09:00", "2026-06-04T09:15:00Z"],
    "milliseconds are kept when the time has them": ["2026-06-04T09:15:00.250Z", "2026-06-04T09:15:00.250Z"],
    "a value that is not a date is passed through": ["yesterday-ish", "yesterday-ish"],
  };
  for (const [sentence, [input, want]] of Object.entries(cases)) {
    it(sentence, () => expect(consoleTime(input)).toBe(want));
  }
});

const profile: EsimProfile = {
  apiVersion: "esim.soracom-operator.io/v1alpha1",
  kind: "EsimProfile",
  metadata: { name: "sensors-8981100000000000001", namespace: "fleet-a" },
  spec: {},
  status: {
    simId: "8981100000000000001",
    imsi: "440101234567890",
    iccid: "8981100000000000001",
    subscription: "planX3",
    profileStatus: "SUBSCRIBER_REGISTRATION_SUCCEEDED",
    lastModifiedTime: "2026-06-04T09:15:00Z",
  },
};
const row: ExportRow = {
  profile,
  activation: { smdpAddress: "smdp.example", matchingId: "ABC-123", activationCode: "LPA:1$smdp.example$ABC-123" },
};
const cells = (columns: ReturnType<typeof selectColumns>, r: ExportRow) => columns.map((c) => c.cell(r));

describe("the console's columns", () => {
  it("are the default, in the console's order", () =>
    expect(DEFAULT_COLUMNS.map((c) => c.header)).toEqual([
      "SIM ID",
      "IMSI",
      "Subscription",
      "SM-DP",
      "Matching ID",
      "Activation Code",
      "Profile Status",
      "Installed Time",
      "Last Modified Time",
    ]));
  it("fill from status and the activation Secret, raw values, empty where unknown", () =>
    expect(cells(DEFAULT_COLUMNS, row)).toEqual([
      "8981100000000000001",
      "440101234567890",
      "planX3",
      "smdp.example",
      "ABC-123",
      "LPA:1$smdp.example$ABC-123",
      "SUBSCRIBER_REGISTRATION_SUCCEEDED",
      "",
      "2026-06-04T09:15:00Z",
    ]));
  it("leave the Secret's cells empty when it could not be read", () =>
    expect(cells(DEFAULT_COLUMNS, { profile }).slice(3, 6)).toEqual(["", "", ""]));
  it("take the plan from the order when the profile's status does not name it", () => {
    const bare = { ...profile, status: { ...profile.status, subscription: undefined } };
    expect(cells(selectColumns("Subscription"), { profile: bare, orderSubscription: "planX1" })).toEqual(["planX1"]);
  });
  it("only SM-DP, Matching ID and Activation Code need the Secret", () =>
    expect(COLUMNS.filter((c) => c.secret).map((c) => c.header)).toEqual(["SM-DP", "Matching ID", "Activation Code"]));
});

describe("selectColumns picks columns by header name", () => {
  const cases: Record<string, [string | undefined, string[]]> = {
    "no --columns gives the console's columns": [undefined, DEFAULT_COLUMNS.map((c) => c.header)],
    "names come back in the order given": ["ICCID,Activation Code", ["ICCID", "Activation Code"]],
    "names match case-insensitively": ["iccid,activation code,sim id", ["ICCID", "Activation Code", "SIM ID"]],
    "spaces around names are ignored": [" Profile , Namespace ", ["Profile", "Namespace"]],
  };
  for (const [sentence, [spec, want]] of Object.entries(cases)) {
    it(sentence, () => expect(selectColumns(spec).map((c) => c.header)).toEqual(want));
  }

  const errors: Record<string, [string, RegExp]> = {
    "an unknown name is a usage error that lists every valid name": [
      "ICCID,Color",
      /unknown column "Color"; valid names: SIM ID, IMSI, Subscription, SM-DP, Matching ID, Activation Code, Profile Status, Installed Time, Last Modified Time, ICCID, Profile, Namespace/,
    ],
    "an empty name is a usage error": ["ICCID,,IMSI", /empty name/],
    "a name given twice is a usage error": ["ICCID,iccid", /named twice/],
  };
  for (const [sentence, [spec, message]] of Object.entries(errors)) {
    it(sentence, () => {
      expect(() => selectColumns(spec)).toThrow(UsageError);
      expect(() => selectColumns(spec)).toThrow(message);
    });
  }
});
