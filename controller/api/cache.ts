import { GROUP } from "./vocabulary.js";

/**
 * ownAnnotation: annotations of this operator's group, the only ones a reconciler reads on an EsimProfile.
 * The profile cache keeps only these (InformerOptions.keepAnnotation): a profile's other annotations are its
 * order's template's, copied for people and tools, and at 100,000 profiles they would be held 100,000 times.
 */
export function ownAnnotation(key: string): boolean {
  return key.startsWith(`${GROUP}/`);
}
