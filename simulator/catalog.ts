/**
 * catalog.ts: what may be ordered, per subscription, as the spec's descriptions of
 * CreateSimProfileOrderRequest and UpdateSpeedClassRequest say (the schema's enums alone allow more).
 */

const S1_CLASSES = ["s1.minimum", "s1.slow", "s1.standard", "s1.fast", "s1.4xfast"];
const US_BUNDLES = [
  "US-1MB",
  "US-3MB",
  "US-10MB",
  "US-20MB",
  "US-50MB",
  "US-100MB",
  "US-300MB",
  "US-500MB",
  "US-1GB",
  "US-3GB",
  "US-5GB",
  "US-10GB",
];

interface Plan {
  speedClasses: string[];
  bundles: string[];
  /** Speed class of a new SIM when the order names none (the simulator's choice). */
  defaultSpeedClass: string;
}

export const PLANS: Record<string, Plan> = {
  plan01s: { speedClasses: S1_CLASSES, bundles: [], defaultSpeedClass: "s1.standard" },
  planP1: { speedClasses: S1_CLASSES, bundles: [], defaultSpeedClass: "s1.standard" },
  planX1: { speedClasses: S1_CLASSES, bundles: [], defaultSpeedClass: "s1.standard" },
  planX2: { speedClasses: S1_CLASSES, bundles: [], defaultSpeedClass: "s1.standard" },
  planX3: { speedClasses: S1_CLASSES, bundles: ["X3-5MB"], defaultSpeedClass: "s1.standard" },
  "plan-US": { speedClasses: [...S1_CLASSES, "s1.8xfast"], bundles: US_BUNDLES, defaultSpeedClass: "s1.standard" },
};

export function planOf(subscription: string): Plan | undefined {
  return Object.hasOwn(PLANS, subscription) ? PLANS[subscription] : undefined;
}
