/**
 * `strivacity`: Strivacity's "generic HTTPS" event streaming (audit logs, account events, event
 * hook logs), sent with the header name and API key the admin chose. Strivacity publishes no
 * payload schema, so this maps the fields its docs and public parsers name, where present, and
 * keeps the whole record in RAW:
 *
 * | column          | from (first present)                                                   |
 * |-----------------|------------------------------------------------------------------------|
 * | ORGANIZATION_ID | the source's organizationId                                            |
 * | EVENT_ID        | eventId, id; else a content-derived id                                 |
 * | EVENT_TIME      | startTimestamp, timestamp, eventTime, createdAt, date; else receive time |
 * | EVENT_TYPE      | eventType, type, action; else the source's eventType (or its name)     |
 * | USER_ID         | subject.id, actor.id, accountId, changedBy                             |
 * | EMAIL           | subject.email, actor.email, email                                      |
 * | SERVICE         | the constant `strivacity`                                              |
 *
 * The setup guide's test request, `{"log":"My test log"}`, carries none of these: it becomes an
 * event with a content-derived id, the receive time, the source's event type and org, and RAW.
 */
import type { Profile } from './profile.js';

/** The strivacity profile. */
export const strivacity: Profile = {
  name: 'strivacity',
  description: 'Strivacity generic HTTPS event streaming (audit logs, account events, hook logs)',
  shape: 'strivacity',
  columns: {
    ORGANIZATION_ID: { derive: 'sourceOrg' },
    EVENT_ID: [{ path: 'eventId' }, { path: 'id' }, { derive: 'contentId' }],
    EVENT_TIME: [{ path: 'startTimestamp' }, { path: 'timestamp' }, { path: 'eventTime' }, { path: 'createdAt' }, { path: 'date' }, { derive: 'receivedAt' }],
    EVENT_TYPE: [{ path: 'eventType' }, { path: 'type' }, { path: 'action' }, { derive: 'sourceEventType' }],
    USER_ID: [{ path: 'subject.id' }, { path: 'actor.id' }, { path: 'accountId' }, { path: 'changedBy' }],
    EMAIL: [{ path: 'subject.email' }, { path: 'actor.email' }, { path: 'email' }],
    SERVICE: { const: 'strivacity' },
  },
  hints: { ORGANIZATION_ID: 'is required: set organizationId on the strivacity source' },
  onInvalid: 'quarantine',
  apiKeyHeader: 'x-api-key',
};
