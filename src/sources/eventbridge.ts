/**
 * `eventbridge`: Amazon EventBridge envelopes (`detail-type`, `source`, an object `detail`), how
 * Okta log streaming and EventBridge API destinations deliver. The event is `detail`, mapped by
 * `auto` (Okta LogEvent or canonical/camelCase); a detail without an id of its own gets a
 * content-derived EVENT_ID (a PutEvents retry gets a new envelope `id`, so that would not be a
 * duplicate), and without a time the envelope's `time`. RAW keeps the whole envelope.
 */
import type { Profile } from './profile.js';

/** The eventbridge profile. */
export const eventbridge: Profile = {
  name: 'eventbridge',
  description: 'Amazon EventBridge envelopes; the event is detail',
  shape: 'eventbridge',
  match: { objects: ['detail'], strings: ['detail-type', 'source'] },
  unwrap: { path: 'detail', profile: 'auto' },
  columns: {
    // Fallbacks for a canonical detail that lacks them (mapped by name first).
    EVENT_ID: { derive: 'contentId' },
    EVENT_TIME: { path: '$envelope.time' },
  },
  onInvalid: 'quarantine',
  apiKeyHeader: 'authorization',
};
