/**
 * Test support: reads the Prometheus text format of /metrics into families and samples, so a
 * test can ask "is this series there, with which value" instead of matching text.
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its `# TYPE` and the samples that belong to it. */
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly samples: Sample[];
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

/** The family a sample named `name` belongs to: itself, or a histogram/summary it is a part of. */
function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && (types.get(base) === 'histogram' || types.get(base) === 'summary')) return base;
  }
  return name;
}

/** Parses Prometheus exposition text (version 0.0.4) into families by name. */
export function parseExposition(text: string): Map<string, Family> {
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) types.set(m[1]!, m[2]!);
  }
  const families = new Map<string, Family>();
  for (const [name, type] of types) families.set(name, { name, type, samples: [] });
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`parse /metrics: not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(labelPair)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const name = m[1]!;
    const familyName = familyOf(name, types);
    let family = families.get(familyName);
    if (!family) {
      family = { name: familyName, type: 'untyped', samples: [] };
      families.set(familyName, family);
    }
    family.samples.push({ name, labels, value: Number(m[3]) });
  }
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`, or undefined when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(familyOf(name, new Map([...families].map(([n, f]) => [n, f.type]))));
  const matches = (family?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`sampleValue: ${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
