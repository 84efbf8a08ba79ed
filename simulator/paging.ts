/**
 * nextPageHeaders builds the vendor's two pagination hints: `x-soracom-next-key: K` and
 * `link: </v1/…?last_evaluated_key=K&…>; rel=next`. The link keeps the caller's other query parameters
 * (limit, filters) so following it verbatim continues the same listing. The last page carries neither.
 */
export function nextPageHeaders(basePath: string, query: Record<string, unknown>, key: string): Record<string, string> {
  const params = new URLSearchParams();
  params.append("last_evaluated_key", key);
  for (const [name, value] of Object.entries(query)) {
    if (name === "last_evaluated_key" || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, String(v));
  }
  return {
    "x-soracom-next-key": key,
    link: `<${basePath}?${params.toString()}>; rel=next`,
  };
}
