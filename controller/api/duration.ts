/**
 * Durations as a person writes them (and as the CRDs and flags take them): `24h`, `1h30m`, `45s`, never
 * `1440m` or `86400000`.
 */

/** formatDuration renders a time to wait the way people say it: 45s, 12m, 1h, 1h30m (minutes rounded up). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
}

/** formatWindow renders a budget window exactly, in the form spec.budgets.*.window takes: 24h, 1h30m, 90s. */
export function formatWindow(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const text = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
  return text || "0s";
}
