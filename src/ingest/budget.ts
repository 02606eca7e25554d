/**
 * The ingest byte budget (`server.maxInflightBytes`): request bodies being read, decoded and
 * stored hold their bytes here until they are answered, so concurrent large bodies cannot
 * together exhaust memory. A request that does not fit is refused (503 with Retry-After), never
 * queued.
 */

/** Bytes held by the requests in flight. */
export interface ByteBudget {
  /** Bytes held now. */
  used(): number;
  /** A hold for one request: reserve as its bytes arrive, release once when it is answered. */
  hold(): BudgetHold;
}

/** One request's share of the budget. */
export interface BudgetHold {
  /**
   * Takes `n` more bytes; false (nothing taken) when they do not fit. A request that is alone in
   * flight always fits, so a body up to maxBodyBytes always gets through eventually.
   */
  reserve(n: number): boolean;
  /** Gives back everything this hold took (idempotent). */
  release(): void;
}

/** Creates a budget of `maxBytes`; `onChange` hears the bytes held after each change. */
export function createByteBudget(maxBytes: number, onChange: (used: number) => void = () => {}): ByteBudget {
  let used = 0;
  return {
    used: () => used,
    hold() {
      let held = 0;
      return {
        reserve(n) {
          if (n <= 0) return true;
          if (used > held && used + n > maxBytes) return false;
          held += n;
          used += n;
          onChange(used);
          return true;
        },
        release() {
          used -= held;
          held = 0;
          onChange(used);
        },
      };
    },
  };
}
