/**
 * Test support: the Athena DDL of a sealed export, emulated with DuckDB over downloaded objects.
 * Each of its three tables is read as it declares (ddl-engines.ts: LOCATION, projection, SerDe and
 * column types, with `"$path"`): the raw objects, the sealed files, and the seal records (OpenX
 * JSON SerDe: one object per line, keys case-insensitive, undeclared keys ignored). Then the view's
 * Trino SQL runs unchanged in DuckDB over those tables, and its rows come back rendered as the
 * other readers render them, with `__dt` from the view's `dt`.
 */
import { join } from 'node:path';
import { athenaColumns, athenaUnion, athenaViewItems, type ProofContext } from './ddl-engines.js';
import { parseAthenaDdl, type AthenaTable } from './ddl-parse.js';
import { columnSpec, duck, fileText, ident, renderList, sql, textLines, writeNdjson, type ObjectFile, type Row } from './ddl-read.js';

/** Every object under a destination (data, sealed files, seal records and the rest), downloaded. */
export interface SealedProofContext {
  readonly destination: string;
  readonly objects: readonly ObjectFile[];
  readonly workDir: string;
  /** The instant Athena's NOW stands for, epoch ms. */
  readonly now: number;
}

function schemaOf(name: string): string | undefined {
  return name.includes('.') ? name.slice(0, name.indexOf('.')) : undefined;
}

/** The seal records as the OpenX JSON SerDe reads them into the declared columns. */
function sealRows(table: AthenaTable, records: readonly ObjectFile[]): Record<string, string | null>[] {
  const caseInsensitive = (table.serdeProperties.get('case.insensitive') ?? 'true').toLowerCase() === 'true';
  const rows: Record<string, string | null>[] = [];
  for (const file of records) {
    for (const line of textLines(fileText(file.path))) {
      const value = JSON.parse(line) as unknown;
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`proof: ${file.key} has a line that is not a JSON object`);
      const fields = Object.entries(value as Record<string, unknown>).map(([k, v]) => [caseInsensitive ? k.toLowerCase() : k, v] as const);
      rows.push(
        Object.fromEntries(
          table.columns.map((c) => {
            const v = fields.find(([k]) => k === c.name)?.[1];
            return [c.name, v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)];
          }),
        ),
      );
    }
  }
  return rows;
}

/** Reads a sealed export's objects through its generated Athena view. */
export async function readAsAthenaSealed(ddlText: string, ctx: SealedProofContext): Promise<Row[]> {
  const { tables, views } = parseAthenaDdl(ddlText);
  const sealed = tables.find((t) => t.location === `${ctx.destination}_sealed/`);
  const seals = tables.find((t) => t.location === `${ctx.destination}_seals/`);
  const unsealed = tables.find((t) => t.location === ctx.destination);
  if (tables.length !== 3 || !sealed || !seals || !unsealed) {
    throw new Error(`proof: expected tables on ${ctx.destination}, its _sealed/ and its _seals/; found ${tables.map((t) => t.location).join(', ')}`);
  }
  const main = views.find((v) => v.items.length === 0);
  if (!main) throw new Error('proof: no view over the sealed and unsealed tables');
  const typed = views.find((v) => v.from === unsealed.name);
  const raw = ctx.objects.filter((o) => o.key.startsWith('dt='));
  const sealedFiles = ctx.objects.filter((o) => o.key.startsWith('_sealed/')).map((o) => ({ key: o.key.slice('_sealed/'.length), path: o.path }));
  const records = ctx.objects.filter((o) => o.key.startsWith('_seals/'));
  const context = (destination: string, files: readonly ObjectFile[]): ProofContext => ({ destination, files, verifyKeys: [], workDir: ctx.workDir, now: ctx.now });

  const statements: string[] = [];
  for (const schema of new Set([...tables, ...views].map((t) => schemaOf(t.name)).filter((s): s is string => s !== undefined))) {
    statements.push(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
  }
  const asTable = (name: string, union: string): string => `CREATE TABLE ${name} AS SELECT * EXCLUDE ("__dt"), "__dt" AS "dt" FROM (${union})`;
  statements.push(asTable(unsealed.name, await athenaUnion(unsealed, context(ctx.destination, raw))));
  if (typed) statements.push(`CREATE VIEW ${typed.name} AS SELECT ${athenaViewItems(typed).map((i) => i.sql).join(', ')} FROM ${unsealed.name}`);
  statements.push(asTable(sealed.name, await athenaUnion(sealed, context(`${ctx.destination}_sealed/`, sealedFiles))));
  const staging = join(ctx.workDir, 'seal-records.ndjson');
  const rows = sealRows(seals, records);
  const columns = athenaColumns(seals);
  if (rows.length > 0) {
    writeNdjson(staging, rows);
    const spec = columnSpec(columns.map((c) => [c.name, c.duckType] as const));
    statements.push(`CREATE TABLE ${seals.name} AS SELECT * FROM read_json(${sql(staging)}, format = 'newline_delimited', records = true, columns = ${spec})`);
  } else {
    statements.push(`CREATE TABLE ${seals.name} (${columns.map((c) => `${ident(c.name)} ${c.duckType}`).join(', ')})`);
  }
  statements.push(`CREATE VIEW ${main.name} AS ${main.query}`);
  const described = await duck([...statements, `DESCRIBE SELECT * FROM ${main.name}`]);
  const viewColumns = described.map((d) => ({ name: String(d.column_name), duckType: String(d.column_type) })).filter((c) => c.name !== 'dt');
  return duck([...statements, `SELECT ${renderList(viewColumns)}, "dt" AS "__dt" FROM ${main.name}`]);
}
