/**
 * Test support: "Athena" and "Snowflake" as the generated DDL describes them, emulated with DuckDB
 * (see ddl-read.ts for the translation rules). Each reader also checks what the DDL says about
 * where the objects are: Athena's LOCATION and partition projection, Snowflake's stage URL,
 * COMPRESSION and the PATTERN that must take every data object and no verify object. A Snowflake
 * COPY either matches columns by name or selects them with a transformation (ddl-transform.ts).
 */
import { join } from 'node:path';
import { parseAthenaDdl, parseSnowflakeDdl, optionList, optionString, type AthenaTable, type AthenaView, type OptionValue, type SnowflakeCopy } from './ddl-parse.js';
import {
  checkParquetType, columnSpec, duck, dtOf, fileText, ident, isGzip, matchColumns, openCsvLine, parquetColumns, renderList, selectList, sql,
  strftimeOf, textLines, writeNdjson, type ObjectFile, type ReadColumn, type Row,
} from './ddl-read.js';
import { intoColumn, positionalColumn, translateItem, type FieldRef } from './ddl-transform.js';

/** Where the objects came from: the export's destination, and every key under it (data and verify). */
export interface ProofContext {
  readonly destination: string;
  readonly files: readonly ObjectFile[];
  readonly verifyKeys: readonly string[];
  /** A directory for staging files. */
  readonly workDir: string;
  /** The instant Athena's `NOW` stands for, epoch ms: when the events were sent (a query runs later, so its NOW reaches further). */
  readonly now: number;
}

