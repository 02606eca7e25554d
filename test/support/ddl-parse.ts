/**
 * Test support: parses the generated Athena and Snowflake DDL text back into tables, columns,
 * properties and options, so the proof reads files with what the DDL says rather than with what
 * the schema says. Deliberately small: it understands the statement shapes the generators emit
 * and throws on anything else.
 */

/** A lexical token of SQL text. */
export interface Token {
  readonly kind: 'word' | 'string' | 'ident' | 'punct';
  /** The token's value: a string literal unescaped, a quoted identifier unquoted. */
  readonly value: string;
}

/** How string literals escape: Hive and Snowflake treat `\` as an escape, Trino does not. */
export type Dialect = 'hive' | 'trino' | 'snowflake';

function unescapeBackslash(text: string, i: number): [string, number] {
  const c = text[i + 1] ?? '';
  if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return [String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)), i + 6];
  if (/^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) return [String.fromCharCode(parseInt(text.slice(i + 1, i + 4), 8)), i + 4];
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', '0': '\0', Z: '\u001a' };
  return [simple[c] ?? c, i + 2];
}

/** Splits SQL text into tokens, dropping `--` comments. */
export function tokenize(text: string, dialect: Dialect): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '-' && text[i + 1] === '-') i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`parse ddl: unterminated string literal`);
        const d = text[i]!;
        if (d === '\\' && dialect !== 'trino') {
          const [ch, next] = unescapeBackslash(text, i);
          value += ch;
          i = next;
        } else if (d === "'" && text[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', value });
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      tokens.push({ kind: 'ident', value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z0-9_$@<>.:]/.test(c)) {
      const m = /^[A-Za-z0-9_$@<>.:]+/.exec(text.slice(i))!;
      tokens.push({ kind: 'word', value: m[0] });
      i += m[0].length;
    } else {
      tokens.push({ kind: 'punct', value: c });
      i++;
    }
  }
  return tokens;
}

/** Splits DDL text into statements at top-level `;` (outside strings and comments). */
export function statements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === "'") i++;
      else if (c === quote) quote = null;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === ';') {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  return out.map((s) => s.trim()).filter((s) => tokenize(s, 'trino').length > 0);
}

/** A cursor over a statement's tokens. */
class Cursor {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new Error('parse ddl: unexpected end of statement');
    return t;
  }
  isWord(...words: string[]): boolean {
    return words.every((w, k) => this.peek(k)?.kind === 'word' && this.peek(k)!.value.toUpperCase() === w);
  }
  accept(...words: string[]): boolean {
    if (!this.isWord(...words)) return false;
    this.i += words.length;
    return true;
  }
  expect(value: string): void {
    const t = this.next();
    if (t.value.toUpperCase() !== value) throw new Error(`parse ddl: expected ${value}, found ${t.value}`);
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
  /** Tokens up to the matching `)` (the `(` already consumed), split at top-level commas. */
  list(): Token[][] {
    const items: Token[][] = [[]];
    for (let depth = 0; ; ) {
      const t = this.next();
      if (t.kind === 'punct' && t.value === '(') depth++;
      if (t.kind === 'punct' && t.value === ')' && depth-- === 0) break;
      if (t.kind === 'punct' && t.value === ',' && depth === 0) items.push([]);
      else items[items.length - 1]!.push(t);
    }
    return items.filter((item) => item.length > 0);
  }
}

/** A column as declared: name and type text (e.g. `NUMBER(10,0)`). */
export interface DeclaredColumn {
  readonly name: string;
  readonly type: string;
}

function typeText(tokens: Token[]): string {
  return tokens.map((t) => t.value).join('').toUpperCase();
}

/** `'k' = 'v'` pairs of a property list. */
function properties(items: Token[][]): Map<string, string> {
  return new Map(items.map((item) => [item[0]!.value, item[2]!.value] as const));
}

