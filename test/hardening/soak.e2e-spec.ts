import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HardeningStack } from './support/hardening-stack.js';
import { CONSUMERS, runSoak, type SoakReport } from './soak.js';

const DELIVERIES = Number(process.env.SOAK_DELIVERIES ?? '500');

describe(`soak: ${DELIVERIES} deliveries through the whole stack`, () => {
  let dir: string;
  let stack: HardeningStack;
  let report: SoakReport;

  beforeAll(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'cs-hardening-soak-'));
      stack = await HardeningStack.start(dir);
      report = await runSoak(stack, {
        deliveries: DELIVERIES,
        redeliverEvery: 20,
        attackEvery: 50,
        workerKillsAt: DELIVERIES >= 5000 ? [0.2, 0.4, 0.6, 0.8] : [0.4],
        lanes: 8,
      });
      process.stderr.write(
        `soak report: ${JSON.stringify({ ...report, notAccepted: report.notAccepted.length })}\n`,
      );
    },
    Math.max(180_000, DELIVERIES * 100),
  );

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every genuine delivery 200', () => {
    expect(report.notAccepted).toEqual([]);
    expect(report.accepted).toBe(DELIVERIES);
  });

  it('has every accepted delivery processed by each subscribed consumer', () => {
    expect(report.missing).toEqual([]);
  });

  it('runs a consumer twice for a delivery only when a worker kill cut that job short', () => {
    // consumer jobs are at-least-once: a SIGKILL after handle() returned but before the job was
    // marked complete runs it again, at most one job per consumer (concurrency 1) per kill
    expect(report.notExactlyOnce.length).toBeLessThanOrEqual(report.workerKills * CONSUMERS.length);
    expect(report.notExactlyOnce.filter((entry) => !entry.endsWith(' x2'))).toEqual([]);
  });

  it('answers each redelivery as a duplicate and does not process it again', () => {
    expect(report.redeliveries).toBeGreaterThanOrEqual(Math.floor(DELIVERIES / 20));
    expect(report.redeliveryAnswers).toEqual({ duplicate: report.redeliveries });
  });

  it('refuses every attack, and no consumer sees an attack body', () => {
    expect(report.attacks).toBeGreaterThanOrEqual(4);
    expect(report.attacksLetIn).toEqual([]);
    expect(report.attackKeysProcessed).toEqual([]);
  });

  it('survived a worker SIGKILL and restart during the run', () => {
    expect(report.workerKills).toBeGreaterThanOrEqual(1);
  });

  it('keeps the listener memory roughly flat', () => {
    const { warm, end } = report.listenerRssMb;
    expect(warm).toBeGreaterThan(0);
    expect(end).toBeLessThan(warm * 1.5 + 64);
  });
});
