import readline from "node:readline/promises";

/** PluginIo is the plugin's whole contact with the terminal and the clock, so commands can be tested. */
export interface PluginIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when a person can answer a prompt (stdin and stderr are terminals). */
  interactive: boolean;
  /** ask shows a question (on stderr) and returns the answer line. */
  ask(question: string): Promise<string>;
  now(): Date;
  /** sleep waits between reads (`status -w`). */
  sleep(ms: number): Promise<void>;
}

/** processIo is the real terminal. */
export function processIo(): PluginIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    async ask(question) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
