import { SimErrorCode, SimulatorHttpError } from "./errors.js";
import { renderProfile } from "./render.js";
import type { ProfileStatus, SimState } from "./state.js";

/**
 * Device events stand in for what a real device reports through the SM-DP+: each moves the profile's
 * profileStatus (and lastModifiedTime; a successful installation also sets installedTime).
 */
export const DEVICE_EVENTS: Record<string, ProfileStatus> = {
  installed: "INSTALLATION_SUCCEEDED",
  installation_failed: "INSTALLATION_FAILED",
  activated: "ACTIVATION_SUCCEEDED",
  activation_failed: "ACTIVATION_FAILED",
  deactivated: "INACTIVATION_SUCCEEDED",
  deactivation_failed: "INACTIVATION_FAILED",
  deleted: "DELETION_SUCCEEDED",
  deletion_failed: "DELETION_FAILED",
};

/** applyDeviceEvent handles POST /_sim/devices/{iccid}/events and returns the updated profile. */
export function applyDeviceEvent(state: SimState, iccid: string, body: unknown, now: number): Record<string, unknown> {
  const event = (body as { event?: unknown } | undefined)?.event;
  if (typeof event !== "string" || !Object.hasOwn(DEVICE_EVENTS, event)) {
    throw new SimulatorHttpError(
      400,
      SimErrorCode.ControlBadRequest,
      `event must be one of ${Object.keys(DEVICE_EVENTS).join(", ")}`,
    );
  }
  const profile = Object.hasOwn(state.profiles, iccid) ? state.profiles[iccid] : undefined;
  if (!profile) throw new SimulatorHttpError(404, SimErrorCode.ControlNotFound, `no eSIM profile with ICCID ${iccid}`);
  profile.profileStatus = DEVICE_EVENTS[event]!;
  profile.lastModifiedTime = now;
  if (event === "installed") profile.installedTime = now;
  return renderProfile(profile);
}