/** Athena (Hive) column type → DuckDB type. */
export function athenaDuckType(type: string): string {
  const map: Record<string, string> = { STRING: 'VARCHAR', INT: 'INTEGER', INTEGER: 'INTEGER', BIGINT: 'BIGINT', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP_MS' };
  const t = map[type.toUpperCase()];
  if (!t) throw new Error(`proof: no DuckDB translation for Athena type ${type}`);
  return t;
}

/** Snowflake column type → DuckDB type. */
export function snowflakeDuckType(type: string): string {
  const t = type.toUpperCase();
  if (/^(VARCHAR|STRING|TEXT)(\(\d+\))?$/.test(t)) return 'VARCHAR';
  if (t === 'VARIANT') return 'JSON';
  if (t === 'DATE') return 'DATE';
  const num = /^(?:NUMBER|NUMERIC|DECIMAL)(?:\((\d+)(?:,(\d+))?\))?$/.exec(t);
  if (num || /^(INT|INTEGER|BIGINT)$/.test(t)) {
    const precision = Number(num?.[1] ?? 38);
    const scale = Number(num?.[2] ?? 0);
    if (scale !== 0) return `DECIMAL(${precision},${scale})`;
    return precision <= 9 ? 'INTEGER' : precision <= 18 ? 'BIGINT' : 'HUGEINT';
  }
  const ts = /^TIMESTAMP_NTZ(?:\((\d)\))?$/.exec(t);
  if (ts) return Number(ts[1] ?? 9) <= 3 ? 'TIMESTAMP_MS' : Number(ts[1] ?? 9) <= 6 ? 'TIMESTAMP' : 'TIMESTAMP_NS';
  throw new Error(`proof: no DuckDB translation for Snowflake type ${type} (TIMESTAMP_LTZ/TZ would read the UTC wall-clock values in a session time zone)`);
}

/** Reads the objects as the Athena DDL says. */
/** Athena (Hive) columns of a table, with the DuckDB types they read as. */
export function athenaColumns(table: AthenaTable): { name: string; duckType: string }[] {
  return table.columns.map((c) => ({ name: c.name, duckType: athenaDuckType(c.type) }));
}

/**
 * The DuckDB SELECT over every object of `ctx` read as the Athena table declares (after checking
 * its LOCATION and projection): the table's columns, `"__dt"` from the object's folder and
 * `"$path"`, the object's S3 URL (Athena's pseudo-column).
 */
export async function athenaUnion(table: AthenaTable, ctx: ProofContext): Promise<string> {
  checkAthenaLocation(table, ctx);
  const columns = athenaColumns(table);
  const perFile: string[] = [];
  for (const [i, file] of ctx.files.entries()) {
    const dt = `${sql(dtOf(file.key))} AS "__dt", ${sql(ctx.destination + file.key)} AS "$path"`;
    if (isGzip(file.path) !== file.key.endsWith('.gz')) throw new Error(`proof: Athena detects compression by the .gz extension, but ${file.key} ${isGzip(file.path) ? 'is' : 'is not'} gzip`);
    if (table.storedAs === 'PARQUET') {
      const types = await parquetColumns(file.path);
      const read = matchColumns(columns, [...types.keys()], { caseInsensitive: true });
      for (const c of read) if (c.source) checkParquetType(c.name, types.get(c.source)!, c.duckType);
      perFile.push(`SELECT ${selectList(read, true)}, ${dt} FROM read_parquet(${sql(file.path)})`);
    } else if (table.serde === 'org.openx.data.jsonserde.JsonSerDe') {
      const caseInsensitive = (table.serdeProperties.get('case.insensitive') ?? 'true').toLowerCase() === 'true';
      const keys = Object.keys(JSON.parse(textLines(fileText(file.path))[0] ?? '{}') as object);
      const read = matchColumns(columns, keys, { caseInsensitive });
      const spec = columnSpec(read.filter((c) => c.source).map((c) => [c.source!, c.duckType] as const));
      perFile.push(`SELECT ${selectList(read, false)}, ${dt} FROM read_json(${sql(file.path)}, format = 'newline_delimited', records = true, columns = ${spec})`);
    } else if (table.serde === 'org.apache.hadoop.hive.serde2.OpenCSVSerde') {
      perFile.push(openCsvSelect(table, columns, file, join(ctx.workDir, `opencsv-${i}.ndjson`), dt));
    } else {
      throw new Error(`proof: no translation for Athena table format ${table.storedAs ?? table.serde}`);
    }
  }
  if (perFile.length === 0) {
    // No objects: an empty relation with the table's columns.
    return `SELECT ${columns.map((c) => `CAST(NULL AS ${c.duckType}) AS ${ident(c.name)}`).join(', ')}, CAST(NULL AS VARCHAR) AS "__dt", CAST(NULL AS VARCHAR) AS "$path" WHERE false`;
  }
  return perFile.join(' UNION ALL ');
}

/** The typed view of an Athena CSV table as a DuckDB select list (its casts translated to DuckDB types). */
export function athenaViewItems(view: AthenaView): { sql: string; name: string }[] {
  return view.items.map((item) => {
    const expr = item.expr.replace(/\bAS\s+(\w+)\)$/i, (_m, type: string) => `AS ${athenaDuckType(type)})`);
    return { sql: `${expr} AS ${ident(item.name)}`, name: item.name };
  });
}

/** Reads the objects as the Athena DDL says. */
export async function readAsAthena(ddlText: string, ctx: ProofContext): Promise<Row[]> {
  const { tables, views } = parseAthenaDdl(ddlText);
  if (tables.length !== 1) throw new Error(`proof: expected one Athena table, found ${tables.length}`);
  const table = tables[0]!;
  const columns = athenaColumns(table);
  const union = await athenaUnion(table, ctx);
  const view = views.find((v) => v.from === table.name);
  if (!view) return duck([`SELECT ${renderList(columns)}, "__dt" FROM (${union})`]);
  // The view's Trino SQL runs as DuckDB SQL once its cast types are translated the same way.
  const items = athenaViewItems(view);
  const typed = items.filter((i) => i.name !== 'dt');
  const types = await duck([`CREATE TABLE raw AS ${union}`, `DESCRIBE SELECT ${typed.map((i) => i.sql).join(', ')} FROM raw`]);
  const viewColumns = types.map((t) => ({ name: String(t.column_name), duckType: String(t.column_type) }));
  return duck([`CREATE TABLE raw AS ${union}`, `SELECT ${renderList(viewColumns)}, "__dt" FROM (SELECT ${typed.map((i) => i.sql).join(', ')}, "__dt" FROM raw)`]);
}

