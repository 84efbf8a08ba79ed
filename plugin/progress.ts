/**
 * progressBar draws `[#########...........]  45%` for value out of total. ASCII on purpose: it survives
 * every terminal, CI log and copy-paste into a ticket. Above the total (a surplus) the bar is full
 * and the percentage tells the truth; with nothing desired there is no ratio to show.
 */
export function progressBar(value: number, total: number, width = 20): string {
  if (total <= 0) return `[${".".repeat(width)}]    -`;
  const ratio = Math.max(0, value) / total;
  const filled = Math.min(width, Math.floor(ratio * width));
  const percent = `${Math.floor(ratio * 100)}%`.padStart(5);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]${percent}`;
}
