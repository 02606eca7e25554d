import { describe, expect, it } from 'vitest';
import { inTurn, turnBudgetMs } from './turns.js';

/** Keeps the thread busy for `ms` (a slice of CPU work). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('inTurn', () => {
  it('runs the slices of concurrent requests within one budget per turn of the event loop, in order, with their results', async () => {
    const sliceMs = Math.ceil(turnBudgetMs * 0.6); // two slices spend the budget
    const log: string[] = [];
    let ticking = true;
    const tick = () => {
      log.push('tick');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const request = async (name: string) => {
      const results: number[] = [];
      for (let i = 0; i < 4; i++) {
        results.push(
          await inTurn(() => {
            busy(sliceMs);
            log.push(`${name}${i}`);
            return i * 10;
          }),
        );
      }
      return results;
    };
    const results = await Promise.all([request('a'), request('b'), request('c')]);
    ticking = false;
    expect(results).toEqual([[0, 10, 20, 30], [0, 10, 20, 30], [0, 10, 20, 30]]);
    // Between two turns (ticks) at most two slices ran: per-request yields alone ran all three.
    const perTurn = log.join(' ').split('tick').map((t) => t.trim().split(/\s+/).filter(Boolean).length);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(2);
    // Each request's slices ran in its own order; the requests took turns.
    for (const name of ['a', 'b', 'c']) expect(log.filter((l) => l.startsWith(name))).toEqual([0, 1, 2, 3].map((i) => `${name}${i}`));
    expect(log.filter((l) => l !== 'tick').slice(0, 3)).toEqual(['a0', 'b0', 'c0']);
  });

  it('rejects with the error a slice throws, and goes on with the others', async () => {
    const failing = inTurn(() => {
      throw new Error('bad slice');
    });
    const fine = inTurn(() => 'ok');
    await expect(failing).rejects.toThrow('bad slice');
    await expect(fine).resolves.toBe('ok');
  });
});
