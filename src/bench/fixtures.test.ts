import { describe, expect, it } from 'vitest';
import { benchArrivalMs, benchClock, benchEvents } from './fixtures.js';

describe('bench fixtures: event times look like real traffic', () => {
  const n = 50_000;
  const events = benchEvents(n, 0, 'fixtures-test');
  // Arrival as the default clock spaces it (load.js passes the real start time instead).
  const delays = events.map((e, i) => benchArrivalMs(i) - Date.parse(e.EVENT_TIME as string));

  it('most events happened within seconds before they arrive', () => {
    const prompt = delays.filter((d) => d >= 0 && d <= 10_000).length;
    expect(prompt / n).toBeGreaterThan(0.97);
    const sorted = [...delays].sort((a, b) => a - b);
    expect(sorted[Math.floor(n / 2)]).toBeLessThan(2_000);
  });

  it('a small share arrives late, never from the future', () => {
    const late = delays.filter((d) => d > 10_000);
    expect(late.length / n).toBeGreaterThan(0.005);
    expect(late.length / n).toBeLessThan(0.05);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...late)).toBeLessThanOrEqual(2 * 3_600_000);
  });

  it('the same index gives the same time (every contender sees the same rows)', () => {
    expect(benchEvents(100, 0, 'fixtures-test').map((e) => e.EVENT_TIME)).toEqual(events.slice(0, 100).map((e) => e.EVENT_TIME));
  });

  it('scatterDays spreads times over the days, as the fixtures did before', () => {
    const scattered = benchEvents(10_000, 0, 'fixtures-test', { ...benchClock, scatterDays: 3 }).map((e) => Date.parse(e.EVENT_TIME as string));
    expect(Math.max(...scattered) - Math.min(...scattered)).toBeGreaterThan(2.9 * 86_400_000);
  });
});
