import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardQueries, familiesOf, metricNamesIn, metricNamesInVariableQuery, resolves } from '../../support/promql-names.ts';

test('a plain selector, with matchers and a range', () => {
  assert.deepEqual(metricNamesIn('up'), ['up']);
  assert.deepEqual(metricNamesIn('rate(http_requests_total{job="api", code=~"5.."}[5m])'), ['http_requests_total']);
});

test('functions, aggregations and their label lists are not metrics', () => {
  assert.deepEqual(
    metricNamesIn('histogram_quantile(0.99, sum by (le, verb) (rate(rest_seconds_bucket{ns=~"$namespace"}[$__rate_interval])))'),
    ['rest_seconds_bucket'],
  );
  assert.deepEqual(metricNamesIn('sum(rate(a_total[5m])) by (reason) / ignoring(reason) group_left sum(rate(b_count[5m]))'), ['a_total', 'b_count']);
  assert.deepEqual(metricNamesIn('(max(leader{namespace="x"}) or vector(0)) < 1'), ['leader']);
});

test('binary operators, keywords, numbers with exponents, offsets, bool', () => {
  assert.deepEqual(
    metricNamesIn('(held_epoch * 1e9 + held_seq) < on (app) group_left () max by (app) (cur_epoch * 1e9 + cur_seq) and bool x offset 5m unless y @ 1700000000'),
    ['held_epoch', 'held_seq', 'cur_epoch', 'cur_seq', 'x', 'y'],
  );
});

test('label values and strings never count, even when they look like names', () => {
  assert.deepEqual(metricNamesIn('count(a{phase="degraded"}) + label_replace(b, "dst", "$1", "src", "(not_a_metric)")'), ['a', 'b']);
});

test('Grafana variable queries', () => {
  assert.deepEqual(metricNamesInVariableQuery('label_values(version_observer_leader, namespace)'), ['version_observer_leader']);
  assert.deepEqual(metricNamesInVariableQuery('label_values(a{x="1"}, pod)'), ['a']);
  assert.deepEqual(metricNamesInVariableQuery('query_result(sum by (pod) (b))'), ['b']);
  assert.deepEqual(metricNamesInVariableQuery('label_values(namespace)'), []);
});

test('histogram and summary series resolve to their family; others do not', () => {
  const families = familiesOf('# HELP h_seconds x\n# TYPE h_seconds histogram\n# TYPE s summary\n# TYPE c_total counter\n# TYPE g gauge\ng 1\n');
  for (const ok of ['h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count', 'h_seconds', 's_sum', 's_count', 'c_total', 'g']) assert.ok(resolves(ok, families), ok);
  for (const missing of ['s_bucket', 'c_total_count', 'g_sum', 'c', 'nope']) assert.ok(!resolves(missing, families), missing);
});

test('dashboard queries: panel targets in rows, annotations, variable queries (string or object form)', () => {
  const dashboard = {
    annotations: { list: [{ expr: 'ann_total' }] },
    panels: [{ type: 'row', panels: [{ targets: [{ expr: 'inner' }] }] }, { targets: [{ expr: 'outer' }] }],
    templating: { list: [{ type: 'query', query: { query: 'label_values(v1, x)' } }, { type: 'query', query: 'label_values(v2, y)' }, { type: 'datasource', query: 'prometheus' }] },
  };
  const q = dashboardQueries(dashboard);
  assert.deepEqual(q.exprs.sort(), ['ann_total', 'inner', 'outer']);
  assert.deepEqual(q.variableQueries, ['label_values(v1, x)', 'label_values(v2, y)']);
});
