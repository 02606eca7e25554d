/**
 * Renders the config reference (docs/config.md) from the zod schema, so the documentation of
 * every key, type and default cannot drift from the code.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'integer' && s.minimum !== undefined && s.maximum !== undefined && s.maximum < 2 ** 53 - 1) {
    return `integer ${s.minimum}–${s.maximum}`;
  }
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function formatDefault(value: unknown): string {
  if (value === undefined) return '—';
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return '';
  const text = JSON.stringify(value);
  return text.length > 60 ? '(see below)' : `\`${text}\``;
}

function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const name = prefix + key;
    const object = child.properties ? child : child.anyOf?.find((s) => s.properties);
    const arrayOfObjects = child.type === 'array' && child.items?.properties;
    const type = object && !child.anyOf ? 'object' : arrayOfObjects ? 'array of objects' : typeOf(child);
    out.push(`| \`${name}\` | ${type} | ${formatDefault(child.default)} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`);
    if (object) rows(object, `${name}.`, out);
    if (arrayOfObjects && child.items) rows(child.items, `${name}[].`, out);
    const values = typeof child.additionalProperties === 'object' ? child.additionalProperties : undefined;
    if (!object && values?.properties) rows(values, `${name}.<name>.`, out);
  }
}

/** The Markdown config reference. */
export function renderConfigReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; a test fails when it is stale. -->',
    '',
    'A JSON file given with `-c FILE`, else `$LOGBARGE_CONFIG`, else the built-in defaults below.',
    'Unknown keys are refused with a message naming them (exit 2). `${VAR}` in any string is replaced',
    'from the environment, `${VAR:-default}` with a fallback; an unset `${VAR}` without one is an error.',
    'Relative paths (`spool.path`, `schema`, `file://./dir/`) are relative to the working directory.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  rows(schema, '', out);
  out.push(
    '',
    'Default `exports` (when the file names none):',
    '',
    '```json',
    JSON.stringify((schema.properties?.exports?.default as unknown) ?? [], null, 2),
    '```',
    '',
  );
  return out.join('\n');
}