/** OpenCSVSerde: line by line, strings only, header lines skipped; staged as NDJSON for DuckDB. */
function openCsvSelect(table: AthenaTable, columns: readonly { name: string; duckType: string }[], file: ObjectFile, staging: string, dt: string): string {
  const prop = (key: string, fallback: string): string => table.serdeProperties.get(key)?.[0] ?? fallback;
  const separator = prop('separatorChar', ',');
  const quote = prop('quoteChar', '"');
  // Hive (and Trino after it) replaces an escape character of '"' with '\'.
  const escape = prop('escapeChar', '\\') === '"' ? '\\' : prop('escapeChar', '\\');
  const skip = Number(table.tableProperties.get('skip.header.line.count') ?? 0);
  const rows = textLines(fileText(file.path))
    .slice(skip)
    .map((line) => {
      const values = openCsvLine(line, separator, quote, escape, columns.length);
      return Object.fromEntries(columns.map((c, k) => [c.name, values[k] ?? null]));
    });
  // OpenCSVSerde types only digits: int from an integer string, date from days and timestamp
  // from milliseconds since 1970 (Athena docs); anything else in a typed column fails the query.
  for (const row of rows) {
    for (const c of columns) {
      const v = row[c.name];
      const ok = c.duckType === 'VARCHAR' || v === null || v === undefined || (c.duckType === 'INTEGER' ? /^-?\d+$/ : /^\d+$/).test(v);
      if (!ok) throw new Error(`proof: OpenCSVSerde cannot read "${v}" as ${c.duckType} (column ${c.name})`);
    }
  }
  writeNdjson(staging, rows);
  const spec = columns.map((c) => `${sql(c.name)}: 'VARCHAR'`).join(', ');
  return `SELECT ${columns.map((c) => (c.duckType === 'VARCHAR' ? ident(c.name) : `CAST(${ident(c.name)} AS ${c.duckType}) AS ${ident(c.name)}`)).join(', ')}, ${dt} FROM read_json(${sql(staging)}, format = 'newline_delimited', records = true, columns = {${spec}})`;
}

/** LOCATION is the destination; projection of dt (format, range start, template) finds every object. */
function checkAthenaLocation(table: AthenaTable, ctx: ProofContext): void {
  if (table.location !== ctx.destination) throw new Error(`proof: LOCATION ${table.location} is not the destination ${ctx.destination}`);
  const p = table.tableProperties;
  if (table.partitions.map((c) => `${c.name} ${c.type}`).join() !== 'dt STRING') throw new Error('proof: the table must be PARTITIONED BY (dt string)');
  if (p.get('projection.enabled') !== 'true' || p.get('projection.dt.type') !== 'date') throw new Error('proof: dt must be projected as a date');
  const format = p.get('projection.dt.format') ?? '';
  const formatRe = new RegExp(`^${format.replace(/yyyy/, '\\d{4}').replace(/MM/, '\\d{2}').replace(/dd/, '\\d{2}')}$`);
  const [start, end] = (p.get('projection.dt.range') ?? '').split(',');
  const relative = /^NOW(?:\+(\d+)DAYS)?$/.exec(end ?? '');
  if (!relative || p.get('projection.dt.interval.unit') !== 'DAYS') throw new Error('proof: dt must range to NOW or NOW+<n>DAYS by DAYS');
  const last = new Date(ctx.now + Number(relative[1] ?? 0) * 86_400_000).toISOString().slice(0, 10);
  for (const file of ctx.files) {
    const dt = dtOf(file.key);
    if (!formatRe.test(dt) || format !== 'yyyy-MM-dd') throw new Error(`proof: projection.dt.format ${format} does not produce ${dt}`);
    if (dt < start!) throw new Error(`proof: ${file.key} is before the projected range start ${start}`);
    if (dt > last) throw new Error(`proof: ${file.key} is after the projected range end ${end} (${last})`);
    const folder = (p.get('storage.location.template') ?? '').replace('${dt}', dt);
    if (`${folder}${file.key.slice(file.key.indexOf('/') + 1)}` !== `${ctx.destination}${file.key}`) throw new Error(`proof: storage.location.template does not locate ${file.key}`);
  }
}

