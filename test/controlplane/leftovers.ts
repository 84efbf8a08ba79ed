import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isAlive } from "./process.js";

/** DIR_PREFIX names every fixture folder, so leftovers of a killed run can be found and reaped. */
export const DIR_PREFIX = "soracom-esim-cp-";
/** PID_FILES are written into the fixture folder each time a server starts. */
export const PID_FILES = ["etcd.pid", "kube-apiserver.pid"] as const;

/** fixtureDirs lists the fixture folders under baseDir. */
export function fixtureDirs(baseDir = os.tmpdir()): string[] {
  try {
    return fs
      .readdirSync(baseDir)
      .filter((name) => name.startsWith(DIR_PREFIX))
      .map((name) => path.join(baseDir, name));
  } catch {
    return [];
  }
}

/**
 * serverPids returns the pids recorded in a fixture folder that still run a binary started for that
 * folder: the command line must mention the folder, so a recycled pid is never mistaken for ours.
 */
export function serverPids(dir: string): number[] {
  const pids: number[] = [];
  for (const file of PID_FILES) {
    const pid = Number.parseInt(readOr(path.join(dir, file), ""), 10);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && readOr(`/proc/${pid}/cmdline`, "").includes(dir)) {
      pids.push(pid);
    }
  }
  return pids;
}

/**
 * reapOrphans removes the folders (and kills the servers) of fixture runs whose owning process is
 * gone: a run killed with SIGKILL cannot clean up after itself, the next one does.
 */
export function reapOrphans(baseDir: string, log: (line: string) => void): void {
  for (const dir of fixtureDirs(baseDir)) {
    const owner = Number.parseInt(readOr(path.join(dir, "owner.pid"), "0"), 10);
    if (owner > 0 && isAlive(owner)) continue;
    if (owner === 0 && ageMs(dir) < 60_000) continue; // just created; its owner is writing owner.pid
    for (const pid of serverPids(dir)) {
      log(`killing orphaned control-plane process ${pid} of ${dir}`);
      try {
        process.kill(-pid, "SIGKILL"); // our servers lead their own process group
      } catch {
        // exited meanwhile
      }
    }
    log(`removing orphaned control-plane folder ${dir}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

/**
 * leftoversOf lists what a stopped control plane left behind: live pids among those it started,
 * processes whose command line mentions its folder (children included), and the folder itself.
 */
export function leftoversOf(dir: string, pids: number[]): string[] {
  const found = pids.filter(isAlive).map((pid) => `process ${pid} still running`);
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry) || pids.includes(Number(entry))) continue;
    const cmdline = readOr(`/proc/${entry}/cmdline`, "").replaceAll("\0", " ");
    if (cmdline.includes(dir)) found.push(`process ${entry} still running: ${cmdline.slice(0, 120)}`);
  }
  if (fs.existsSync(dir)) found.push(`folder ${dir} still exists`);
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
