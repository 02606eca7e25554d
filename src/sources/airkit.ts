/**
 * `airkit`: canonical events (the schema's column names, any case: `EVENT_TIME`, `event_time`) and
 * Airkit's camelCase records (`organizationId`, `eventId`, `eventTime`, `type`, …), mapped by name.
 * The four required columns must be present: an application that forgets one learns it from the
 * 400 (or the quarantine), rather than getting invented values.
 */
import type { Profile } from './profile.js';

/** The airkit profile. */
export const airkit: Profile = {
  name: 'airkit',
  description: 'canonical and Airkit camelCase events, keys mapped to columns by name',
  shape: 'canonical',
  byName: true,
  columns: {},
  onInvalid: 'reject',
};
