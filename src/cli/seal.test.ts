import { describe, expect, it } from 'vitest';
import { checkDate } from './seal.js';

describe('seal --date', () => {
  const now = Date.parse('2026-03-15T00:00:00.001Z');
  it('takes a day that is over (UTC) and none that is not: today, in the first millisecond of it, and later days', () => {
    expect(checkDate(undefined, now)).toBeUndefined();
    expect(checkDate('2026-03-14', now)).toBe('2026-03-14');
    expect(() => checkDate('2026-03-15', now)).toThrow('seal: --date 2026-03-15 is not over yet (UTC); only past days can be sealed');
    expect(() => checkDate('2026-03-16', now)).toThrow(/2026-03-16 is not over yet/);
    expect(checkDate('2026-03-15', Date.parse('2026-03-16T00:00:00.000Z'))).toBe('2026-03-15');
  });
  it('refuses a string that is not a real YYYY-MM-DD date, quoting it', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-02-32', '0000-00-00', '2026-3-14', '20260314', '2026-03-14T00:00:00Z', '']) {
      expect(() => checkDate(bad, now), bad).toThrow(`seal: --date "${bad}" is not a YYYY-MM-DD date`);
    }
  });
});