/** An Athena table or view. */
export interface AthenaTable {
  readonly name: string;
  readonly columns: DeclaredColumn[];
  readonly partitions: DeclaredColumn[];
  readonly serde: string | undefined;
  readonly serdeProperties: Map<string, string>;
  readonly storedAs: string | undefined;
  readonly location: string;
  readonly tableProperties: Map<string, string>;
}

/**
 * An Athena view. `query` is its Trino SQL text; a view of the form `SELECT expr AS "name", … FROM
 * table` also has `from` and `items` (the expressions as Trino SQL text); others have `from` ''
 * and no items.
 */
export interface AthenaView {
  readonly name: string;
  readonly query: string;
  readonly from: string;
  readonly items: { readonly expr: string; readonly name: string }[];
}

/** Parses `logbarge ddl athena` output. */
export function parseAthenaDdl(text: string): { tables: AthenaTable[]; views: AthenaView[] } {
  const tables: AthenaTable[] = [];
  const views: AthenaView[] = [];
  for (const statement of statements(text)) {
    // Comment lines before a statement stay in its text; views are matched without them.
    const sql = statement.replace(/^(?:\s*--[^\n]*(?:\n|$))+/, '').trim();
    const view = /^CREATE\s+OR\s+REPLACE\s+VIEW\s+(\S+)\s+AS\s+SELECT\s+([\s\S]*)\s+FROM\s+(\S+)$/i.exec(sql);
    if (view) {
      const items = splitTopLevel(view[2]!).map((item) => {
        const m = /^([\s\S]*?)\s+AS\s+"([^"]+)"$/i.exec(item) ?? /^()"([^"]+)"$/.exec(item);
        if (!m) throw new Error(`parse ddl: view item ${item}`);
        return { expr: m[1] || `"${m[2]}"`, name: m[2]! };
      });
      views.push({ name: view[1]!, query: sql.replace(/^CREATE\s+OR\s+REPLACE\s+VIEW\s+\S+\s+AS\s+/i, ''), from: view[3]!, items });
      continue;
    }
    const query = /^CREATE\s+OR\s+REPLACE\s+VIEW\s+(\S+)\s+AS\s+([\s\S]*)$/i.exec(sql);
    if (query) {
      views.push({ name: query[1]!, query: query[2]!, from: '', items: [] });
      continue;
    }
    const c = new Cursor(tokenize(sql, 'hive'));
    if (c.accept('CREATE', 'DATABASE')) continue;
    if (!c.accept('CREATE', 'EXTERNAL', 'TABLE')) throw new Error(`parse ddl: unexpected statement ${sql.slice(0, 60)}`);
    c.accept('IF', 'NOT', 'EXISTS');
    const name = c.next().value;
    c.expect('(');
    const columns = c.list().map((t) => ({ name: t[0]!.value, type: typeText(t.slice(1)) }));
    let partitions: DeclaredColumn[] = [];
    let serde: string | undefined;
    let serdeProperties = new Map<string, string>();
    let storedAs: string | undefined;
    let location = '';
    let tableProperties = new Map<string, string>();
    while (!c.done()) {
      if (c.accept('PARTITIONED', 'BY')) {
        c.expect('(');
        partitions = c.list().map((t) => ({ name: t[0]!.value, type: typeText(t.slice(1)) }));
      } else if (c.accept('ROW', 'FORMAT', 'SERDE')) serde = c.next().value;
      else if (c.accept('WITH', 'SERDEPROPERTIES')) {
        c.expect('(');
        serdeProperties = properties(c.list());
      } else if (c.accept('STORED', 'AS')) storedAs = c.next().value.toUpperCase();
      else if (c.accept('LOCATION')) location = c.next().value;
      else if (c.accept('TBLPROPERTIES')) {
        c.expect('(');
        tableProperties = properties(c.list());
      } else throw new Error(`parse ddl: unexpected ${c.peek()?.value} in CREATE EXTERNAL TABLE`);
    }
    tables.push({ name, columns, partitions, serde, serdeProperties, storedAs, location, tableProperties });
  }
  return { tables, views };
}

