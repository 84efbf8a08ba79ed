import type { OrderRecord, ProfileRecord, SimRecord } from "./state.js";

/**
 * render.ts shapes stored records as the spec's response schemas (SimProfileOrderResponse,
 * OrderedSimProfileResponse, Sim, Subscriber). Records keep internal bookkeeping; these functions decide
 * what the wire shows.
 */

export function renderOrder(o: OrderRecord): Record<string, unknown> {
  return {
    profileOrderId: o.profileOrderId,
    subscription: o.subscription,
    quantity: o.quantity,
    status: o.status,
    orderedTime: o.orderedTime,
    bundles: o.bundles,
    ...(o.speedClass !== undefined && { speedClass: o.speedClass }),
    ...(o.description !== undefined && { description: o.description }),
    ...(o.confirmedTime !== undefined && { confirmedTime: o.confirmedTime }),
    ...(o.completedTime !== undefined && { completedTime: o.completedTime }),
  };
}

export function activationCode(smdpAddress: string, matchingId: string): string {
  return `LPA:1$${smdpAddress}$${matchingId}`;
}

export function renderProfile(p: ProfileRecord): Record<string, unknown> {
  return {
    profileOrderId: p.profileOrderId,
    iccid: p.iccid,
    imsi: p.imsi,
    matchingId: p.matchingId,
    smdpAddress: p.smdpAddress,
    activationCode: activationCode(p.smdpAddress, p.matchingId),
    profileStatus: p.profileStatus,
    createdTime: p.createdTime,
    lastModifiedTime: p.lastModifiedTime,
    ...(p.installedTime !== undefined && { installedTime: p.installedTime }),
    subscription: p.subscription,
  };
}

const CAPABILITIES = { data: true, sms: false };

export function renderSim(s: SimRecord, operatorId: string): Record<string, unknown> {
  return {
    simId: s.simId,
    operatorId,
    status: s.status,
    speedClass: s.speedClass,
    moduleType: s.moduleType,
    tags: { ...s.tags },
    terminationEnabled: s.terminationEnabled,
    ...(s.groupId !== undefined && { groupId: s.groupId }),
    createdTime: s.createdTime,
    lastModifiedTime: s.lastModifiedTime,
    activeProfileId: s.iccid,
    capabilities: CAPABILITIES,
    sessionStatus: { online: false },
    profiles: {
      [s.iccid]: {
        iccid: s.iccid,
        primaryImsi: s.imsi,
        otaSupported: false,
        subscribers: {
          [s.imsi]: {
            imsi: s.imsi,
            // For the primary subscription the vendor reports the SIM's own status here.
            status: s.status,
            subscription: s.subscription,
            bundles: s.bundles,
            capabilities: CAPABILITIES,
          },
        },
      },
    },
  };
}

export function renderSubscriber(s: SimRecord, operatorId: string): Record<string, unknown> {
  return {
    imsi: s.imsi,
    simId: s.simId,
    iccid: s.iccid,
    operatorId,
    status: s.status,
    subscription: s.subscription,
    speedClass: s.speedClass,
    moduleType: s.moduleType,
    bundles: s.bundles,
    tags: { ...s.tags },
    terminationEnabled: s.terminationEnabled,
    ...(s.groupId !== undefined && { groupId: s.groupId }),
    createdAt: s.createdTime,
    createdTime: s.createdTime,
    lastModifiedAt: s.lastModifiedTime,
    lastModifiedTime: s.lastModifiedTime,
    sessionStatus: { online: false },
  };
}
