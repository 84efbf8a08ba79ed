import { SoracomError, SoracomErrorCode, type SoracomErrorCodeValue } from "./errors.js";

type HeaderBag = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * nextPageKey finds the key of the next page: the `x-soracom-next-key` header, or else the
 * `last_evaluated_key` of a `link: <...>; rel=next` header. Undefined on the last page.
 */
export function nextPageKey(headers: HeaderBag): string | undefined {
  const key = first(headers["x-soracom-next-key"])?.trim();
  if (key) return key;
  const link = headers.link;
  const links = (Array.isArray(link) ? link : [link]).filter((l): l is string => typeof l === "string");
  for (const part of links.flatMap((l) => l.split(","))) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!match || !/(^|;)\s*rel="?next"?\s*(;|$)/.test(match[2] ?? "")) continue;
    const next = new URL(match[1] ?? "", "http://link.invalid").searchParams.get("last_evaluated_key");
    if (next) return next;
  }
  return undefined;
}

/** PageBound caps a list: past maxPages pages it fails with SORACOM_ERR_TOO_MANY_PAGES. */
export interface PageBound {
  maxPages: number;
  /** Told the code before the list fails for a bound or a broken pager. */
  onRefused?: (code: SoracomErrorCodeValue) => void;
}

/**
 * paginate walks every page: `fetchPage(key)` returns the items and response headers of one page.
 * A next key equal to one already seen means a broken server: stop with an error, never loop forever;
 * neither does a pager that hands out new keys without end (bound.maxPages).
 */
export async function* paginate<T>(
  operation: string,
  fetchPage: (key: string | undefined) => Promise<{ items: T[]; headers: HeaderBag }>,
  bound: PageBound = { maxPages: Number.POSITIVE_INFINITY },
): AsyncGenerator<T, void, undefined> {
  const seen = new Set<string>();
  let key: string | undefined;
  let fetched = 0;
  do {
    if (fetched >= bound.maxPages) {
      bound.onRefused?.(SoracomErrorCode.tooManyPages);
      throw new SoracomError(
        SoracomErrorCode.tooManyPages,
        operation,
        `${operation}: the list goes on past ${bound.maxPages} pages; stopped`,
      );
    }
    const page = await fetchPage(key);
    fetched++;
    yield* page.items;
    key = nextPageKey(page.headers);
    if (key !== undefined) {
      if (seen.has(key)) {
        bound.onRefused?.(SoracomErrorCode.invalidResponse);
        throw new SoracomError(
          SoracomErrorCode.invalidResponse,
          operation,
          `${operation}: pagination loop: a next key was returned twice`,
        );
      }
      seen.add(key);
    }
  } while (key !== undefined);
}
