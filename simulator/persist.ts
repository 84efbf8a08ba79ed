import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { isSimState, type SimState } from "./state.js";

/**
 * State-file persistence: load once at start, save after changes (debounced, so a burst of calls writes
 * once) and at close. Writes go to a temporary file renamed into place, so a crash never leaves half a file.
 */

/** loadStateFile returns the saved state, undefined when the file does not exist, or throws if it is not a state. */
export function loadStateFile(file: string): SimState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const value: unknown = JSON.parse(text);
  if (!isSimState(value)) throw new Error(`${file} is not a simulator state file (version 1)`);
  return value;
}

export class StatePersister {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly snapshot: () => SimState,
    private readonly debounceMs = 50,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** schedule asks for a save soon; repeated calls within the debounce window coalesce. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(this.onError);
    }, this.debounceMs);
    this.timer.unref();
  }

  /** flush writes the current state now (after any write already under way). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const text = `${JSON.stringify(this.snapshot(), null, 2)}\n`;
    this.writing = this.writing.catch(() => {}).then(() => writeAtomically(this.file, text));
    return this.writing;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text, { mode: 0o600 });
  await fsp.rename(tmp, file);
}
