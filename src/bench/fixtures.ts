/**
 * Benchmark fixtures: realistic audit events (UUIDv4 ids, the columns an Airkit event fills),
 * event times within seconds of arrival (a few late), the same rows for every contender in a run.
 */
import { createHash, randomUUID } from 'node:crypto';

const types = ['user_login', 'app_deployed', 'modified_datastore', 'new_api_key', 'portal_page_view', 'request_state'];

/** A UUID-shaped id that is a pure function of (seed, i): the same rows for every contender. */
export function benchId(seed: string, i: number): string {
  const h = createHash('md5').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * When the bench's events happen and arrive. Event `i` arrives at `startMs + i / eventsPerSecond`
 * (a steady stream); its EVENT_TIME is that arrival less a delivery delay. `startMs` is fixed by
 * default, so every contender in a run sees the same rows; load.js passes the time a repetition
 * starts, so EVENT_TIME is within seconds of the real arrival.
 */
export interface BenchClock {
  readonly startMs: number;
  readonly eventsPerSecond: number;
  /**
   * Instead of arrival order: EVENT_TIMEs spread over this many days from `startMs` in no order
   * (what the fixtures did before), to measure what time-ordered keys are worth.
   */
  readonly scatterDays?: number;
}

/** The default clock: 12 March 2026, 09:00 UTC, 20,000 events/s. */
export const benchClock: BenchClock = { startMs: Date.UTC(2026, 2, 12, 9), eventsPerSecond: 20_000 };

/** Share of events that arrive late (a producer that buffered, retried or replayed). */
export const lateShare = 0.02;

/** A uniform number in [0, 1) that is a pure function of `i` and `salt` (cheap, no crypto). */
function unit(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/**
 * How long before its arrival event `i` happened, in ms: 98% within seconds (200 ms plus an
 * exponential delay with a mean of one second, at most 10 s), 2% late by one minute to two hours.
 */
export function benchDelayMs(i: number): number {
  if (unit(i, 0x5bd1e995) < lateShare) return Math.round(60_000 + unit(i, 0x27d4eb2f) * (2 * 3_600_000 - 60_000));
  return Math.round(200 + Math.min(9_800, -Math.log(1 - unit(i, 0x165667b1)) * 1_000));
}

/** When event `i` arrives, in epoch ms, on `clock`. */
export function benchArrivalMs(i: number, clock: BenchClock = benchClock): number {
  return clock.startMs + Math.floor((i * 1000) / clock.eventsPerSecond);
}

/**
 * One realistic event; ids are random unless `seed` is given. EVENT_TIME is its arrival on
 * `clock` less benchDelayMs: within seconds of arrival, a small share late (see benchDelayMs).
 */
export function benchEvent(i: number, seed?: string, clock: BenchClock = benchClock): Record<string, unknown> {
  const ms = clock.scatterDays === undefined
    ? benchArrivalMs(i, clock) - benchDelayMs(i)
    : clock.startMs + Math.floor(unit(i, 0x2545f491) * clock.scatterDays * 86_400_000);
  return {
    ORGANIZATION_ID: `org-${(i % 17).toString().padStart(4, '0')}`,
    EVENT_ID: seed === undefined ? randomUUID() : benchId(seed, i),
    EVENT_TIME: new Date(ms).toISOString(),
    EVENT_TYPE: types[i % types.length],
    USER_ID: `usr-${(i * 7919) % 100_003}`,
    EMAIL: `user${i % 5000}@example.com`,
    APP_ID: `app-${i % 113}`,
    BRANCH_ID: 'main',
    DEPLOY_ID: i % 3 === 0 ? `dep-${i % 977}` : null,
    RESOURCE_TYPE: 'datastore',
    RESOURCE_ID: `res-${i % 4099}`,
    SERVICE: 'studio',
    SERVICE_REVISION: '2026.03.1',
  };
}

/** `n` events starting at index `offset`. */
export function benchEvents(n: number, offset = 0, seed?: string, clock: BenchClock = benchClock): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => benchEvent(offset + i, seed, clock));
}

/**
 * The raw record of event `i` as an Okta System Log stream would have delivered it (an EventBridge
 * envelope, about 900 bytes): what the spool keeps beside the typed body for such a sender.
 */
export function benchRaw(event: Record<string, unknown>, i: number): string {
  return JSON.stringify({
    version: '0',
    id: benchId('envelope', i),
    'detail-type': 'SystemLog',
    source: 'aws.partner/okta.com/acme-123/okta-stream',
    account: '111122223333',
    time: event.EVENT_TIME,
    region: 'us-east-1',
    resources: [],
    detail: {
      uuid: event.EVENT_ID,
      published: event.EVENT_TIME,
      eventType: 'user.session.start',
      version: '0',
      severity: 'INFO',
      displayMessage: 'User login to Okta',
      actor: { id: `00u${(i % 5000).toString(36).padStart(17, '0')}`, type: 'User', alternateId: event.EMAIL, displayName: `User ${i % 5000}` },
      client: {
        userAgent: { rawUserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36', os: 'Mac OS X', browser: 'CHROME' },
        zone: 'null',
        device: 'Computer',
        ipAddress: `198.51.100.${i % 250}`,
        geographicalContext: { city: 'Lisbon', state: 'Lisbon', country: 'Portugal', postalCode: '1000-001', geolocation: { lat: 38.7223, lon: -9.1393 } },
      },
      outcome: { result: i % 20 === 0 ? 'FAILURE' : 'SUCCESS', reason: i % 20 === 0 ? 'INVALID_CREDENTIALS' : null },
      authenticationContext: { authenticationStep: 0, externalSessionId: `102${benchId('session', i % 1000).replace(/-/g, '').slice(0, 22)}` },
      transaction: { type: 'WEB', id: benchId('tx', i).replace(/-/g, '').slice(0, 20) },
    },
  });
}
