/**
 * `auto`: what `POST /v1/events` does, detecting the sender's shape: an EventBridge envelope, an
 * Okta event hook delivery, an Okta LogEvent, else a canonical or camelCase event (airkit).
 */
import type { Profile } from './profile.js';

/** The auto profile. */
export const auto: Profile = {
  name: 'auto',
  description: 'detects EventBridge envelopes, Okta event hooks, Okta LogEvents, else canonical/camelCase events',
  shape: 'canonical',
  detect: ['eventbridge', 'okta-hook', 'okta', 'airkit'],
  columns: {},
  onInvalid: 'reject',
};
