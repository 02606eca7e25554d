/**
 * Private working directories next to the spool (staged files, DuckDB scratch, `logbarge ingest`
 * staging) and the sweep of those whose owner died. A directory is named by a random id, never
 * by a PID: two containers sharing a volume can both be PID 1. Each holds `owner.json`
 * naming its process precisely (boot id, PID namespace, PID, start time); its mtime is the
 * owner's heartbeat, refreshed while it runs.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { privateDirMode, privateFileMode } from '../modes.js';

/** Who owns a working directory. */
export interface WorkOwner {
  readonly pid: number;
  readonly host: string;
  /** /proc/sys/kernel/random/boot_id, or null where there is no /proc. */
  readonly bootId: string | null;
  /** The PID namespace (`pid:[4026531836]`), or null where there is no /proc. */
  readonly pidNs: string | null;
  /** Field 22 of /proc/PID/stat (clock ticks after boot), or null where there is no /proc. */
  readonly startTicks: string | null;
}

/** Name of the owner record inside a working directory. */
export const ownerFile = 'owner.json';

/**
 * How long a directory whose owner cannot be checked directly (another host, another PID
 * namespace, no /proc) stays after its last heartbeat: 15 minutes is 15 missed heartbeats.
 */
export const staleAfterMs = 15 * 60_000;

/** How often a running owner refreshes its heartbeat (owner.json's mtime). */
export const heartbeatMs = 60_000;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The start time of process `pid` in clock ticks after boot, or undefined when there is no such process (or no /proc). */
export function startTicksOf(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return undefined;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 overall: starttime
}

/** This process as an owner. */
export function currentOwner(): WorkOwner {
  let pidNs: string | null = null;
  try {
    pidNs = readlinkSync('/proc/self/ns/pid');
  } catch {
    pidNs = null;
  }
  return {
    pid: process.pid,
    host: hostname(),
    bootId: readText('/proc/sys/kernel/random/boot_id'),
    pidNs,
    startTicks: startTicksOf(process.pid) ?? null,
  };
}

/**
 * Whether the owner of a working directory may still be running. Decided exactly when it ran
 * under this kernel boot and in this PID namespace (same PID *and* same start time: a PID reused
 * by another process does not keep a dead owner alive); otherwise by its heartbeat.
 */
export function ownerAlive(options: {
  owner: WorkOwner;
  self: WorkOwner;
  /** Epoch ms of the owner's last heartbeat. */
  heartbeatAt: number;
  now: number;
  startTicksOf?: (pid: number) => string | undefined;
}): boolean {
  const { owner, self } = options;
  const exact = owner.bootId !== null && owner.pidNs !== null && owner.startTicks !== null && owner.bootId === self.bootId && owner.pidNs === self.pidNs;
  if (exact) return (options.startTicksOf ?? startTicksOf)(owner.pid) === owner.startTicks;
  return options.now - options.heartbeatAt < staleAfterMs;
}

/** A working directory held by this process. */
export interface WorkDir {
  readonly path: string;
  /** Refreshes the heartbeat (recreating the directory and owner record if something removed them). */
  heartbeat(): void;
  /** Removes the directory. */
  release(): void;
}

/** Creates `<root>/<prefix><random id>` with this process's owner record. */
export function claimWorkDir(root: string, prefix = 'work-'): WorkDir {
  const path = join(root, `${prefix}${randomBytes(8).toString('hex')}`);
  const record = `${JSON.stringify(currentOwner())}\n`;
  const write = (): void => {
    mkdirSync(path, { recursive: true, mode: privateDirMode });
    writeFileSync(join(path, ownerFile), record, { mode: privateFileMode });
  };
  write();
  return {
    path,
    heartbeat() {
      const now = new Date();
      try {
        utimesSync(join(path, ownerFile), now, now);
      } catch {
        write();
      }
    },
    release() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

function parseOwner(text: string | null): WorkOwner | undefined {
  if (text === null) return undefined;
  try {
    const o = JSON.parse(text) as Partial<WorkOwner>;
    return typeof o.pid === 'number' ? { pid: o.pid, host: o.host ?? '', bootId: o.bootId ?? null, pidNs: o.pidNs ?? null, startTicks: o.startTicks ?? null } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the directories `<root>/<prefix>*` whose owner is dead (see ownerAlive). A directory
 * without an owner record (made by an older logbarge as `work-<pid>`, or one whose owner died
 * while creating it) goes once nothing in it changed for staleAfterMs. Returns the names removed.
 */
export function sweepWorkDirs(root: string, options: { prefix?: string; now?: number; keep?: string; startTicksOf?: (pid: number) => string | undefined } = {}): string[] {
  const prefix = options.prefix ?? 'work-';
  const now = options.now ?? Date.now();
  const self = currentOwner();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(root, name);
    if (dir === options.keep) continue;
    try {
      if (!statSync(dir).isDirectory()) continue;
      const owner = parseOwner(readText(join(dir, ownerFile)));
      let alive: boolean;
      if (owner) {
        const heartbeatAt = statSync(join(dir, ownerFile)).mtimeMs;
        alive = ownerAlive({ owner, self, heartbeatAt, now, ...(options.startTicksOf ? { startTicksOf: options.startTicksOf } : {}) });
      } else {
        alive = now - newestMtime(dir) < staleAfterMs;
      }
      if (alive) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Vanished meanwhile (its owner released it) or unreadable: left for the next sweep.
    }
  }
  return removed;
}

/** The newest mtime of a directory and the entries directly in it. */
function newestMtime(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const name of readdirSync(dir)) {
    try {
      newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
    } catch {
      // removed meanwhile
    }
  }
  return newest;
}
