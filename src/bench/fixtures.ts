/**
 * Benchmark fixtures: realistic audit events (UUIDv4 ids, the columns an Airkit event fills),
 * the same rows for every contender in a run.
 */
import { createHash, randomUUID } from 'node:crypto';

const types = ['user_login', 'app_deployed', 'modified_datastore', 'new_api_key', 'portal_page_view', 'request_state'];

/** A UUID-shaped id that is a pure function of (seed, i): the same rows for every contender. */
export function benchId(seed: string, i: number): string {
  const h = createHash('md5').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** One realistic event; `i` spreads times over three days; ids are random unless `seed` is given. */
export function benchEvent(i: number, seed?: string): Record<string, unknown> {
  const ms = Date.UTC(2026, 2, 12) + (i * 1297) % (3 * 86_400_000);
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
export function benchEvents(n: number, offset = 0, seed?: string): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => benchEvent(offset + i, seed));
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
