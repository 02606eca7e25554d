import { describe, expect, it } from 'vitest';
import { settledBefore, settledWithin } from './settle.js';

const never = new Promise<void>(() => {});
const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('settledWithin / settledBefore', () => {
  it('is true when the work settles first, a rejection included, and false once the grace after the abort is spent', async () => {
    const signal = new AbortController().signal;
    expect(await settledWithin(Promise.resolve(), signal, 10)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('x')), signal, 10)).toBe(true);
    const deadline = new AbortController();
    const waiting = settledWithin(never, deadline.signal, 20);
    deadline.abort(new Error('deadline'));
    expect(await waiting).toBe(false);
  });

  it('gives work the grace after an abort that came before the call, and work already done counts', async () => {
    const aborted = AbortSignal.abort(new Error('deadline'));
    expect(await settledWithin(later(5), aborted, 1_000)).toBe(true); // ends within the grace
    expect(await settledWithin(never, aborted, 5)).toBe(false);
    expect(await settledBefore(Promise.resolve(), aborted)).toBe(true);
    expect(await settledBefore(never, aborted)).toBe(false);
    expect(await settledBefore(later(5), undefined)).toBe(true);
  });
});
