/**
 * The spool clock: milliseconds that count toward the idempotency window. While a process has the
 * spool open it advances by wall-clock time, but never by more than the monotonic clock did in
 * the same step, so a forward jump of the system clock (an NTP correction, a wrong RTC fixed at
 * run time) does not make the window expire early, and a backward jump does not stall it for
 * long. Between processes it advances by the wall-clock time since the last process recorded it
 * (a stopped daemon cannot watch a monotonic clock). It never goes backwards.
 */

/** The two clocks a reading is taken from. */
export interface ClockSources {
  /** Wall-clock epoch ms (Date.now). */
  readonly wall: () => number;
  /** Monotonic ms (performance.now). */
  readonly monotonic: () => number;
}

/** The persisted state: the spool clock and the wall time at which it was recorded. */
export interface ClockRecord {
  readonly clockMs: number;
  readonly wallMs: number;
}

/** A running spool clock. */
export interface SpoolClock {
  /** The spool clock now (ms). */
  now(): number;
  /** What to persist: the clock now and the wall time now. */
  record(): ClockRecord;
}

/** Starts the clock from a persisted record (undefined for a new spool: starts at the wall time). */
export function startSpoolClock(persisted: ClockRecord | undefined, sources: ClockSources): SpoolClock {
  let lastWall = sources.wall();
  let lastMono = sources.monotonic();
  let clock = persisted === undefined ? lastWall : persisted.clockMs + Math.max(0, lastWall - persisted.wallMs);
  const now = (): number => {
    const wall = sources.wall();
    const mono = sources.monotonic();
    const dWall = wall - lastWall;
    const dMono = Math.max(0, mono - lastMono);
    clock += Math.min(Math.max(0, dWall), dMono);
    lastWall = wall;
    lastMono = mono;
    return clock;
  };
  return {
    now,
    record() {
      const clockMs = now();
      return { clockMs, wallMs: lastWall };
    },
  };
}