/** Reads the objects as the Snowflake DDL's COPY INTO (and its Snowpipe twin) loads them. */
export async function readAsSnowflake(ddlText: string, ctx: ProofContext): Promise<Row[]> {
  const ddl = parseSnowflakeDdl(ddlText);
  if (ddl.copies.length === 0) throw new Error('proof: no COPY INTO');
  const copy = ddl.copies[0]!;
  for (const other of ddl.copies) {
    if (JSON.stringify([...other.options]) !== JSON.stringify([...copy.options]) || other.table !== copy.table || JSON.stringify(other.transform) !== JSON.stringify(copy.transform)) {
      throw new Error('proof: the Snowpipe COPY differs from the COPY INTO');
    }
  }
  const stage = ddl.stages.get(copy.stage);
  if (!stage || optionString(stage, 'URL') !== ctx.destination) throw new Error(`proof: stage ${copy.stage} is not on ${ctx.destination}`);
  const table = ddl.tables.get(copy.table);
  if (!table) throw new Error(`proof: no CREATE TABLE ${copy.table}`);
  const fileFormat = copy.options.get('FILE_FORMAT');
  const formatName = fileFormat && typeof fileFormat !== 'string' && 'options' in fileFormat ? optionString(fileFormat.options, 'FORMAT_NAME') : undefined;
  const format = ddl.fileFormats.get(formatName ?? '');
  if (!format) throw new Error(`proof: no FILE FORMAT ${formatName}`);
  checkPattern(optionString(copy.options, 'PATTERN'), ctx);
  for (const ext of ddl.externalTables) checkPattern(optionString(ext.options, 'PATTERN'), ctx);
  const byName = optionString(copy.options, 'MATCH_BY_COLUMN_NAME');
  if (copy.transform && byName !== undefined) throw new Error('proof: MATCH_BY_COLUMN_NAME is not supported with a COPY transformation (Snowflake refuses the statement)');
  if (!copy.transform && byName !== 'CASE_INSENSITIVE') throw new Error(`proof: MATCH_BY_COLUMN_NAME is ${byName ?? 'absent'}; the table's columns are matched by name`);
  const columns = table.map((c) => ({ name: c.name, duckType: snowflakeDuckType(c.type) }));
  const type = optionString(format, 'TYPE');
  const nullIf = optionList(format, 'NULL_IF') ?? ['\\N'];
  const perFile: string[] = [];
  for (const file of ctx.files) {
    const compression = optionString(format, 'COMPRESSION') ?? 'AUTO';
    if (compression !== 'AUTO' && (compression === 'GZIP') !== isGzip(file.path)) throw new Error(`proof: COMPRESSION = ${compression} but ${file.key} ${isGzip(file.path) ? 'is' : 'is not'} gzip`);
    const dt = `${sql(dtOf(file.key))} AS "__dt"`;
    if (copy.transform) {
      perFile.push(await transformSelect(copy, format, columns, file, dt));
    } else if (type === 'PARQUET') {
      known(format, ['TYPE', 'COMPRESSION', 'USE_LOGICAL_TYPE', 'BINARY_AS_TEXT', 'NULL_IF']);
      if (optionString(format, 'BINARY_AS_TEXT') === 'FALSE') throw new Error('proof: BINARY_AS_TEXT = FALSE loads UTF8 strings as binary');
      const types = await parquetColumns(file.path);
      const read = matchColumns(columns, [...types.keys()], { caseInsensitive: true });
      for (const c of read) {
        if (!c.source) continue;
        const fileType = types.get(c.source)!;
        if (fileType === 'TIMESTAMP_MS' && optionString(format, 'USE_LOGICAL_TYPE') !== 'TRUE') throw new Error(`proof: without USE_LOGICAL_TYPE = TRUE, ${c.name}'s TIMESTAMP(isAdjustedToUTC=false) does not load as TIMESTAMP_NTZ`);
        checkParquetType(c.name, fileType, c.duckType);
      }
      perFile.push(`SELECT ${selectList(read, true)}, ${dt} FROM read_parquet(${sql(file.path)})`);
    } else if (type === 'JSON') {
      known(format, ['TYPE', 'COMPRESSION', 'DATE_FORMAT', 'TIMESTAMP_FORMAT', 'NULL_IF']);
      const keys = Object.keys(JSON.parse(textLines(fileText(file.path))[0] ?? '{}') as object);
      const read = matchColumns(columns, keys, { caseInsensitive: true });
      const spec = columnSpec(read.filter((c) => c.source).map((c) => [c.source!, textReadType(c.duckType)] as const));
      perFile.push(`SELECT ${textSelect(read, format)}, ${dt} FROM read_json(${sql(file.path)}, format = 'newline_delimited', records = true, columns = ${spec})`);
    } else if (type === 'CSV') {
      perFile.push(csvSelect(format, columns, file, dt));
    } else {
      throw new Error(`proof: no translation for FILE FORMAT TYPE = ${type}`);
    }
  }
  // NULL_IF turns these strings in VARCHAR columns into NULL (after the enclosing quotes are
  // removed); for CSV, csvSelect passes them to read_csv as nullstr instead.
  const nullValues = (duckType: string): readonly string[] => (type !== 'CSV' && duckType === 'VARCHAR' ? nullIf : []);
  const inner = columns
    .map((c) => {
      const values = nullValues(c.duckType);
      return values.length ? `CASE WHEN ${ident(c.name)} IN (${values.map(sql).join(', ')}) THEN NULL ELSE ${ident(c.name)} END AS ${ident(c.name)}` : ident(c.name);
    })
    .join(', ');
  return duck([`SELECT ${renderList(columns)}, "__dt" FROM (SELECT ${inner}, "__dt" FROM (${perFile.join(' UNION ALL ')}))`]);
}

