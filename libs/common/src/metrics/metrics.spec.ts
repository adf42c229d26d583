import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY, MetricsModule } from './metrics.js';

describe('MetricsModule', () => {
  let app: INestApplication;
  let url: string;
  let registry: Registry;

  beforeAll(async () => {
    app = await NestFactory.create(MetricsModule.forRoot('metrics-test'), { logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    url = `http://127.0.0.1:${port}/metrics`;
    registry = app.get<Registry>(METRICS_REGISTRY);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("answers GET /metrics with the registry's content type (Prometheus text), never HTML", async () => {
    const answer = await fetch(url);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(registry.contentType);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await answer.text()).toMatch(/^# HELP process_cpu_user_seconds_total /m);
  });

  it('labels every series with the app it belongs to', async () => {
    const text = await (await fetch(url)).text();
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

    expect(samples.length).toBeGreaterThan(0);
    expect(samples.filter((line) => !line.includes('app="metrics-test"'))).toEqual([]);
  });
});
