/**
 * One seal run of an export, as `logbarge seal` and the daemon's `seal.schedule` do it: seal every
 * finished day of the last `seal.lookbackDays` that has raw objects and no seal, report sealed days
 * that got objects after their seal (late), then carry out the deletions that are due. With a
 * date, only that day is sealed, or re-sealed when objects arrived after its seal.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { inspectDay, sealDay, type DayResult, type SealContext } from './day.js';
import { addDays, checkDay, dayOfPendingKey, newestFinishedDay, pendingFolder } from './keys.js';
import { takeLease } from './lease.js';
import { hasDue, processPending } from './pending.js';

/** What one run did. */
export interface SealRunResult {
  readonly export: string;
  readonly destination: string;
  /** Days with something to report (sealed, re-sealed, late, busy or failed), oldest first. */
  readonly days: DayResult[];
  /** Keys deleted because their deletion was due. */
  readonly deleted: string[];
  /** Deletions that failed (retried by the next run). */
  readonly deleteErrors: string[];
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging directories left by sealers that died (`seal-<pid>-…`). */
export function cleanStaleSealWork(root: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(/^seal-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** The days a run without a date looks at, oldest first. */
export function windowDays(options: { now: number; afterHours: number; lookbackDays: number }): string[] {
  const { now, afterHours, lookbackDays } = options;
  const newest = newestFinishedDay(now, afterHours);
  return Array.from({ length: lookbackDays }, (_, i) => addDays(newest, i - lookbackDays + 1));
}

/** Runs the seal of one export: every unsealed finished day in the window, or one date. */
export async function sealExport(ctx: SealContext, options: { date?: string } = {}): Promise<SealRunResult> {
  const now = ctx.now ?? Date.now;
  cleanStaleSealWork(ctx.workRoot);
  const days: DayResult[] = [];
  if (options.date !== undefined) {
    days.push(await sealDay(ctx, { dt: checkDay(options.date), reseal: true }));
  } else {
    for (const dt of windowDays({ now: now(), afterHours: ctx.seal.afterHours, lookbackDays: ctx.seal.lookbackDays })) {
      ctx.signal?.throwIfAborted();
      let result: DayResult | undefined;
      try {
        const state = await inspectDay(ctx.store, dt);
        if (state.record) {
          if (state.uncovered.length > 0) result = { dt, outcome: 'late', sealId: state.record.seal_id, newObjects: state.uncovered.length };
        } else if (state.raw.length > 0) {
          result = await sealDay(ctx, { dt, reseal: false });
        }
      } catch (err) {
        result = { dt, outcome: 'failed', error: describeError(err) };
      }
      if (result && result.outcome !== 'empty' && result.outcome !== 'unchanged') days.push(result);
    }
  }
  const deleted: string[] = [];
  const deleteErrors: string[] = [];
  try {
    const pendingDays = (await ctx.store.list(pendingFolder)).map((o) => dayOfPendingKey(o.key)).filter((d): d is string => d !== undefined);
    for (const dt of pendingDays) {
      try {
        if (!(await hasDue({ store: ctx.store, dt, now: now() }))) continue;
        const attempt = await takeLease({ store: ctx.store, dt, owner: ctx.owner, ttlMs: ctx.seal.leaseSeconds * 1000, now });
        if (!attempt.acquired) continue; // a seal of that day is running; the next run deletes
        try {
          deleted.push(...(await processPending({ store: ctx.store, dt, now: now() })));
        } finally {
          await attempt.lease.release();
        }
      } catch (err) {
        deleteErrors.push(`dt=${dt}: ${describeError(err)}`);
      }
    }
  } catch (err) {
    deleteErrors.push(describeError(err));
  }
  if (deleted.length > 0) ctx.logger?.info({ export: ctx.exportConfig.name, deleted: deleted.length }, 'deleted objects replaced by seals');
  return { export: ctx.exportConfig.name, destination: ctx.exportConfig.destination, days, deleted, deleteErrors };
}