function known(format: Map<string, OptionValue>, keys: readonly string[]): void {
  for (const key of format.keys()) if (!keys.includes(key)) throw new Error(`proof: no translation for file format option ${key}`);
}

/** Dates and timestamps are read as text and parsed with the file format's DATE_FORMAT / TIMESTAMP_FORMAT. */
function textReadType(duckType: string): string {
  return duckType === 'DATE' || duckType.startsWith('TIMESTAMP') ? 'VARCHAR' : duckType;
}

/** The select list of a text format: strict strptime with the file format's formats (a plain cast for AUTO). */
function textSelect(read: readonly ReadColumn[], format: Map<string, OptionValue>): string {
  return read
    .map((c) => {
      if (c.source === undefined || textReadType(c.duckType) === c.duckType) return selectList([c], false);
      const pattern = optionString(format, c.duckType === 'DATE' ? 'DATE_FORMAT' : 'TIMESTAMP_FORMAT') ?? 'AUTO';
      const value = pattern === 'AUTO' ? ident(c.source) : `strptime(${ident(c.source)}, ${sql(strftimeOf(pattern))})`;
      return `CAST(${value} AS ${c.duckType}) AS ${ident(c.name)}`;
    })
    .join(', ');
}

/** The file format's CSV dialect as read_csv options (the header options are checked by the caller). */
function csvDialect(format: Map<string, OptionValue>, file: ObjectFile): string[] {
  known(format, ['TYPE', 'COMPRESSION', 'FIELD_DELIMITER', 'RECORD_DELIMITER', 'PARSE_HEADER', 'SKIP_HEADER', 'FIELD_OPTIONALLY_ENCLOSED_BY', 'ESCAPE', 'ESCAPE_UNENCLOSED_FIELD', 'NULL_IF', 'EMPTY_FIELD_AS_NULL', 'TRIM_SPACE', 'DATE_FORMAT', 'TIMESTAMP_FORMAT', 'ENCODING']);
  const opt = (key: string, fallback: string): string => optionString(format, key) ?? fallback;
  if (opt('RECORD_DELIMITER', '\n') !== '\n') throw new Error('proof: RECORD_DELIMITER must be \\n');
  if (opt('ESCAPE_UNENCLOSED_FIELD', '\\') !== 'NONE') throw new Error('proof: ESCAPE_UNENCLOSED_FIELD other than NONE treats backslashes in unquoted fields (\\N, a lone \\) as escapes');
  if (opt('TRIM_SPACE', 'FALSE') !== 'FALSE') throw new Error('proof: TRIM_SPACE = TRUE would strip spaces from values');
  if (opt('ENCODING', 'UTF8') !== 'UTF8') throw new Error('proof: ENCODING must be UTF8');
  const quote = opt('FIELD_OPTIONALLY_ENCLOSED_BY', 'NONE');
  const escape = opt('ESCAPE', 'NONE');
  const nulls = [...(optionList(format, 'NULL_IF') ?? ['\\N']), ...(opt('EMPTY_FIELD_AS_NULL', 'TRUE') === 'TRUE' ? [''] : [])];
  return [
    `auto_detect = false`, `delim = ${sql(opt('FIELD_DELIMITER', ','))}`,
    quote === 'NONE' ? `quote = ''` : `quote = ${sql(quote)}`,
    `escape = ${sql(escape === 'NONE' ? (quote === 'NONE' ? '' : quote) : escape)}`,
    `nullstr = [${nulls.map(sql).join(', ')}]`, `allow_quoted_nulls = true`,
    `compression = '${isGzip(file.path) ? 'gzip' : 'none'}'`,
  ];
}

