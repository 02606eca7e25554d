import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCode } from '../errors.js';
import { buildSchema, defaultSchemaPath, foldKey, loadNamedSchema, loadSchema, schemaFileFor, shippedSchemaNames } from './schema.js';
import { parseSourcePath } from './source-path.js';

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

describe('schema extensions', () => {
  const airkit = loadSchema();
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** Writes a schema file into the temp dir and returns its path. */
  const write = (raw: unknown, name = `s${++n}.json`): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(raw));
    return path;
  };
  const column = (over: Record<string, unknown> = {}) => ({ name: 'CLIENT_IP', type: 'VARCHAR', required: false, description: 'ip', ...over });
  /** A file extending the shipped Airkit schema by its shipped name, with `columns`. */
  const extension = (columns: unknown[], over: Record<string, unknown> = {}) => ({ name: 'ext', version: 1, extends: 'airkit-audit-event.v1', columns, ...over });

  it('ships okta-security.v1: the Airkit columns unchanged, then optional VARCHAR columns with okta paths', () => {
    const okta = loadNamedSchema('okta-security.v1');
    expect(okta.name).toBe('okta_security');
    expect(okta.base).toBe(airkit);
    expect(okta.columns.slice(0, airkit.columns.length)).toEqual(airkit.columns);
    const added = okta.columns.slice(airkit.columns.length);
    expect(added.map((c) => [c.name, c.sources?.okta])).toEqual([
      ['CLIENT_IP', 'client.ipAddress'],
      ['CLIENT_COUNTRY', 'client.geographicalContext.country'],
      ['CLIENT_STATE', 'client.geographicalContext.state'],
      ['CLIENT_CITY', 'client.geographicalContext.city'],
      ['USER_AGENT', 'client.userAgent.rawUserAgent'],
      ['CLIENT_DEVICE', 'client.device'],
      ['OUTCOME_RESULT', 'outcome.result'],
      ['OUTCOME_REASON', 'outcome.reason'],
      ['SEVERITY', 'severity'],
      ['DISPLAY_MESSAGE', 'displayMessage'],
      ['SESSION_ID', 'authenticationContext.externalSessionId'],
      ['TRANSACTION_ID', 'transaction.id'],
      ['ACTOR_TYPE', 'actor.type'],
      ['ACTOR_DISPLAY_NAME', 'actor.displayName'],
      ['TARGETS', { path: 'target', json: true }],
      ['THREAT_SUSPECTED', 'debugContext.debugData.threatSuspected'],
    ]);
    expect(added.every((c) => c.type === 'VARCHAR' && !c.required && c.description.length > 0)).toBe(true);
    expect(added.map((c) => c.index)).toEqual(added.map((_, i) => airkit.columns.length + i));
    expect(okta.eventTypes).toEqual(airkit.eventTypes);
    expect(okta.columnForKey('clientIp')?.name).toBe('CLIENT_IP');
    expect(okta.columnForKey('eventTime')?.name).toBe('EVENT_TIME');
  });

  it('names the shipped schemas; a name, a path and null all resolve', () => {
    expect(shippedSchemaNames()).toEqual(['airkit-audit-event.v1', 'okta-security.v1']);
    expect(loadNamedSchema(null)).toBe(airkit);
    expect(loadNamedSchema('airkit-audit-event.v1')).toBe(airkit);
    expect(loadNamedSchema(defaultSchemaPath)).toBe(airkit);
    expect(schemaFileFor('my-schema.json', '/etc/logbarge')).toBe('/etc/logbarge/my-schema.json');
    expect(schemaFileFor('./schemas/x', '/srv')).toBe('/srv/schemas/x');
  });

  it('refuses an unknown shipped name, with the names that exist', () => {
    let caught: unknown;
    try {
      loadNamedSchema('okta-security.v2');
    } catch (err) {
      caught = err;
    }
    expect(isCode(caught, 'SCHEMA_INVALID')).toBe(true);
    expect((caught as Error).message).toBe('find schema "okta-security.v2": no shipped schema has that name');
    expect((caught as { hint?: string }).hint).toContain('airkit-audit-event.v1, okta-security.v1');
  });

  it('extends a file named relative to the extending file, and chains', () => {
    mkdirSync(join(dir, 'nested'));
    write({ name: 'mid', version: 2, extends: '../base.json', columns: [column({ name: 'MID' })] }, 'nested/mid.json');
    write({ name: 'base', version: 1, columns: [{ name: 'EVENT_ID', type: 'VARCHAR', required: true, description: 'id' }], eventTypes: ['a'] }, 'base.json');
    const top = loadSchema(write({ name: 'top', version: 3, extends: 'nested/mid.json', columns: [column({ name: 'TOP' })], eventTypes: ['b'] }));
    expect(top.columns.map((c) => [c.name, c.index])).toEqual([['EVENT_ID', 0], ['MID', 1], ['TOP', 2]]);
    expect(top.base?.name).toBe('mid');
    expect(top.base?.base?.name).toBe('base');
    expect([...top.eventTypes]).toEqual(['a', 'b']);
  });

  it.each([
    ['a required extension column', [column({ required: true })], /column CLIENT_IP extends airkit_audit_event and cannot be required: events from other senders lack it/],
    ['an extension column redefining a base column', [column({ name: 'EMAIL' })], /column EMAIL is a column of airkit_audit_event, which this schema extends; an extension cannot redefine it/],
    ['a column named RAW, which every export appends', [column({ name: 'RAW' })], /column RAW: RAW is the column every export appends after the schema's \(the record as sent\); name this column otherwise/],
    ['an extension column whose key folds onto a base column', [column({ name: 'EVENTTIME' })], /key "EVENTTIME" of EVENTTIME also matches EVENT_TIME/],
    ['an empty key in a path', [column({ sources: { okta: 'client..ipAddress' } })], /column CLIENT_IP, sources\.okta: path "client\.\.ipAddress": an empty key is not a key/],
    ['a bad index', [column({ sources: { strivacity: 'ip', okta: 'target[-2].id' } })], /column CLIENT_IP, sources\.okta: path "target\[-2\]\.id": "target\[-2\]" is not a key/],
    ['a JSON path without its path', [column({ name: 'TARGETS', sources: { okta: { path: '', json: true } } })], /column TARGETS, sources\.okta: path is empty/],
    ['an unknown key in a source', [column({ sources: { okta: { path: 'target', as: 'json' } } })], /columns\.0\.sources\.okta/],
    ['a bad profile name', [column({ sources: { Okta: 'client.ipAddress' } })], /column CLIENT_IP, sources\.Okta: profile names are lowercase/],
  ])('refuses %s at load (SCHEMA_INVALID)', (_what, columns, message) => {
    const path = write(extension(columns));
    let caught: unknown;
    try {
      loadSchema(path);
    } catch (err) {
      caught = err;
    }
    expect(isCode(caught, 'SCHEMA_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(`load schema ${path}: `);
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses a missing base file, a cycle, and a base without "extends"', () => {
    const orphan = write(extension([column()], { extends: 'missing.json' }));
    expect(() => loadSchema(orphan)).toThrow(`load schema ${orphan}: extends missing.json: load schema ${join(dir, 'missing.json')}: ENOENT`);
    const a = join(dir, 'cycle-a.json');
    const b = write(extension([column({ name: 'B' })], { extends: 'cycle-a.json' }), 'cycle-b.json');
    write(extension([column({ name: 'A' })], { extends: 'cycle-b.json' }), 'cycle-a.json');
    expect(() => loadSchema(a)).toThrow(`the schemas extend one another in a cycle: ${a} → ${b} → ${a}`);
    expect(() => buildSchema(extension([column()]))).toThrow('load schema: extends airkit-audit-event.v1, but no base schema was given');
    expect(() => buildSchema({ name: 'x', version: 1, columns: [column()], eventTypes: [] }, { base: airkit })).toThrow('the file has no "extends"');
    expect(() => buildSchema({ name: 'x', version: 1, columns: [column()] })).toThrow('load schema: eventTypes: is required unless the schema extends another');
  });

  it.each([
    ['client.ipAddress', [{ key: 'client' }, { key: 'ipAddress' }]],
    ['target[-1].id', [{ key: 'target' }, { index: -1 }, { key: 'id' }]],
    ['target[0][12]', [{ key: 'target' }, { index: 0 }, { index: 12 }]],
    ['detail-type', [{ key: 'detail-type' }]],
  ])('parses the source path %s', (text, steps) => {
    expect(parseSourcePath(text)).toEqual(steps);
  });

  it.each(['', '.a', 'a.', 'a[]', 'a[01]', 'a[-2]', 'a[x]', 'a b', 'a.[0]', '$envelope.time', 'a["b"]'])('refuses the source path %j', (text) => {
    expect(() => parseSourcePath(text)).toThrow(/path/);
  });
});
