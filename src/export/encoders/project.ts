/**
 * Canonical bodies onto the exporting schema's columns. A spool may hold bodies written under
 * another schema (a restart with a different config `schema`): such a body is rewritten with
 * exactly the exporting schema's keys, in its order — a key it lacks becomes null, a key the
 * schema lacks is left out. A body already in the schema's form is kept byte for byte.
 */
import type { Schema } from '../../schema/schema.js';

/** Rewrites one canonical body (JSON text) into the schema's form. */
export type BodyProjector = (body: string) => string;

/**
 * Creates the projector of a schema.
 *
 * The check that a body is already in the schema's form reads only its keys. A canonical body is
 * one flat object whose values are strings, numbers or null, so the text `,"` outside a value
 * starts a key, and inside a string value it can only be a comma followed by the closing quote
 * (every other quote in a string is escaped as `\"`). A closing quote is followed by `,` or `}`,
 * never by a key's letter, so finding `,"NAME":` in order, each at the first `,"` after the last,
 * and no `,"` after the last key, proves the key list; anything else (a value ending in a comma
 * included) takes the slow path, which parses the body.
 */
export function createBodyProjector(schema: Schema): BodyProjector {
  const names = schema.columns.map((c) => c.name);
  const prefixes = names.map((name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`);

  function inSchemaForm(body: string): boolean {
    if (!body.startsWith(prefixes[0]!)) return false;
    let at = prefixes[0]!.length;
    for (let i = 1; i < prefixes.length; i++) {
      const next = body.indexOf(',"', at);
      if (next < 0 || !body.startsWith(prefixes[i]!, next)) return false;
      at = next + prefixes[i]!.length;
    }
    return body.indexOf(',"', at) < 0;
  }

  return (body) => {
    if (inSchemaForm(body)) return body;
    const event = JSON.parse(body) as Record<string, unknown>;
    let out = '';
    for (let i = 0; i < names.length; i++) {
      const value = Object.hasOwn(event, names[i]!) ? event[names[i]!] : null;
      out += prefixes[i] + JSON.stringify(value ?? null);
    }
    return `${out}}`;
  };
}