/** The header row's field names. */
function csvHeader(format: Map<string, OptionValue>, file: ObjectFile): string[] {
  return textLines(fileText(file.path))[0]!.split(optionString(format, 'FIELD_DELIMITER') ?? ',').map((h) => h.replace(/^"|"$/g, ''));
}

/** CSV: the header names the columns (PARSE_HEADER), the dialect options map to read_csv's. */
function csvSelect(format: Map<string, OptionValue>, columns: readonly { name: string; duckType: string }[], file: ObjectFile, dt: string): string {
  const dialect = csvDialect(format, file);
  if ((optionString(format, 'PARSE_HEADER') ?? 'FALSE') !== 'TRUE') throw new Error('proof: MATCH_BY_COLUMN_NAME with CSV needs PARSE_HEADER = TRUE');
  if ((optionString(format, 'SKIP_HEADER') ?? '0') !== '0') throw new Error('proof: SKIP_HEADER with PARSE_HEADER = TRUE would skip a data row');
  const header = csvHeader(format, file);
  const read = matchColumns(columns, header, { caseInsensitive: true });
  const spec = columnSpec(header.map((h) => [h, textReadType(read.find((c) => c.source === h)?.duckType ?? 'VARCHAR')] as const));
  return `SELECT ${textSelect(read, format)}, ${dt} FROM read_csv(${sql(file.path)}, header = true, ${dialect.join(', ')}, columns = ${spec})`;
}

/**
 * A COPY transformation on one file: each selected expression translated (ddl-transform.ts) over
 * the file's fields, stored into its listed column with that column's type; table columns the
 * COPY does not list are NULL. A field the file lacks is NULL, as Snowflake reads a missing path.
 */
