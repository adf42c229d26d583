import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { redisOptionsFromUrl } from '@countersign/common';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import { DirectoryPayloadStore, type PayloadRef } from '@countersign/queue';
import { Redis } from 'ioredis';

import { loadFixtureDeliveries, type Delivery } from '../simulator/deliveries.js';
import { ConnectSimulator, type AttackMode, type DeliveryOutcome } from '../simulator/simulator.js';
import { loadSimulatorSettings } from '../simulator/simulator-settings.js';
import {
  allSettled,
  archivedFiles,
  auditedKeys,
  ConsumptionProbe,
  SHIPPED_CONSUMERS,
  type KeyProgress,
  type ShippedConsumer,
} from './consumption.js';
import type { DevPkiProvider } from './dev-pki-paths.js';
import { repoRoot } from './repo-root.js';
import { startStack, type RunningStack } from './stack.js';

export interface DemoOptions {
  /** Development material directory (default `<repo>/.countersign`). */
  readonly dir?: string;
  /** This run's payloads, archive, audit log and logs (default `<dir>/demo-runs/<time>`). */
  readonly runDir?: string;
  readonly fixturesDir?: string;
  readonly redisUrl?: string;
  /** Default: a fresh `countersign-demo-<random>` whose keys are deleted afterwards. */
  readonly queuePrefix?: string;
  readonly keepRedisKeys?: boolean;
  readonly consumeTimeoutMs?: number;
  readonly pkiProvider?: DevPkiProvider;
  readonly say?: (line: string) => void;
}

/** One attack the demo sends, and the refusal reason the listener should give. */
export interface DemoAttack {
  readonly mode: AttackMode;
  readonly label: string;
  readonly fixture: string;
  readonly attacker: 'unrelated-ca' | 'other-subject';
  readonly expectedReason: string;
}

export const DEMO_ATTACKS: readonly DemoAttack[] = [
  {
    mode: 'tampered-body',
    label: 'tampered-body',
    fixture: 'envelope-completed.json',
    attacker: 'other-subject',
    expectedReason: 'hmac_mismatch',
  },
  {
    mode: 'no-signature',
    label: 'no-signature',
    fixture: 'envelope-sent.json',
    attacker: 'other-subject',
    expectedReason: 'hmac_signature_missing',
  },
  {
    mode: 'wrong-certificate',
    label: 'wrong-certificate (untrusted CA)',
    fixture: 'envelope-voided.json',
    attacker: 'unrelated-ca',
    expectedReason: 'certificate_not_trusted',
  },
  {
    mode: 'wrong-certificate',
    label: 'wrong-certificate (trusted CA, other subject)',
    fixture: 'envelope-voided.json',
    attacker: 'other-subject',
    expectedReason: 'certificate_subject_mismatch',
  },
  {
    mode: 'token-bound-to-other-certificate',
    label: 'token-bound-to-other-certificate',
    fixture: 'envelope-declined.json',
    attacker: 'other-subject',
    expectedReason: 'token_binding_mismatch',
  },
];

/** One line of the outcome table. */
export interface DemoRow {
  readonly delivery: string;
  readonly kind: 'genuine' | 'attack';
  readonly status?: number;
  /** `enqueued` / `duplicate`, the listener's reason code, or a transport error. */
  readonly answer: string;
  readonly expectedReason?: string;
  readonly consumers: Readonly<Record<ShippedConsumer, string>>;
  /** Genuine: accepted and consumed by every subscribed consumer. Attack: refused. */
  readonly ok: boolean;
}

export interface DemoReport {
  readonly rows: readonly DemoRow[];
  readonly ok: boolean;
  readonly runDir: string;
  readonly queuePrefix: string;
  readonly tokenRequests: number;
}

const NOT_APPLICABLE = Object.fromEntries(SHIPPED_CONSUMERS.map((name) => [name, '-'])) as Record<
  ShippedConsumer,
  string
>;

