/**
 * Okta System Log events (the LogEvent object of Okta's System Log API, as delivered by Okta log
 * streaming through Amazon EventBridge, or by Okta event hooks) mapped to the audit columns.
 *
 * | audit column    | Okta LogEvent field                                                    |
 * |-----------------|------------------------------------------------------------------------|
 * | ORGANIZATION_ID | config `ingest.organizationId`, else the org in the EventBridge source |
 * | EVENT_ID        | uuid                                                                   |
 * | EVENT_TIME      | published                                                              |
 * | EVENT_TYPE      | eventType, through `oktaEventTypes` (outcome decides session.start)   |
 * | USER_ID         | actor.id                                                               |
 * | EMAIL           | actor.alternateId                                                      |
 * | RESOURCE_TYPE   | target[0].type                                                         |
 * | RESOURCE_ID     | target[0].id                                                           |
 * | LOGIN_TYPE      | authenticationContext.credentialType, else .authenticationProvider     |
 * | SERVICE         | the constant `okta`                                                    |
 */

import { isJsonNumber } from '../schema/json-number.js';

/** A field of a mapped record: the column name and the raw value with where it came from. */
export interface MappedField {
  readonly column: string;
  readonly value: unknown;
  /** The input path, for error messages (e.g. `published`). */
  readonly from: string;
}

/** Okta eventType → audit EVENT_TYPE, for the types with an Airkit equivalent. */
export const oktaEventTypes: Readonly<Record<string, string>> = {
  'user.session.end': 'user_logout',
  'user.account.lock': 'user_locked',
  'user.account.update_password': 'password_change',
  'user.lifecycle.create': 'user_created',
  'system.api_token.create': 'new_api_key',
  'system.api_token.revoke': 'deleted_api_key',
  'application.lifecycle.create': 'app_created',
};

/** Maps an Okta eventType and outcome result to the audit EVENT_TYPE; unmapped types are kept as they are. */
export function mapOktaEventType(eventType: unknown, outcomeResult: unknown): unknown {
  if (typeof eventType !== 'string') return eventType;
  if (eventType === 'user.session.start') {
    if (outcomeResult === 'SUCCESS') return 'user_login';
    if (outcomeResult === 'FAILURE') return 'invalid_login';
    return eventType;
  }
  return Object.hasOwn(oktaEventTypes, eventType) ? oktaEventTypes[eventType] : eventType;
}

/** True when a record looks like an Okta LogEvent (uuid, published, eventType). */
export function isOktaLogEvent(record: Record<string, unknown>): boolean {
  return (
    typeof record.uuid === 'string' &&
    typeof record.eventType === 'string' &&
    Object.hasOwn(record, 'published')
  );
}

/** Okta event hook delivery: `{eventType: "com.okta.event_hook", data: {events: [LogEvent…]}}`. */
export function oktaHookEvents(record: Record<string, unknown>): unknown[] | undefined {
  if (record.eventType !== 'com.okta.event_hook') return undefined;
  const data = record.data;
  if (data === null || typeof data !== 'object') return undefined;
  const events = (data as Record<string, unknown>).events;
  return Array.isArray(events) ? events : undefined;
}

/** The Okta org named in an EventBridge partner source, `aws.partner/okta.com/<org>/<name>`. */
export function oktaOrgFromSource(source: unknown): string | undefined {
  if (typeof source !== 'string') return undefined;
  const m = /^aws\.partner\/okta\.com\/([^/]+)\//.exec(source);
  return m?.[1];
}

function child(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isJsonNumber(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** Maps one Okta LogEvent to audit fields. `organizationId` is the configured or source-derived org. */
export function mapOktaLogEvent(event: Record<string, unknown>, organizationId: string | undefined): MappedField[] {
  const actor = child(event, 'actor');
  const target0 = Array.isArray(event.target) ? event.target[0] : undefined;
  const auth = child(event, 'authenticationContext');
  const credentialType = child(auth, 'credentialType');
  const fields: MappedField[] = [
    { column: 'ORGANIZATION_ID', value: organizationId, from: 'ingest.organizationId or EventBridge source' },
    { column: 'EVENT_ID', value: event.uuid, from: 'uuid' },
    { column: 'EVENT_TIME', value: event.published, from: 'published' },
    {
      column: 'EVENT_TYPE',
      value: mapOktaEventType(event.eventType, child(child(event, 'outcome'), 'result')),
      from: 'eventType',
    },
    { column: 'USER_ID', value: child(actor, 'id'), from: 'actor.id' },
    { column: 'EMAIL', value: child(actor, 'alternateId'), from: 'actor.alternateId' },
    { column: 'RESOURCE_TYPE', value: child(target0, 'type'), from: 'target[0].type' },
    { column: 'RESOURCE_ID', value: child(target0, 'id'), from: 'target[0].id' },
    {
      column: 'LOGIN_TYPE',
      value: credentialType ?? child(auth, 'authenticationProvider'),
      from: 'authenticationContext.credentialType',
    },
    { column: 'SERVICE', value: 'okta', from: '(constant)' },
  ];
  return fields;
}