async function transformSelect(copy: SnowflakeCopy, format: Map<string, OptionValue>, columns: readonly { name: string; duckType: string }[], file: ObjectFile, dt: string): Promise<string> {
  const transform = copy.transform!;
  const type = optionString(format, 'TYPE');
  const parquetTypes = type === 'PARQUET' ? await parquetColumns(file.path) : undefined;
  let csvFields = 0;
  let relation: (names: readonly string[]) => string;
  if (type === 'PARQUET') {
    known(format, ['TYPE', 'COMPRESSION', 'USE_LOGICAL_TYPE', 'BINARY_AS_TEXT', 'NULL_IF']);
    if (optionString(format, 'BINARY_AS_TEXT') === 'FALSE') throw new Error('proof: BINARY_AS_TEXT = FALSE loads UTF8 strings as binary');
    relation = () => `read_parquet(${sql(file.path)})`;
  } else if (type === 'JSON') {
    known(format, ['TYPE', 'COMPRESSION', 'DATE_FORMAT', 'TIMESTAMP_FORMAT', 'NULL_IF']);
    relation = (names) => `read_json(${sql(file.path)}, format = 'newline_delimited', records = true, columns = ${columnSpec(names.map((n) => [n, 'VARCHAR'] as const))})`;
  } else if (type === 'CSV') {
    const dialect = csvDialect(format, file);
    if ((optionString(format, 'PARSE_HEADER') ?? 'FALSE') === 'TRUE' || optionString(format, 'SKIP_HEADER') !== '1') throw new Error('proof: a COPY that reads CSV fields by position must skip the header (SKIP_HEADER = 1)');
    csvFields = csvHeader(format, file).length;
    const spec = columnSpec(Array.from({ length: csvFields }, (_, k) => [positionalColumn(k + 1), 'VARCHAR'] as const));
    relation = () => `read_csv(${sql(file.path)}, header = false, skip = 1, ${dialect.join(', ')}, columns = ${spec})`;
  } else {
    throw new Error(`proof: no translation for FILE FORMAT TYPE = ${type}`);
  }
  const field = (ref: FieldRef): string => {
    if ('position' in ref) {
      if (type !== 'CSV') throw new Error(`proof: $${ref.position} reads a CSV field; use $1:<name> for ${type}`);
      return ref.position <= csvFields ? ident(positionalColumn(ref.position)) : 'NULL';
    }
    if (type === 'CSV') throw new Error(`proof: $1:${ref.name} reads a JSON or Parquet field, not a CSV one`);
    return parquetTypes && !parquetTypes.has(ref.name) ? 'NULL' : ident(ref.name);
  };
  const translated = transform.items.map((item) => translateItem(item, { field, duckType: snowflakeDuckType }));
  // A Parquet field cast to a type it cannot be read as fails, as in Snowflake.
  for (const { field: ref, castTo } of translated.flatMap((t) => t.fields)) {
    const fileType = 'name' in ref ? parquetTypes?.get(ref.name) : undefined;
    if (!('name' in ref) || fileType === undefined || castTo === undefined) continue;
    if (fileType === 'TIMESTAMP_MS' && optionString(format, 'USE_LOGICAL_TYPE') !== 'TRUE') throw new Error(`proof: without USE_LOGICAL_TYPE = TRUE, ${ref.name}'s TIMESTAMP(isAdjustedToUTC=false) is not a timestamp`);
    checkParquetType(ref.name, fileType, castTo);
  }
  const names = [...new Set(translated.flatMap((t) => t.fields.flatMap((f) => ('name' in f.field ? [f.field.name] : []))))];
  const listed = new Map(transform.columns.map((c, k) => [c.toUpperCase(), translated[k]!.sql] as const));
  for (const c of listed.keys()) if (!columns.some((t) => t.name.toUpperCase() === c)) throw new Error(`proof: the COPY loads ${c}, which the table does not have`);
  const select = columns.map((c) => {
    const value = listed.get(c.name.toUpperCase());
    return `${value === undefined ? `CAST(NULL AS ${c.duckType})` : intoColumn(value, c.duckType)} AS ${ident(c.name)}`;
  });
  return `SELECT ${select.join(', ')}, ${dt} FROM ${relation(names)}`;
}

/** The PATTERN must match the whole path of every data object and of no verify object. */
function checkPattern(pattern: string | undefined, ctx: ProofContext): void {
  if (pattern === undefined) throw new Error('proof: no PATTERN, so COPY would also load _verify/ objects');
  const re = new RegExp(`^(?:${pattern})$`);
  const paths = (key: string): string[] => [key, `${ctx.destination.replace(/^s3:\/\/[^/]+\//, '')}${key}`];
  for (const f of ctx.files) if (!paths(f.key).every((p) => re.test(p))) throw new Error(`proof: PATTERN '${pattern}' does not match data object ${f.key}`);
  for (const k of ctx.verifyKeys) if (paths(k).some((p) => re.test(p))) throw new Error(`proof: PATTERN '${pattern}' matches verify object ${k}`);
}
