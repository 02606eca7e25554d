import { describe, expect, it } from 'vitest';
import { buildSchema, foldKey, loadSchema } from './schema.js';

describe('schema file', () => {
  const schema = loadSchema();

  it('has the 29 audit columns in order, with their types', () => {
    expect(schema.columns.map((c) => c.name)).toEqual([
      'ORGANIZATION_ID', 'EVENT_ID', 'EVENT_YEAR', 'EVENT_MONTH', 'EVENT_DATE', 'EVENT_TIME',
      'ROOT_SCOPE_USER_ID', 'USER_ID', 'EMAIL', 'APP_ID', 'BRANCH_ID', 'DEPLOY_ID', 'SAVEPOINT_ID',
      'SAVEPOINT_REVISION', 'RESOURCE_TYPE', 'RESOURCE_ID', 'DOMAIN', 'DATASTORE_ID', 'API_KEY_ID',
      'NOTIFIER_ID', 'SAML_ID', 'WEBHOOK_ID', 'ADAPTER_ID', 'EMBED_ID', 'ROLE_ID', 'SERVICE',
      'SERVICE_REVISION', 'LOGIN_TYPE', 'EVENT_TYPE',
    ]);
    const typed = Object.fromEntries(schema.columns.filter((c) => c.type !== 'VARCHAR').map((c) => [c.name, c.type]));
    expect(typed).toEqual({ EVENT_YEAR: 'NUMBER', EVENT_MONTH: 'DATE', EVENT_DATE: 'DATE', EVENT_TIME: 'TIMESTAMPNTZ' });
    expect(schema.columns.filter((c) => c.required).map((c) => c.name)).toEqual([
      'ORGANIZATION_ID', 'EVENT_ID', 'EVENT_TIME', 'EVENT_TYPE',
    ]);
    expect(schema.eventTypes.size).toBe(45);
    expect(schema.eventTypes.has('user_login')).toBe(true);
  });

  it.each([
    ['EVENT_TIME', 'EVENT_TIME'],
    ['event_time', 'EVENT_TIME'],
    ['eventTime', 'EVENT_TIME'],
    ['EventTime', 'EVENT_TIME'],
    ['organizationId', 'ORGANIZATION_ID'],
    ['apiKeyId', 'API_KEY_ID'],
    ['type', 'EVENT_TYPE'],
    ['eventType', 'EVENT_TYPE'],
    ['rootScopeUserId', 'ROOT_SCOPE_USER_ID'],
  ])('matches input key %s to %s', (key, column) => {
    expect(schema.columnForKey(key)?.name).toBe(column);
  });

  it.each(['__proto__', 'constructor', 'toString', 'event', ''])('matches no column for %j', (key) => {
    expect(schema.columnForKey(key)).toBeUndefined();
  });

  it('folds keys without case, underscores or dashes', () => {
    expect(foldKey('Event_Time')).toBe('eventtime');
    expect(foldKey('detail-type')).toBe('detailtype');
  });

  it.each([
    [{ name: 'x', version: 1, columns: [], eventTypes: [] }, /columns/],
    [{ name: 'x', version: 1, columns: [{ name: 'A', type: 'TEXT', required: true, description: 'a' }], eventTypes: [] }, /columns\.0\.type/],
    [
      {
        name: 'x', version: 1, eventTypes: [],
        columns: [
          { name: 'A_B', type: 'VARCHAR', required: true, description: 'a' },
          { name: 'AB', type: 'VARCHAR', required: true, description: 'b' },
        ],
      },
      /also matches A_B/,
    ],
    [
      {
        name: 'x', version: 1, eventTypes: [],
        columns: [{ name: 'Y', type: 'NUMBER', required: false, description: 'y', derive: { from: 'T', part: 'year' } }],
      },
      /derives from T/,
    ],
  ])('refuses a broken schema file (%#)', (raw, message) => {
    expect(() => buildSchema(raw)).toThrow(message);
  });
});
