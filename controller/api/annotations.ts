/** splitList is the one parse of a comma-separated annotation (approve, acknowledge): IDs, blanks dropped. */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
