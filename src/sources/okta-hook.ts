/**
 * `okta-hook`: an Okta event hook delivery, `{"eventType": "com.okta.event_hook", "data":
 * {"events": [LogEvent, …]}}`; each event is mapped by the okta profile. Okta sends the hook's
 * secret as `Authorization: <secret>` (no scheme) and never retries a 4xx, so invalid events are
 * quarantined by default. Each event's RAW is the event itself, not the whole delivery. Okta wants
 * `200` or `204` with an empty body for a delivery, so a stored one is answered `204`.
 */
import type { Profile } from './profile.js';

/** The okta-hook profile. */
export const oktaHook: Profile = {
  name: 'okta-hook',
  description: 'Okta event hook deliveries (data.events[] of LogEvents)',
  shape: 'okta',
  match: { equals: { eventType: 'com.okta.event_hook' }, arrays: ['data.events'] },
  unwrap: { path: 'data.events', each: true, profile: 'okta' },
  columns: {},
  onInvalid: 'quarantine',
  acceptedStatus: 204,
  apiKeyHeader: 'authorization',
};
