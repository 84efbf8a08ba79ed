import type { Logger } from "pino";
import { type SoracomClient, simCarries } from "../soracom/index.js";
import type { OrderedProfile, Sim } from "../soracom/types.js";

/**
 * The SIMs of freshly ordered profiles, in bulk. An ordered profile names its ICCID and IMSI but not
 * its SIM ID; looking each one up (GET /subscribers/{imsi}, then GET /sims/{id}) costs two calls per
 * profile, 20,000 for an order of 10,000. GET /query/sims takes many IMSIs at once, so one search per
 * Soracom order (20 profiles) finds them all. The search matches partially: only exact IMSI matches
 * count. Its index lags behind new SIMs (soracom-cli's own test waits 15 s): a profile it does not show
 * yet is looked up exactly by the profile reconciler, as before. Best effort: a failed search only means
 * those lookups happen one by one, so it never fails the materialization.
 */
export async function simsByImsi(
  client: SoracomClient | undefined,
  profiles: readonly OrderedProfile[],
  logger: Logger,
): Promise<Map<string, Sim>> {
  const found = new Map<string, Sim>();
  const ambiguous = new Set<string>();
  const imsis = profiles.map((p) => p.imsi).filter((imsi) => imsi && imsi.length >= 2);
  if (!client || imsis.length === 0) return found;
  try {
    for await (const sim of client.searchSims({ imsi: imsis, limit: 100 })) {
      for (const imsi of imsis) {
        if (!simCarries(sim, { imsi })) continue;
        if (found.has(imsi)) ambiguous.add(imsi); // the profile reconciler reports that, with the exact lookup
        found.set(imsi, sim);
      }
    }
  } catch (err) {
    logger.info({ err, profiles: imsis.length }, "bulk SIM search failed; the profiles look their SIMs up one by one");
    return new Map();
  }
  for (const imsi of ambiguous) found.delete(imsi);
  return found;
}
