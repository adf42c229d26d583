import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';

import { AuthMetrics } from '../../apps/auth-server/src/metrics/auth-metrics.js';
import type { AuthServerConfig } from '../../apps/auth-server/src/config/auth-server.config.js';
import { ListenerMetrics } from '../../apps/listener/src/metrics/listener-metrics.js';
import { WorkerMetrics } from '../../apps/worker/src/metrics/worker-metrics.js';

// The Grafana dashboard and the Prometheus configuration under docker/observability/ must name
// only series the apps really register, so a renamed metric shows up here, not as an empty panel.

const OBSERVABILITY = resolve(import.meta.dirname, '../../docker/observability');

interface DashboardPanel {
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
}

async function registeredSeries(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new ListenerMetrics(registry);
  new WorkerMetrics(registry);
  new AuthMetrics(registry, {} as AuthServerConfig);
  const names = new Set<string>(['up']);
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    // prom-client declares a numeric enum but reports the type as a string
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

function seriesIn(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  return [
    ...withoutLabels.matchAll(
      /\b(countersign_[a-z0-9_]+|nodejs_[a-z0-9_]+|process_[a-z0-9_]+|up)\b/g,
    ),
  ].map((match) => match[1]);
}

describe('docker/observability', () => {
  it('queries only series the apps register in every dashboard panel', async () => {
    const dashboard = JSON.parse(
      await readFile(resolve(OBSERVABILITY, 'grafana/dashboards/countersign.json'), 'utf8'),
    ) as { panels: DashboardPanel[] };
    const registered = await registeredSeries();

    const queried = dashboard.panels
      .filter((panel) => panel.type !== 'row')
      .flatMap((panel) => (panel.targets ?? []).flatMap((target) => seriesIn(target.expr)));

    expect(queried.length).toBeGreaterThan(20);
    expect(queried.filter((name) => !registered.has(name))).toEqual([]);
  });

  it('shows every countersign series the apps register somewhere on the dashboard', async () => {
    const text = await readFile(
      resolve(OBSERVABILITY, 'grafana/dashboards/countersign.json'),
      'utf8',
    );
    const registered = [...(await registeredSeries())].filter(
      (name) => name.startsWith('countersign_') && !/_(bucket|sum|count)$/.test(name),
    );

    expect(registered.filter((name) => !text.includes(name))).toEqual([]);
  });

  it('scrapes the auth-server, the listener and the worker', async () => {
    const config = parse(
      await readFile(resolve(OBSERVABILITY, 'prometheus/prometheus.yml'), 'utf8'),
    ) as { scrape_configs: Array<{ job_name: string; metrics_path?: string }> };

    const jobs = config.scrape_configs.map((job) => job.job_name);

    expect(jobs).toEqual(
      expect.arrayContaining([
        'countersign-auth-server',
        'countersign-listener',
        'countersign-worker',
      ]),
    );
  });
});
