/**
 * `okta`: Okta System Log events (the LogEvent object of Okta's System Log API, as Okta log
 * streaming delivers it through Amazon EventBridge, or Okta event hooks in `data.events`).
 *
 * | column          | from                                                                      |
 * |-----------------|---------------------------------------------------------------------------|
 * | ORGANIZATION_ID | the source's organizationId, else the org in the EventBridge source        |
 * | EVENT_ID        | uuid                                                                      |
 * | EVENT_TIME      | published                                                                 |
 * | EVENT_TYPE      | eventType, through oktaEventTypes (outcome decides user.session.start)    |
 * | USER_ID, EMAIL  | actor.id, actor.alternateId                                               |
 * | RESOURCE_TYPE/ID| target[0].type, target[0].id                                              |
 * | LOGIN_TYPE      | authenticationContext.credentialType, else .authenticationProvider        |
 * | SERVICE         | the constant `okta`                                                       |
 *
 * Extension columns (schemas/okta-security.v1.json) name their own `okta` paths. RAW keeps the
 * whole event.
 */
import type { Profile } from './profile.js';

/** Okta eventType → audit EVENT_TYPE, for the types with an Airkit equivalent; others are kept as they are. */
export const oktaEventTypes: Readonly<Record<string, string>> = {
  'user.session.end': 'user_logout',
  'user.account.lock': 'user_locked',
  'user.account.update_password': 'password_change',
  'user.lifecycle.create': 'user_created',
  'system.api_token.create': 'new_api_key',
  'system.api_token.revoke': 'deleted_api_key',
  'application.lifecycle.create': 'app_created',
};

/** The okta profile. */
export const okta: Profile = {
  name: 'okta',
  description: 'an Okta LogEvent (needs uuid, published, eventType)',
  shape: 'okta',
  match: { strings: ['uuid', 'eventType'], present: ['published'] },
  columns: {
    ORGANIZATION_ID: [{ derive: 'sourceOrg' }, { path: '$envelope.source', capture: '^aws\\.partner/okta\\.com/([^/]+)/' }],
    EVENT_ID: { path: 'uuid' },
    EVENT_TIME: { path: 'published' },
    EVENT_TYPE: [
      { when: { eventType: 'user.session.start', 'outcome.result': 'SUCCESS' }, then: 'user_login' },
      { when: { eventType: 'user.session.start', 'outcome.result': 'FAILURE' }, then: 'invalid_login' },
      { path: 'eventType', map: oktaEventTypes },
    ],
    USER_ID: { path: 'actor.id' },
    EMAIL: { path: 'actor.alternateId' },
    RESOURCE_TYPE: { path: 'target[0].type' },
    RESOURCE_ID: { path: 'target[0].id' },
    LOGIN_TYPE: [{ path: 'authenticationContext.credentialType' }, { path: 'authenticationContext.authenticationProvider' }],
    SERVICE: { const: 'okta' },
  },
  hints: {
    ORGANIZATION_ID:
      'is required for Okta events: set organizationId on the source (on POST /v1/events: ingest.organizationId), or deliver through EventBridge, whose source names the Okta org',
  },
  onInvalid: 'quarantine',
  apiKeyHeader: 'authorization',
};
