// The worker from dist/ with ledger consumers, run as a child process so tests can SIGKILL it.
// Every handle() call is recorded when it starts and when it finishes, in Redis under
// `<QUEUE_PREFIX>:ledger:*`, so a test can tell "processed once" from "processed twice".
//   LEDGER_CONSUMERS       comma list among ledger-a, ledger-b, flaky, broken (default ledger-a,ledger-b)
//   LEDGER_DELAY_MS        time each handle() takes before it records its completion (default 0)
//   LEDGER_FLAKY_FAILURES  how many calls `flaky` fails before it recovers (default 3)
// `broken` fails until the key `<QUEUE_PREFIX>:ledger:broken-fixed` exists.
import 'reflect-metadata';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  ConnectConsumer,
  createWorkerApp,
  loadWorkerConfig,
} from '../../../dist/apps/worker/src/index.js';

const config = loadWorkerConfig(process.env);
const root = `${config.queuePrefix}:ledger`;
const delayMs = Number(process.env.LEDGER_DELAY_MS ?? '0');
const flakyFailures = Number(process.env.LEDGER_FLAKY_FAILURES ?? '3');
const wanted = (process.env.LEDGER_CONSUMERS ?? 'ledger-a,ledger-b').split(',');
const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });

async function record(name, envelope, work) {
  const entry = `${name} ${envelope.deliveryKey}`;
  await redis.rpush(`${root}:started`, `${entry} ${envelope.attempt} ${process.pid}`);
  await work();
  if (delayMs > 0) await sleep(delayMs);
  await redis.hincrby(`${root}:done`, entry, 1);
}

function ledgerConsumer(name, options, work = async () => undefined) {
  class LedgerConsumer {
    handle(envelope) {
      return record(name, envelope, () => work(envelope));
    }
  }
  Object.defineProperty(LedgerConsumer, 'name', { value: `Ledger_${name.replace(/-/g, '_')}` });
  ConnectConsumer({ name, events: ['*'], ...options })(LedgerConsumer);
  return LedgerConsumer;
}

const consumers = {
  'ledger-a': ledgerConsumer('ledger-a', {
    attempts: 10,
    backoff: { type: 'fixed', delayMs: 100 },
  }),
  'ledger-b': ledgerConsumer('ledger-b', {
    attempts: 10,
    backoff: { type: 'fixed', delayMs: 100 },
  }),
  flaky: ledgerConsumer(
    'flaky',
    { attempts: 10, backoff: { type: 'fixed', delayMs: 100 } },
    async () => {
      const calls = await redis.incr(`${root}:flaky-calls`);
      if (calls <= flakyFailures) throw new Error(`flaky failure ${calls} of ${flakyFailures}`);
    },
  ),
  broken: ledgerConsumer(
    'broken',
    { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
    async () => {
      if ((await redis.exists(`${root}:broken-fixed`)) === 0) {
        throw new Error('downstream rejects every call');
      }
    },
  ),
};

class LedgerConsumersModule {}
Module({ providers: wanted.map((name) => consumers[name]) })(LedgerConsumersModule);

const app = await createWorkerApp(config, [LedgerConsumersModule]);
await app.listen(config.http.port, config.http.host);
process.stdout.write(`${JSON.stringify({ msg: 'ledger worker ready', pid: process.pid })}\n`);

process.once('SIGTERM', () => {
  app.close().then(
    () => {
      redis.disconnect();
      process.exit(0);
    },
    () => process.exit(1),
  );
});
