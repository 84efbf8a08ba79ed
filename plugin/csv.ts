/**
 * RFC 4180 CSV: fields with a comma, a double quote, CR or LF are quoted and their quotes doubled;
 * records end in CRLF (the RFC's line break, which spreadsheets expect). Nothing else is quoted,
 * so plain values stay byte-for-byte what Soracom returned.
 */

const NEEDS_QUOTES = /[",\r\n]/;

/** csvField quotes one value when RFC 4180 requires it. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** csvRecord joins one record's fields and ends it with CRLF. */
export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(",")}\r\n`;
}

/** csvDocument renders a header record followed by data records. */
export function csvDocument(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map(csvRecord).join("");
}