/** Splits text at commas outside parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}

/** A Snowflake option value: a word (`TRUE`, `GZIP`), a string, or a parenthesized list. */
export type OptionValue = string | { readonly list: OptionValue[] } | { readonly options: Map<string, OptionValue> };

function optionValue(c: Cursor): OptionValue {
  const t = c.next();
  if (t.kind === 'punct' && t.value === '(') {
    const items = c.list();
    if (items.some((item) => item.length >= 3 && item[1]?.value === '=')) {
      return { options: new Map(items.map((item) => [item[0]!.value.toUpperCase(), optionValue(new Cursor(item.slice(2)))] as const)) };
    }
    return { list: items.map((item) => optionValue(new Cursor(item))) };
  }
  return t.value;
}

/** `KEY = value` options until a word that is not followed by `=`. */
function options(c: Cursor): Map<string, OptionValue> {
  const out = new Map<string, OptionValue>();
  while (!c.done() && c.peek()?.kind === 'word' && c.peek(1)?.value === '=') {
    const key = c.next().value.toUpperCase();
    c.next();
    out.set(key, optionValue(c));
  }
  return out;
}

/** A COPY INTO statement. */
export interface SnowflakeCopy {
  readonly table: string;
  readonly stage: string;
  readonly options: Map<string, OptionValue>;
  /** A COPY with a transformation (`COPY INTO t (cols) FROM (SELECT … FROM @stage)`): its columns and the SELECT's items, in order. */
  readonly transform?: { readonly columns: string[]; readonly items: Token[][] };
}

/** Everything `logbarge ddl snowflake` declares. */
export interface SnowflakeDdl {
  readonly fileFormats: Map<string, Map<string, OptionValue>>;
  readonly stages: Map<string, Map<string, OptionValue>>;
  readonly tables: Map<string, DeclaredColumn[]>;
  readonly copies: SnowflakeCopy[];
  readonly externalTables: { name: string; columns: DeclaredColumn[]; options: Map<string, OptionValue> }[];
  /** Streams: name → the table they follow, and whether they are append-only. */
  readonly streams: Map<string, { table: string; appendOnly: boolean }>;
  /** Tasks, with the SQL text each runs. */
  readonly tasks: { name: string; body: string }[];
}

function parseCopy(c: Cursor): SnowflakeCopy {
  const table = c.next().value;
  const columns = c.peek()?.value === '(' ? (c.next(), c.list().map((t) => t[0]!.value)) : undefined;
  c.expect('FROM');
  if (c.peek()?.value !== '(') {
    if (columns) throw new Error('parse ddl: a COPY column list without a SELECT');
    const stage = c.next().value.replace(/^@/, '');
    return { table, stage, options: options(c) };
  }
  c.next();
  // `SELECT a, b, … FROM @stage`, split at top-level commas: SELECT opens the first item, FROM @stage ends the last.
  const items = c.list();
  if (items[0]?.[0]?.value.toUpperCase() !== 'SELECT') throw new Error('parse ddl: expected SELECT in the COPY transformation');
  items[0] = items[0].slice(1);
  const last = items[items.length - 1]!;
  const from = last.findIndex((t) => t.kind === 'word' && t.value.toUpperCase() === 'FROM');
  if (from < 0 || from !== last.length - 2) throw new Error('parse ddl: expected FROM @stage at the end of the COPY transformation');
  const stage = last[from + 1]!.value.replace(/^@/, '');
  items[items.length - 1] = last.slice(0, from);
  if (!columns || columns.length !== items.length) throw new Error(`parse ddl: the COPY lists ${columns?.length ?? 0} columns for ${items.length} selected values`);
  return { table, stage, options: options(c), transform: { columns, items } };
}

