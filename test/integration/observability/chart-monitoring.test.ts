/**
 * The chart's monitoring objects (helm only, no cluster): off by default; when on, the
 * PodMonitor finds the sidecars the way the chart's NOTES tell app teams to add them (label
 * version-observer.io/app, admin port named vo-admin), and the dashboard ConfigMap carries the
 * label Grafana's sidecar selects by and the dashboard file verbatim.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { APP_LABEL } from '../../../src/core/labels.ts';
import { chartDir, find, render } from '../packaging/support.ts';

const monitoringValues = `${chartDir}/ci/monitoring-values.yaml`;

describe('chart monitoring objects', () => {
  it('are off by default', async () => {
    const kinds = (await render()).map((o) => o.kind);
    for (const k of ['PodMonitor', 'PrometheusRule', 'ConfigMap']) assert.ok(!kinds.includes(k), k);
  });

  it('PodMonitor: pods with the app label, port vo-admin (the name NOTES gives it), /metrics, the listed namespaces or all', async () => {
    const pm = find(await render({ valuesFiles: [monitoringValues] }), 'PodMonitor') as any;
    assert.deepEqual(pm.spec.selector, { matchExpressions: [{ key: APP_LABEL, operator: 'Exists' }] });
    assert.deepEqual(pm.spec.podMetricsEndpoints.map((e: any) => [e.port, e.path]), [['vo-admin', '/metrics']]);
    assert.deepEqual(pm.spec.namespaceSelector, { matchNames: ['shop', 'blog'] });
    assert.equal(pm.metadata.labels.release, 'prometheus');
    const all = find(await render({ set: ['monitoring.podMonitor.enabled=true'] }), 'PodMonitor') as any;
    assert.deepEqual(all.spec.namespaceSelector, { any: true });
    const notes = readFileSync(`${chartDir}/templates/NOTES.txt`, 'utf8');
    assert.match(notes, /name: vo-admin/, 'NOTES name the admin port as the PodMonitor selects it');
  });

  it('dashboard ConfigMap: the Grafana sidecar label (configurable), the namespace, the JSON verbatim', async () => {
    const cm = find(await render({ set: ['monitoring.grafanaDashboard.enabled=true', 'monitoring.grafanaDashboard.namespace=grafana'] }), 'ConfigMap') as any;
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    assert.equal(cm.metadata.namespace, 'grafana');
    const json = readFileSync(`${chartDir}/dashboards/version-observer.json`, 'utf8');
    assert.deepEqual(JSON.parse(cm.data['version-observer.json']), JSON.parse(json));
    const relabelled = find(await render({ valuesFiles: [monitoringValues] }), 'ConfigMap') as any;
    assert.equal(relabelled.metadata.labels.team, 'platform');
    assert.equal(relabelled.metadata.annotations.grafana_folder, 'version-observer');
  });

  it('PrometheusRule: thresholds from values; alertLabels may replace the severity', async () => {
    const rule = find(await render({ valuesFiles: [monitoringValues], set: ['monitoring.prometheusRule.alertLabels.severity=page'] }), 'PrometheusRule') as any;
    const rules = rule.spec.groups[0].rules as Array<{ alert: string; for: string; labels: Record<string, string> }>;
    assert.equal(rules.find((r) => r.alert === 'VersionObserverAppDegraded')!.for, '1h');
    for (const r of rules) assert.deepEqual(r.labels, { severity: 'page', team: 'platform' }, r.alert);
  });
});
