/**
 * Test support: checks the PromQL of the monitoring examples (a Prometheus rule file, a Grafana
 * dashboard) with Prometheus's own grammar (@prometheus-io/lezer-promql) against the families of
 * a real /metrics scrape. Each check returns problems as text, so a test can also show that a
 * broken copy is caught.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import type { Family } from './prometheus.js';

/** One `label op "value"` of a selector. */
export interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

/** A vector selector (also the inside of a range selector): the metric it names and its matchers. */
export interface Selector {
  readonly metric: string | undefined;
  readonly matchers: Matcher[];
  readonly text: string;
}

/** An expression to check and where it came from (for messages). */
export interface Located {
  readonly where: string;
  readonly expr: string;
}

/** Labels Prometheus attaches at scrape time: not in /metrics, so their matchers are not checked. */
const targetLabels = new Set(['job', 'instance']);
/** Series Prometheus makes itself for every target; the only names allowed that /metrics lacks. */
const synthesized = new Set(['up']);

/** The text of a PromQL string literal ("…" with escapes, '…' or `…`). */
function stringValue(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return literal.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Parses `expr`; returns its selectors and a message per syntax error node. */
export function selectorsOf(expr: string): { selectors: Selector[]; errors: string[] } {
  const tree = parser.parse(expr);
  const selectors: Selector[] = [];
  const errors: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) {
      errors.push(`syntax error at ${cursor.from}: …${expr.slice(Math.max(0, cursor.from - 20), cursor.from)}⟨here⟩${expr.slice(cursor.from, cursor.from + 20)}…`);
    }
    if (cursor.name !== 'VectorSelector') continue;
    const node = cursor.node;
    const ident = node.getChild('Identifier');
    const matchers: Matcher[] = [];
    for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      const part = (name: string) => {
        const child = m.getChild(name);
        return child ? expr.slice(child.from, child.to) : '';
      };
      matchers.push({ label: part('LabelName'), op: part('MatchOp'), value: stringValue(part('StringLiteral')) });
    }
    // Quoted matchers ({"name"="v"}, Prometheus 3) are not used in the examples: flag them rather than skip.
    for (const q of node.getChild('LabelMatchers')?.getChildren('QuotedLabelMatcher') ?? []) errors.push(`quoted label matcher not checked: ${expr.slice(q.from, q.to)}`);
    const nameMatcher = matchers.find((m) => m.label === '__name__' && m.op === '=');
    selectors.push({
      metric: ident ? expr.slice(ident.from, ident.to) : nameMatcher?.value,
      matchers: matchers.filter((m) => m.label !== '__name__'),
      text: expr.slice(node.from, node.to),
    });
  } while (cursor.next());
  if (expr.trim() === '') errors.push('empty expression');
  return { selectors, errors };
}

/** True when a label value satisfies a matcher (regexes are anchored, as in Prometheus). */
function satisfies(value: string | undefined, m: Matcher): boolean {
  const v = value ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(v);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(v);
    default:
      throw new Error(`unknown match operator ${m.op}`);
  }
}

/** The family a selector's metric name belongs to: itself, or the histogram/summary `_bucket`/`_sum`/`_count` is part of. */
function familyFor(metric: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(metric);
  if (own) return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!metric.endsWith(suffix)) continue;
    const base = families.get(metric.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return undefined;
}

/**
 * Every problem with `exprs` against a scrape: a syntax error, a selector without a metric name,
 * a metric with no sample in /metrics, or label matchers no sample of it satisfies (job and
 * instance are left out: Prometheus adds them).
 */
export function checkExprs(exprs: readonly Located[], families: Map<string, Family>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of exprs) {
    const { selectors, errors } = selectorsOf(expr);
    for (const e of errors) problems.push(`${where}: ${e}`);
    if (errors.length === 0 && selectors.length === 0) problems.push(`${where}: names no metric`);
    for (const s of selectors) {
      if (s.metric === undefined) {
        problems.push(`${where}: selector ${s.text} names no metric`);
        continue;
      }
      if (synthesized.has(s.metric)) continue;
      const family = familyFor(s.metric, families);
      const samples = (family?.samples ?? []).filter((x) => x.name === s.metric);
      if (samples.length === 0) {
        problems.push(`${where}: metric ${s.metric} is not in /metrics${family ? ' (its family has no such sample yet)' : ''}`);
        continue;
      }
      const checked = s.matchers.filter((m) => !targetLabels.has(m.label));
      if (!samples.some((x) => checked.every((m) => satisfies(x.labels[m.label], m)))) {
        problems.push(`${where}: no sample of ${s.metric} in /metrics matches ${s.text}`);
      }
    }
  }
  return problems;
}

/** One alerting rule of a rule file, as written. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** The alerting rules of a Prometheus rule file (YAML), and problems with its shape. */
export function alertRules(yamlText: string): { rules: AlertRule[]; problems: string[] } {
  const doc = parseYaml(yamlText) as { groups?: { name?: string; rules?: Record<string, unknown>[] }[] } | null;
  const problems: string[] = [];
  const rules: AlertRule[] = [];
  if (!doc || !Array.isArray(doc.groups) || doc.groups.length === 0) return { rules, problems: ['rule file: no groups'] };
  for (const [g, group] of doc.groups.entries()) {
    if (typeof group.name !== 'string') problems.push(`groups[${g}]: no name`);
    for (const [r, rule] of (group.rules ?? []).entries()) {
      const where = `groups[${g}].rules[${r}]`;
      const known = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
      for (const key of Object.keys(rule)) if (!known.has(key)) problems.push(`${where}: unknown key ${key}`);
      if (typeof rule.alert !== 'string' || typeof rule.expr !== 'string') {
        problems.push(`${where}: needs alert and expr strings`);
        continue;
      }
      if (rule.for !== undefined && !(typeof rule.for === 'string' && /^(\d+[smhdwy])+$/.test(rule.for))) problems.push(`${where}: for ${String(rule.for)} is not a duration`);
      rules.push(rule as unknown as AlertRule);
    }
  }
  return { rules, problems };
}

/** The expressions of a rule file, located by alert name. */
export function ruleExprs(rules: readonly AlertRule[]): Located[] {
  return rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));
}

/**
 * Grafana's variables replaced the way Grafana does before a query reaches Prometheus: interval
 * variables by a duration, the dashboard's own by the "All" value `.*`.
 */
export function substituteGrafana(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{(\w+)\}|\$(\w+)/g, '.*');
}

interface GrafanaPanel {
  readonly title?: string;
  readonly targets?: { expr?: string; refId?: string }[];
  readonly panels?: GrafanaPanel[];
}

/**
 * Every query of a Grafana dashboard: each panel target's expr (rows' nested panels included)
 * and the selector inside each `label_values(selector, label)` template query, substituted.
 */
export function dashboardExprs(jsonText: string): Located[] {
  const dashboard = JSON.parse(jsonText) as { panels?: GrafanaPanel[]; templating?: { list?: { name: string; type: string; query?: unknown }[] } };
  const out: Located[] = [];
  const visit = (panels: readonly GrafanaPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        out.push({ where: `panel "${p.title ?? '?'}" target ${t.refId ?? '?'}`, expr: substituteGrafana(t.expr ?? '') });
      }
      visit(p.panels ?? []);
    }
  };
  visit(dashboard.panels ?? []);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query ?? '';
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(query.trim());
    out.push({ where: `variable ${v.name}`, expr: m ? substituteGrafana(m[1]!) : `(not a label_values query: ${query})` });
  }
  return out;
}
