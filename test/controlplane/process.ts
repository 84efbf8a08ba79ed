import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

/**
 * ManagedProcess runs one server binary (etcd or kube-apiserver) in its own process group, with its
 * output appended to a log file, so that stopping it also stops anything it forked and so that a
 * failed start can show the tail of the log instead of a bare timeout.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Every pid this process ever had (restarts give new ones), for the leftover check. */
  readonly history: number[] = [];

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: () => string[],
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const fd = fs.openSync(this.logFile, "a");
    // detached: a process group of its own, so Ctrl-C in the terminal reaches only us and we stop it
    // in order (apiserver before etcd) instead of both dying at once mid-write.
    const child = spawn(this.bin, this.args(), { detached: true, stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.child = child;
    if (child.pid !== undefined) this.history.push(child.pid);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("error", (err) => fs.appendFileSync(this.logFile, `\n[fixture] spawn failed: ${err.message}\n`));
  }

  /** stop sends SIGTERM to the process group, then SIGKILL after graceMs, and waits for the exit. */
  async stop(graceMs = 20_000): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    signalGroup(pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** killNow is the synchronous last resort for process 'exit' handlers, where nothing can be awaited. */
  killNow(): void {
    const pid = this.pid;
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  }

  /** logTail returns the last lines of the log, for error messages. */
  logTail(lines = 25): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** freePort asks the kernel for an unused loopback port (the same small race envtest accepts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** isAlive tells whether a pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
