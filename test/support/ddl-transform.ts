/**
 * Test support: the expressions of a Snowflake COPY transformation (`SELECT $1:NAME::TYPE, …`),
 * translated into DuckDB SQL over one staged file. Understands what `logbarge ddl snowflake`
 * emits and throws on anything else: field references (`$<n>` for CSV, `$1:<name>` otherwise),
 * `::TYPE` casts, TO_DATE / TO_TIMESTAMP_NTZ with a format, and PARSE_JSON.
 */
import type { Token } from './ddl-parse.js';
import { sql, strftimeOf } from './ddl-read.js';

/** A field of a staged file, as a transformation refers to it. */
export type FieldRef = { readonly position: number } | { readonly name: string };

/** A translated expression: DuckDB SQL, with the fields it reads and the types they are cast to. */
export interface Translated {
  readonly sql: string;
  readonly fields: { readonly field: FieldRef; readonly castTo: string | undefined }[];
}

/** How the translation names things: a field's DuckDB column expression and a Snowflake type's DuckDB type. */
export interface TranslateContext {
  readonly field: (ref: FieldRef) => string;
  readonly duckType: (snowflakeType: string) => string;
}

function parseRef(text: string): FieldRef {
  const positional = /^\$(\d+)$/.exec(text);
  if (positional) return { position: Number(positional[1]) };
  const path = /^\$1:([A-Za-z_][A-Za-z0-9_]*)$/.exec(text);
  if (path) return { name: path[1]! };
  throw new Error(`proof: no translation for the COPY field reference ${text}`);
}

/** Translates one SELECT item of a COPY transformation. */
export function translateItem(tokens: readonly Token[], ctx: TranslateContext): Translated {
  let i = 0;
  const fields: Translated['fields'] = [];
  const peek = (): Token | undefined => tokens[i];
  const next = (): Token => {
    const t = tokens[i++];
    if (!t) throw new Error('proof: unexpected end of a COPY expression');
    return t;
  };
  const expect = (value: string): void => {
    const t = next();
    if (t.value !== value) throw new Error(`proof: expected ${value} in a COPY expression, found ${t.value}`);
  };

  const expr = (): string => {
    const t = next();
    if (t.kind !== 'word') throw new Error(`proof: unexpected ${t.value} in a COPY expression`);
    if (!t.value.startsWith('$')) return call(t.value.toUpperCase());
    // `$1:NAME::TYPE` is one word token; a type's `(p,s)` follows as punctuation.
    const [refText, ...typeParts] = t.value.split('::');
    if (typeParts.length > 1) throw new Error(`proof: no translation for the double cast ${t.value}`);
    const ref = parseRef(refText!);
    let type = typeParts[0];
    if (type !== undefined && peek()?.value === '(') {
      next();
      const params: string[] = [];
      while (peek()?.value !== ')') {
        const p = next();
        if (p.value !== ',') params.push(p.value);
      }
      next();
      type = `${type}(${params.join(',')})`;
    }
    const castTo = type === undefined ? undefined : ctx.duckType(type);
    fields.push({ field: ref, castTo });
    const column = ctx.field(ref);
    return castTo === undefined ? column : `CAST(${column} AS ${castTo})`;
  };

  const call = (name: string): string => {
    expect('(');
    const arg = expr();
    switch (name) {
      case 'PARSE_JSON':
        expect(')');
        return `CAST(${arg} AS JSON)`;
      case 'TO_DATE':
      case 'TO_TIMESTAMP_NTZ': {
        expect(',');
        const format = next();
        if (format.kind !== 'string') throw new Error(`proof: ${name} needs a format string`);
        expect(')');
        return `CAST(strptime(${arg}, ${sql(strftimeOf(format.value))}) AS ${name === 'TO_DATE' ? 'DATE' : 'TIMESTAMP_MS'})`;
      }
      default:
        throw new Error(`proof: no translation for the COPY function ${name}`);
    }
  };

  const out = expr();
  if (i !== tokens.length) throw new Error(`proof: unexpected ${tokens[i]!.value} after a COPY expression`);
  return { sql: out, fields };
}

/** The DuckDB column name of a CSV field read by position. */
export function positionalColumn(position: number): string {
  return `c${position}`;
}

/** The value a COPY stores in a column of DuckDB type `duckType`: a VARIANT takes any value as it is, other types a cast. */
export function intoColumn(valueSql: string, duckType: string): string {
  return duckType === 'JSON' ? `to_json(${valueSql})` : `CAST(${valueSql} AS ${duckType})`;
}
