import type { AnnotatedKind, Cluster, KindObject } from "./cluster.js";
import { AbortedError, ConflictError, RefusedError } from "./errors.js";
import type { PluginIo } from "./io.js";

const CONFLICT_RETRIES = 3;

/**
 * confirmWithPerson asks y/N on a terminal; off a terminal it refuses without --yes, because what
 * follows spends money or cannot be undone.
 */
export async function confirmWithPerson(io: PluginIo, yes: boolean, question: string, verb: string): Promise<void> {
  if (yes) return;
  if (!io.interactive) {
    throw new RefusedError(`refusing to ${verb} without --yes: stdin is not a terminal, so nobody can answer y/N`);
  }
  const answer = (await io.ask(`${question} [y/N] `)).trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw new AbortedError(`not ${verb}d: nothing changed`);
}

/**
 * writeAnnotation sets one annotation to the value `next` computes from the object as last read. The
 * patch carries the resourceVersion it was computed from, so a concurrent edit is never lost: on a
 * conflict we read again and compute again.
 */
export async function writeAnnotation<K extends AnnotatedKind>(
  cluster: Cluster,
  kind: K,
  object: KindObject[K],
  annotation: string,
  next: (current: string | undefined) => string,
  reread: () => Promise<KindObject[K]>,
): Promise<KindObject[K]> {
  let current = object;
  for (let attempt = 1; ; attempt++) {
    const value = next(current.metadata.annotations?.[annotation]);
    try {
      return await cluster.patchAnnotations(
        kind,
        current.metadata.namespace ?? "",
        current.metadata.name ?? "",
        { [annotation]: value },
        current.metadata.resourceVersion,
      );
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      current = await reread();
    }
  }
}
