/**
 * `generic`: any JSON, mapped by the source's `map` (column ← JSON path), which the config
 * compiles into this profile's columns. What the map does not name falls back to a
 * content-derived EVENT_ID, the receive time, the source's event type (or name) and org; the
 * whole record is kept in RAW.
 */
import type { Profile } from './profile.js';

/** The generic profile (a source's `map` adds its rules in front of these fallbacks). */
export const generic: Profile = {
  name: 'generic',
  description: 'any JSON, through the source\'s map',
  shape: 'generic',
  columns: {
    ORGANIZATION_ID: { derive: 'sourceOrg' },
    EVENT_ID: { derive: 'contentId' },
    EVENT_TIME: { derive: 'receivedAt' },
    EVENT_TYPE: { derive: 'sourceEventType' },
  },
  hints: { ORGANIZATION_ID: 'is required: set organizationId on the source, or map ORGANIZATION_ID' },
  onInvalid: 'reject',
};
