import { randomBytes, randomUUID } from "node:crypto";

/**
 * Identifier generators. Numeric identifiers come from counters kept in the state, so they are unique
 * within one simulator (and survive a restart with --state-file); the shapes follow the real ones:
 * ICCID 19 digits with a Luhn check digit, IMSI 15 digits under Soracom's global MCC/MNC, SIM ID 19 digits.
 */

/** luhnCheckDigit computes the ITU-T E.118 check digit that ends a real ICCID. */
export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function iccidFromSequence(seq: number): string {
  const body = `8942310${String(seq).padStart(11, "0")}`;
  return body + luhnCheckDigit(body);
}

export function imsiFromSequence(seq: number): string {
  return `295050${String(seq).padStart(9, "0")}`;
}

export function simIdFromSequence(seq: number): string {
  return `8942319${String(seq).padStart(12, "0")}`;
}

const MATCHING_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** newMatchingId returns a random matching ID (the secret half of an activation code). */
export function newMatchingId(): string {
  const bytes = randomBytes(25);
  let out = "";
  for (let i = 0; i < 25; i++) {
    if (i > 0 && i % 5 === 0) out += "-";
    out += MATCHING_ID_ALPHABET[bytes[i]! % MATCHING_ID_ALPHABET.length];
  }
  return out;
}

/**
 * newProfileOrderId returns a UUIDv7 stamped with the simulated time, like the vendor's IDs
 * (01902ddd-1cf3-77d9-…). Because the first 48 bits are the millisecond, sorting IDs as strings sorts
 * orders by orderedTime, which the list pagination relies on.
 */
export function newProfileOrderId(nowMs: number): string {
  const hex = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, "0").slice(-12);
  const rand = randomBytes(10).toString("hex");
  const variant = ((Number.parseInt(rand[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

export function newApiKey(): string {
  return `api-${randomUUID()}`;
}

export function newToken(): string {
  return randomBytes(48).toString("base64url");
}