/**
 * The demo: brings the stack up, sends every fixture over the full chain (mTLS + bound token +
 * HMAC), sends the attacks, waits for the consumers, reads what they did, and stops the stack.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const say = options.say ?? ((line: string) => console.log(line));
  const root = repoRoot();
  const dir = resolve(options.dir ?? join(root, '.countersign'));
  const runDir = resolve(
    options.runDir ?? join(dir, 'demo-runs', new Date().toISOString().replace(/[:.]/g, '-')),
  );
  const ownPrefix = options.queuePrefix === undefined;
  const queuePrefix = options.queuePrefix ?? `countersign-demo-${randomBytes(4).toString('hex')}`;

  say(`starting the stack (logs in ${join(runDir, 'logs')})`);
  const stack = await startStack({
    dir,
    runDir,
    redisUrl: options.redisUrl,
    queuePrefix,
    ports: 'ephemeral',
    logs: 'files',
    // small enough that the deliveries carrying PDFs go through the payload store
    inlinePayloadMaxBytes: 2048,
    pkiProvider: options.pkiProvider,
    say,
  });

  try {
    return await exercise(stack, {
      fixturesDir: options.fixturesDir ?? join(root, 'test/fixtures/connect'),
      consumeTimeoutMs: options.consumeTimeoutMs ?? 30_000,
      runDir,
      queuePrefix,
      say,
    });
  } finally {
    await stack.stop();
    if (ownPrefix && !options.keepRedisKeys) {
      await deleteKeys(stack.redis.url, queuePrefix).catch(() => undefined);
    }
  }
}

async function exercise(
  stack: RunningStack,
  context: {
    fixturesDir: string;
    consumeTimeoutMs: number;
    runDir: string;
    queuePrefix: string;
    say: (line: string) => void;
  },
): Promise<DemoReport> {
  const settings = await loadSimulatorSettings(stack.config.files.simulator);
  const deliveries = await loadFixtureDeliveries(context.fixturesDir);
  const byName = new Map(deliveries.map((delivery) => [delivery.name, delivery]));

  // genuine deliveries: Connect's certificate, a token bound to it, HMAC over the exact bytes
  const connect = new ConnectSimulator({ ...settings, retryDelaysMs: [250, 500] });
  const genuine: DeliveryOutcome[] = [];
  try {
    context.say(`sending ${deliveries.length} fixtures as Connect`);
    genuine.push(...(await connect.run(deliveries)));
  } finally {
    connect.close();
  }

  const attacks: { attack: DemoAttack; outcome: DeliveryOutcome }[] = [];
  const unrelated = {
    cert: await readFile(stack.material.pki.unrelatedClient.cert, 'utf8'),
    key: await readFile(stack.material.pki.unrelatedClient.key, 'utf8'),
  };
  context.say(`sending ${DEMO_ATTACKS.length} attacks`);
  for (const attack of DEMO_ATTACKS) {
    const delivery = byName.get(attack.fixture) ?? deliveries[0];
    const attacker = new ConnectSimulator({
      ...settings,
      attacker: attack.attacker === 'unrelated-ca' ? unrelated : settings.attacker,
    });
    try {
      const outcome = await attacker.attack(attack.mode, delivery);
      attacks.push({ attack, outcome: { ...outcome, name: `${delivery.name} [${attack.label}]` } });
    } finally {
      attacker.close();
    }
  }

  // wait until every accepted delivery was dispatched and every consumer job finished
  const keys = new Map<string, string>();
  for (const outcome of genuine) {
    const delivery = byName.get(outcome.name);
    const parsed = delivery && parseConnectDelivery(delivery.body, delivery.contentType);
    if (outcome.ok && parsed?.ok) keys.set(outcome.name, deliveryKey(parsed.event));
  }
  const probe = new ConsumptionProbe(stack.redis.url, context.queuePrefix);
  let progress: Map<string, KeyProgress>;
  let audited: Set<string>;
  try {
    context.say('waiting for the consumers');
    const deadline = Date.now() + context.consumeTimeoutMs;
    const wanted = [...new Set(keys.values())];
    for (;;) {
      progress = await probe.progress(wanted);
      audited = await auditedKeys(stack.layout.auditLogFile);
      const done = allSettled(progress) && wanted.every((key) => audited.has(key));
      if (done || Date.now() > deadline) break;
      await sleep(250);
    }
  } finally {
    await probe.close();
  }

  const rows: DemoRow[] = [];
  for (const outcome of genuine) {
    const key = keys.get(outcome.name);
    const delivery = byName.get(outcome.name);
    rows.push(
      await genuineRow(stack, outcome, key ? progress.get(key) : undefined, key, audited, delivery),
    );
  }
  for (const { attack, outcome } of attacks) {
    rows.push({
      delivery: outcome.name,
      kind: 'attack',
      status: outcome.status,
      answer: outcome.answer ?? outcome.error ?? '',
      expectedReason: attack.expectedReason,
      consumers: NOT_APPLICABLE,
      ok: outcome.ok,
    });
  }

  return {
    rows,
    ok: rows.every((row) => row.ok),
    runDir: context.runDir,
    queuePrefix: context.queuePrefix,
    tokenRequests: connect.tokenRequests,
  };
}

async function genuineRow(
  stack: RunningStack,
  outcome: DeliveryOutcome,
  progress: KeyProgress | undefined,
  key: string | undefined,
  audited: ReadonlySet<string>,
  delivery: Delivery | undefined,
): Promise<DemoRow> {
  const base = {
    delivery: outcome.name,
    kind: 'genuine' as const,
    status: outcome.status,
    answer: outcome.answer ?? outcome.error ?? '',
  };
  if (!outcome.ok || !progress || !key || !delivery) {
    return { ...base, consumers: NOT_APPLICABLE, ok: false };
  }
  const parsed = parseConnectDelivery(delivery.body, delivery.contentType);
  const event = parsed.ok ? parsed.event : undefined;
  const envelopeId = event?.envelopeId;

  const consumers = {} as Record<ShippedConsumer, string>;
  let incomplete = false;
  for (const name of SHIPPED_CONSUMERS) {
    const state = progress.consumers[name];
    if (state !== 'completed') {
      consumers[name] = state === 'none' ? '-' : state.toUpperCase();
      continue;
    }
    switch (name) {
      case 'audit-log':
        consumers[name] = !audited.has(key)
          ? 'completed, NO LINE'
          : (await readableFromStore(stack.layout.payloadDir, progress.payload))
            ? 'recorded (body in payload store)'
            : 'recorded';
        incomplete ||= !audited.has(key);
        break;
      case 'envelope-status':
        consumers[name] = envelopeId
          ? await statusCell(stack.config.urls.worker, envelopeId)
          : 'done';
        break;
      case 'document-archive': {
        // the archive names each file `<documentId>-<name>.pdf` under the envelope's directory
        const files = envelopeId ? await archivedFiles(stack.layout.archiveDir, envelopeId) : [];
        const documents = event?.documents ?? [];
        const found = documents.filter((document) =>
          files.some((file) => file.startsWith(`${document.documentId}-`)),
        );
        consumers[name] =
          documents.length > 0
            ? `${found.length}/${documents.length} PDF archived`
            : 'no documents';
        incomplete ||= found.length < documents.length;
        break;
      }
    }
  }

  const states = Object.values(progress.consumers);
  const consumed =
    progress.dispatch === 'completed' &&
    states.includes('completed') &&
    states.every((state) => state === 'completed' || state === 'none') &&
    audited.has(key) &&
    !incomplete;
  return { ...base, consumers, ok: consumed };
}

/** True when the body went through the payload store and reads back with its digest. */
async function readableFromStore(payloadDir: string, payload: PayloadRef | undefined) {
  if (payload?.kind !== 'stored') return false;
  try {
    await new DirectoryPayloadStore(payloadDir).get(payload.ref, payload.sha256);
    return true;
  } catch {
    return false;
  }
}

