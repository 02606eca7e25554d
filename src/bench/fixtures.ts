/**
 * Benchmark fixtures: realistic audit events (UUIDv4 ids, the columns an Airkit event fills),
 * the same rows for every contender in a run.
 */
import { randomUUID } from 'node:crypto';

const types = ['user_login', 'app_deployed', 'modified_datastore', 'new_api_key', 'portal_page_view', 'request_state'];

/** One realistic event; `i` spreads times over three days. */
export function benchEvent(i: number): Record<string, unknown> {
  const ms = Date.UTC(2026, 2, 12) + (i * 1297) % (3 * 86_400_000);
  return {
    ORGANIZATION_ID: `org-${(i % 17).toString().padStart(4, '0')}`,
    EVENT_ID: randomUUID(),
    EVENT_TIME: new Date(ms).toISOString(),
    EVENT_TYPE: types[i % types.length],
    USER_ID: `usr-${randomUUID()}`,
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

/** `n` events. */
export function benchEvents(n: number, offset = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => benchEvent(offset + i));
}
