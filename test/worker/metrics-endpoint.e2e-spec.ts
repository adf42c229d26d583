import type { INestApplication } from '@nestjs/common';
import { METRICS_REGISTRY } from '@countersign/common';
import type { Registry } from 'prom-client';
import { startWorker, testConfig, uniquePrefix } from './worker-harness.js';

describe('worker GET /metrics', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startWorker(
      testConfig(uniquePrefix(), { WORKER_ROLE: 'dispatcher' }),
      [],
    ));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers in the Prometheus text format with the content type of its registry, not HTML', async () => {
    const answer = await fetch(`${url}/metrics`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(
      app.get<Registry>(METRICS_REGISTRY).contentType,
    );
    expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    // nothing tells a scanner which framework answers
    expect(answer.headers.get('x-powered-by')).toBeNull();
    const text = await answer.text();
    expect(text).toMatch(/^# TYPE countersign_queue_depth gauge$/m);
    expect(text).not.toMatch(/<html/i);
  });
});