/** Parses `logbarge ddl snowflake` output. */
export function parseSnowflakeDdl(text: string): SnowflakeDdl {
  const ddl: SnowflakeDdl = { fileFormats: new Map(), stages: new Map(), tables: new Map(), copies: [], externalTables: [], streams: new Map(), tasks: [] };
  for (const statement of statements(text)) {
    const sql = statement.replace(/^(?:\s*--[^\n]*(?:\n|$))+/, '').trim();
    const stream = /^CREATE\s+(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s+ON\s+TABLE\s+(\S+)(\s+APPEND_ONLY\s*=\s*TRUE)?$/i.exec(sql);
    if (stream) {
      ddl.streams.set(stream[1]!, { table: stream[2]!, appendOnly: stream[3] !== undefined });
      continue;
    }
    const task = /^CREATE\s+(?:OR\s+REPLACE\s+)?TASK\s+(\S+)[\s\S]*?\n\s*AS\s*\n([\s\S]*)$/i.exec(sql);
    if (task) {
      ddl.tasks.push({ name: task[1]!, body: task[2]! });
      continue;
    }
    if (/^ALTER\s+TASK\s+\S+\s+RESUME$/i.test(sql)) continue;
    const c = new Cursor(tokenize(sql, 'snowflake'));
    if (c.accept('COPY', 'INTO')) {
      ddl.copies.push(parseCopy(c));
      continue;
    }
    c.expect('CREATE');
    c.accept('OR', 'REPLACE');
    if (c.accept('STORAGE', 'INTEGRATION')) continue;
    if (c.accept('FILE', 'FORMAT')) {
      c.accept('IF', 'NOT', 'EXISTS');
      ddl.fileFormats.set(c.next().value, options(c));
    } else if (c.accept('STAGE')) {
      c.accept('IF', 'NOT', 'EXISTS');
      ddl.stages.set(c.next().value, options(c));
    }
    else if (c.accept('PIPE')) {
      c.accept('IF', 'NOT', 'EXISTS');
      c.next();
      options(c);
      c.expect('AS');
      c.expect('COPY');
      c.expect('INTO');
      ddl.copies.push(parseCopy(c));
    } else if (c.accept('TABLE')) {
      c.accept('IF', 'NOT', 'EXISTS');
      const name = c.next().value;
      c.expect('(');
      const columns = c.list().map((t) => {
        const end = t.findIndex((tok, k) => k > 0 && tok.kind === 'word' && ['COMMENT', 'NOT', 'DEFAULT'].includes(tok.value.toUpperCase()));
        return { name: t[0]!.value, type: typeText(t.slice(1, end < 0 ? undefined : end)) };
      });
      ddl.tables.set(name, columns);
    } else if (c.accept('EXTERNAL', 'TABLE')) {
      c.accept('IF', 'NOT', 'EXISTS');
      const name = c.next().value;
      c.expect('(');
      const columns = c.list().map((t) => {
        const as = t.findIndex((tok) => tok.kind === 'word' && tok.value.toUpperCase() === 'AS');
        return { name: t[0]!.value, type: typeText(t.slice(1, as)) };
      });
      c.expect('PARTITION');
      c.expect('BY');
      c.expect('(');
      c.list();
      ddl.externalTables.push({ name, columns, options: options(c) });
    } else throw new Error(`parse ddl: unexpected statement ${sql.slice(0, 60)}`);
  }
  return ddl;
}

/** A Snowflake option as a string (word or string literal), or undefined when absent. */
export function optionString(opts: Map<string, OptionValue>, key: string): string | undefined {
  const v = opts.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`parse ddl: ${key} is not a single value`);
  return v;
}

/** A Snowflake option as a list of strings (NULL_IF), or undefined when absent. */
export function optionList(opts: Map<string, OptionValue>, key: string): string[] | undefined {
  const v = opts.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'string') return [v];
  if ('list' in v) return v.list.map((x) => (typeof x === 'string' ? x : ''));
  throw new Error(`parse ddl: ${key} is not a list`);
}
