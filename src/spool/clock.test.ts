import { describe, expect, it } from 'vitest';
import { startSpoolClock } from './clock.js';

/** Steps of [wall delta, monotonic delta] and the spool clock expected after each. */
const cases: { name: string; persisted?: { clockMs: number; wallMs: number }; startWall: number; steps: [number, number, number][] }[] = [
  { name: 'a new spool starts at the wall time and follows it', startWall: 1000, steps: [[500, 500, 1500], [250, 250, 1750]] },
  { name: 'a forward wall jump advances only as far as the monotonic clock', startWall: 1000, steps: [[86_400_000, 60_000, 61_000], [10, 10, 61_010]] },
  { name: 'a backward wall jump holds the clock for that step only', startWall: 1000, steps: [[-5000, 100, 1000], [100, 100, 1100]] },
  { name: 'a suspended process (monotonic stalled) does not advance it', startWall: 1000, steps: [[3600_000, 0, 1000]] },
  { name: 'a later process continues the saved clock plus the wall time since', persisted: { clockMs: 50_000, wallMs: 900 }, startWall: 1000, steps: [[0, 0, 50_100], [10, 10, 50_110]] },
  { name: 'a later process started with an earlier wall clock never goes back', persisted: { clockMs: 50_000, wallMs: 2000 }, startWall: 1000, steps: [[0, 0, 50_000]] },
];

describe('spool clock', () => {
  for (const c of cases) {
    it(c.name, () => {
      let wall = c.startWall;
      let mono = 0;
      const clock = startSpoolClock(c.persisted, { wall: () => wall, monotonic: () => mono });
      for (const [dWall, dMono, expected] of c.steps) {
        wall += dWall;
        mono += dMono;
        expect(clock.now()).toBe(expected);
      }
      expect(clock.record()).toEqual({ clockMs: c.steps[c.steps.length - 1]![2], wallMs: wall });
    });
  }
});
