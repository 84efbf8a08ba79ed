import { describe, expect, it } from "vitest";
import { REASONS } from "../../controller/api/vocabulary.js";
import { CredentialsError } from "../../controller/credentials.js";
import { classifyFailure, whileDeleting } from "../../controller/profile/failure.js";

// A profile deleted under Terminate whose credentials are gone (its namespace is being deleted and took
// the Secret first) says what blocks it and the way out; other failures and Retain profiles are unchanged.
const missing = classifyFailure(
  new CredentialsError(REASONS.CredentialsNotFound, "credentials Secret team/soracom does not exist"),
  undefined,
)!;

describe("whileDeleting", () => {
  it("adds the way out to a credentials failure of a profile being deleted under Terminate", () => {
    const f = whileDeleting(missing, true, "Terminate");
    expect(f.message).toBe(
      "credentials Secret team/soracom does not exist. This EsimProfile is being deleted and cannot terminate its SIM without them: restore the credentials, or set spec.deletionPolicy to Retain to let it go and leave the SIM as it is in Soracom.",
    );
    expect({ ...f, message: "" }).toEqual({ ...missing, message: "" });
  });

  it("leaves everything else as it is", () => {
    expect(whileDeleting(missing, false, "Terminate")).toBe(missing);
    expect(whileDeleting(missing, true, "Retain")).toBe(missing);
    const other = { ...missing, reason: REASONS.SyncFailed };
    expect(whileDeleting(other, true, "Terminate")).toBe(other);
  });
});