async function statusCell(workerUrl: string, envelopeId: string): Promise<string> {
  try {
    const answer = await fetch(`${workerUrl}/envelopes/${encodeURIComponent(envelopeId)}/status`);
    if (!answer.ok) return `status ${answer.status}`;
    const body = (await answer.json()) as { status?: string };
    return `now ${body.status ?? '?'}`;
  } catch {
    return 'status unavailable';
  }
}

/** Deletes the keys this demo run created (its own prefix only). */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis({ ...redisOptionsFromUrl(redisUrl), lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The outcome table, one row per delivery. */
export function formatDemoTable(report: DemoReport): string {
  const header = ['delivery', 'listener', ...SHIPPED_CONSUMERS, 'verdict'];
  const body = report.rows.map((row) => [
    row.delivery,
    `${row.status ?? '-'} ${row.answer}`.trim(),
    ...SHIPPED_CONSUMERS.map((name) => row.consumers[name]),
    row.kind === 'genuine'
      ? row.ok
        ? 'consumed'
        : 'NOT CONSUMED'
      : row.ok
        ? row.answer === row.expectedReason
          ? 'refused'
          : `refused (expected ${row.expectedReason})`
        : 'NOT REFUSED',
  ]);
  const widths = header.map((_, column) =>
    Math.max(...[header, ...body].map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  return [
    line(header),
    widths.map((width) => '-'.repeat(width)).join('-|-'),
    ...body.map(line),
  ].join('\n');
}
