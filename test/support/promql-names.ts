/**
 * The metric names a PromQL expression (or a Grafana variable query) reads, and whether a
 * scrape exposes them. Not a PromQL parser: it removes what cannot hold a metric name — string
 * literals (label values, Grafana's `$vars` inside them), `{…}` matchers, `[…]` ranges and
 * subqueries, the label lists of by/without/on/ignoring/group_left/group_right, `offset` and `@`
 * modifiers — then every identifier not called as a function and not a keyword is a metric name.
 * A histogram's or summary's _bucket/_sum/_count series resolve to their family.
 */

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'inf', 'nan', 'start', 'end']);

/** Metric names read by one PromQL expression, in order of first appearance. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\boffset\s+-?[0-9a-zA-Z_$]+/gi, ' ')
    .replace(/@\s*[0-9.]+/g, ' ');
  const names: string[] = [];
  const token = /[A-Za-z_:][A-Za-z0-9_:]*|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\$\{?[A-Za-z0-9_]+\}?|\S/g;
  for (let m = token.exec(stripped); m !== null; m = token.exec(stripped)) {
    const t = m[0];
    if (!/^[A-Za-z_:]/.test(t) || KEYWORDS.has(t.toLowerCase())) continue;
    const next = stripped.slice(token.lastIndex).trimStart();
    if (next.startsWith('(')) continue; // a function or an aggregation
    if (!names.includes(t)) names.push(t);
  }
  return names;
}

/**
 * Metric names a Grafana query variable reads: `label_values(<selector>, label)`,
 * `query_result(<expr>)`; `label_values(label)` and `label_names()` read none.
 */
export function metricNamesInVariableQuery(query: string): string[] {
  const q = query.trim();
  const labelValues = /^label_values\s*\(\s*([\s\S]+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.exec(q);
  if (labelValues) return metricNamesIn(labelValues[1]!);
  const queryResult = /^query_result\s*\(([\s\S]*)\)$/.exec(q);
  if (queryResult) return metricNamesIn(queryResult[1]!);
  return [];
}

/** Metric families of a Prometheus text scrape, by name → type (from `# TYPE` lines). */
export function familiesOf(scrape: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const line of scrape.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (m) families.set(m[1]!, m[2]!);
  }
  return families;
}

/** Whether `name` is a family of the scrape, or a _bucket/_sum/_count series of one. */
export function resolves(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const type = families.get(m[1]!);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}

/** Every PromQL expression of a Grafana dashboard: panel targets (nested rows too), annotations, variable queries. */
export function dashboardQueries(dashboard: unknown): { exprs: string[]; variableQueries: string[] } {
  const exprs: string[] = [];
  const variableQueries: string[] = [];
  const walk = (node: unknown, inTemplating: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n, inTemplating);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.expr === 'string') exprs.push(o.expr);
    if (inTemplating && o.type === 'query') {
      const q = typeof o.query === 'string' ? o.query : (o.query as { query?: unknown } | undefined)?.query;
      if (typeof q === 'string') variableQueries.push(q);
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'query' || !inTemplating) walk(v, inTemplating || k === 'templating');
  };
  walk(dashboard, false);
  return { exprs, variableQueries };
}
