import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import { generateDeliveries, type Delivery } from '../../tools/simulator/deliveries.js';
import {
  ATTACK_MODES,
  ConnectSimulator,
  type DeliveryOutcome,
} from '../../tools/simulator/simulator.js';
import { waitFor } from './support/hardening-harness.js';
import type { HardeningStack } from './support/hardening-stack.js';
import { LedgerReader } from './support/ledger.js';
import { REDIS_URL } from './support/hardening-harness.js';

/**
 * The soak run, shared by the short CI variant (soak.e2e-spec.ts) and the long one:
 *   SOAK_DELIVERIES=20000 NODE_OPTIONS=--experimental-vm-modules \
 *     npx jest test/hardening/soak --testTimeout=7200000
 */
export interface SoakOptions {
  readonly deliveries: number;
  /** One delivery in this many is sent again later (Connect's redelivery). */
  readonly redeliverEvery: number;
  /** One attack after this many genuine deliveries. */
  readonly attackEvery: number;
  /** The ledger worker is SIGKILLed and restarted at these fractions of the run. */
  readonly workerKillsAt: readonly number[];
  readonly lanes: number;
}

export interface SoakReport {
  readonly deliveries: number;
  readonly accepted: number;
  readonly notAccepted: readonly DeliveryOutcome[];
  readonly redeliveries: number;
  readonly redeliveryAnswers: Readonly<Record<string, number>>;
  readonly attacks: number;
  readonly attacksLetIn: readonly DeliveryOutcome[];
  readonly workerKills: number;
  /** `consumer key` entries whose completion count is not exactly one. */
  readonly notExactlyOnce: readonly string[];
  /** Accepted keys some consumer never completed. */
  readonly missing: readonly string[];
  /** Keys of attack bodies that a consumer processed anyway. */
  readonly attackKeysProcessed: readonly string[];
  readonly listenerRssMb: { readonly warm: number; readonly end: number; readonly peak: number };
  readonly seconds: number;
}

export const CONSUMERS = ['ledger-a', 'ledger-b'] as const;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0');
  return Math.round((kb / 1024) * 10) / 10;
}

function keyOf(delivery: Delivery): string {
  const parsed = parseConnectDelivery(delivery.body, delivery.contentType);
  if (!parsed.ok) throw new Error(`generated delivery does not parse: ${parsed.reason}`);
  return deliveryKey(parsed.event);
}

/** Sends the deliveries through the running stack and checks the ledger afterwards. */
export async function runSoak(stack: HardeningStack, options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const fixturesDir = join(process.cwd(), 'test/fixtures/connect');
  const attackCount = Math.max(
    ATTACK_MODES.length,
    Math.floor(options.deliveries / options.attackEvery),
  );
  const genuine = await generateDeliveries({
    fixturesDir,
    count: options.deliveries,
    format: 'json',
  });
  const attackBodies = await generateDeliveries({
    fixturesDir,
    count: attackCount,
    format: 'json',
  });

  const connect = new ConnectSimulator({
    ...stack.simulator,
    retryDelaysMs: [200, 400, 800, 1600],
  });
  const attacker = new ConnectSimulator({ ...stack.simulator, maxAttempts: 1 });
  const ledger = new LedgerReader(stack.prefix, REDIS_URL);

  const outcomes = new Map<number, DeliveryOutcome>();
  const redeliveryAnswers: Record<string, number> = {};
  const attacksLetIn: DeliveryOutcome[] = [];
  let redeliveries = 0;
  let attacks = 0;
  let next = 0;
  let warm = 0;
  let peak = 0;
  const kills = [...options.workerKillsAt].map((at) => Math.floor(at * options.deliveries));
  let killing: Promise<void> = Promise.resolve();
  let workerKills = 0;

  const lane = async () => {
    for (;;) {
      const index = next;
      next += 1;
      if (index >= genuine.length) return;

      if (kills.includes(index)) {
        const victim = stack.workers.at(-1);
        workerKills += 1;
        killing = killing.then(async () => {
          await victim?.kill('SIGKILL');
          await stack.startWorker();
        });
      }
      if (index === Math.floor(options.deliveries / 10)) warm = await rssMb(stack.listenerPid);
      if (index % 100 === 0) peak = Math.max(peak, await rssMb(stack.listenerPid));

      outcomes.set(index, await connect.deliver(genuine[index]));
      if (index % options.redeliverEvery === 0 && outcomes.get(index)?.ok) {
        const again = await connect.deliver(genuine[index]);
        redeliveries += 1;
        const answer = again.answer ?? `status ${again.status ?? 'none'}`;
        redeliveryAnswers[answer] = (redeliveryAnswers[answer] ?? 0) + 1;
      }
      if (index % options.attackEvery === 0 && attacks < attackBodies.length) {
        const mode = ATTACK_MODES[attacks % ATTACK_MODES.length];
        const outcome = await attacker.attack(mode, attackBodies[attacks]);
        attacks += 1;
        if (!outcome.ok) attacksLetIn.push(outcome);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.lanes }, lane));
    await killing;
  } finally {
    connect.close();
    attacker.close();
  }

  const acceptedKeys = [...outcomes.entries()]
    .filter(([, outcome]) => outcome.ok)
    .map(([index]) => keyOf(genuine[index]));
  try {
    await waitFor(
      () => ledger.complete(CONSUMERS, acceptedKeys),
      'every consumer to complete every accepted delivery',
      Math.max(60_000, options.deliveries * 20),
    ).catch(() => undefined);
    // give a duplicate (if there were one) time to show up before the ledger is read
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const done = await ledger.done();
    const end = await rssMb(stack.listenerPid);
    const attackKeys = new Set(attackBodies.slice(0, attacks).map(keyOf));

    return {
      deliveries: genuine.length,
      accepted: acceptedKeys.length,
      notAccepted: [...outcomes.values()].filter((outcome) => !outcome.ok),
      redeliveries,
      redeliveryAnswers,
      attacks,
      attacksLetIn,
      workerKills,
      notExactlyOnce: [...done.entries()]
        .filter(([, count]) => count !== 1)
        .map(([entry, count]) => `${entry} x${count}`),
      missing: acceptedKeys.filter((key) =>
        CONSUMERS.some((consumer) => !done.has(`${consumer} ${key}`)),
      ),
      attackKeysProcessed: [...done.keys()]
        .map((entry) => entry.split(' ')[1])
        .filter((key) => attackKeys.has(key)),
      listenerRssMb: { warm, end, peak: Math.max(peak, end) },
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    ledger.close();
  }
}
