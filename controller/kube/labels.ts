/**
 * metav1.LabelSelector, and whether a set of labels matches it, with the apiserver's semantics: every
 * matchLabels pair must be present, every expression must hold (In, NotIn, Exists, DoesNotExist); an empty
 * selector matches everything. Used for the namespaces a SoracomAccount serves and for sharding.
 */

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** matchesSelector says whether `labels` satisfy `selector` (undefined labels: an object without any). */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    switch (e.operator) {
      case "In":
        if (!has || !(e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case "NotIn":
        if (has && (e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false; // an operator this code does not know matches nothing (fail closed)
    }
  }
  return true;
}

/** describeSelector renders a selector the way kubectl writes one (for messages). */
export function describeSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === "In" ? "in" : "notin"} (${(e.values ?? []).join(",")})`);
  }
  return parts.length > 0 ? parts.join(",") : "(every namespace)";
}

/**
 * parseSelector reads a label selector as kubectl writes one: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x,y)`, `a` (exists), `!a` (does not exist), joined by commas. Throws on anything else.
 */
export function parseSelector(text: string): LabelSelector {
  const selector: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  // Commas inside parentheses belong to a set; split on the others.
  const terms = text.split(/,(?![^(]*\))/).map((t) => t.trim());
  for (const term of terms) {
    if (term === "") throw new SyntaxError(`empty term in label selector "${text}"`);
    const set = /^([\w./-]+)\s+(in|notin)\s+\(([^()]*)\)$/.exec(term);
    const eq = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
    const exists = /^(!?)([\w./-]+)$/.exec(term);
    if (set) {
      const values = set[3]!.split(",").map((v) => v.trim());
      selector.matchExpressions.push({ key: set[1]!, operator: set[2] === "in" ? "In" : "NotIn", values });
    } else if (eq) {
      if (eq[2] === "!=") selector.matchExpressions.push({ key: eq[1]!, operator: "NotIn", values: [eq[3]!] });
      else selector.matchLabels[eq[1]!] = eq[3]!;
    } else if (exists) {
      selector.matchExpressions.push({ key: exists[2]!, operator: exists[1] ? "DoesNotExist" : "Exists" });
    } else {
      throw new SyntaxError(`"${term}" is not a label selector term (examples: shard=a, team in (x,y), !legacy)`);
    }
  }
  return selector;
}
