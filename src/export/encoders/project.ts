/**
 * Canonical bodies onto the exporting schema's columns. A spool may hold bodies written under
 * another schema (a restart with a different config `schema`): such a body is rewritten with
 * exactly the exporting schema's keys, in its order — a key it lacks becomes null, a key the
 * schema lacks is left out. A body already in the schema's form is kept byte for byte. (The text
 * encoders project; the Parquet encoder leaves it to DuckDB, which reads the staged bodies by
 * column name with the same result: see `stage` in parquet.ts.)
 */
import type { Schema } from '../../schema/schema.js';

/** Rewrites one canonical body (JSON text) into the schema's form. */
export type BodyProjector = (body: string) => string;

/**
 * Creates the projector of a schema. Whether a body is already in the schema's form is one
 * regular-expression test, without parsing: `{`, each column's key in order with a null, an
 * integer or a JSON string, then `}` and nothing else. A body that fails it is parsed and
 * written again.
 */
export function createBodyProjector(schema: Schema): BodyProjector {
  const names = schema.columns.map((c) => c.name);
  const prefixes = names.map((name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`);
  // A value as the validator's toJson writes it; the alternatives inside a string are disjoint, so matching is linear.
  const value = '(?:null|-?[0-9]+|"(?:[^"\\\\]|\\\\.)*")';
  const inSchemaForm = new RegExp(`^${prefixes.map((p) => p.replace(/[{}]/g, '\\$&') + value).join('')}\\}$`);

  return (body) => {
    if (inSchemaForm.test(body)) return body;
    const event = JSON.parse(body) as Record<string, unknown>;
    let out = '';
    for (let i = 0; i < names.length; i++) {
      const value = Object.hasOwn(event, names[i]!) ? event[names[i]!] : null;
      out += prefixes[i] + JSON.stringify(value ?? null);
    }
    return `${out}}`;
  };
}
