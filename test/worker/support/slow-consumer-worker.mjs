// A worker process for the signal tests: the built worker (dist/) with one slow consumer that
// journals when each job starts and ends. Run `npm run build` (or the worker's tsc build) first.
import 'reflect-metadata';
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module } from '@nestjs/common';
import { ConnectConsumer, runWorkerProcess } from '../../../dist/apps/worker/src/index.js';

const journal = process.env.TEST_JOURNAL;
const jobMs = Number(process.env.TEST_JOB_MS ?? '2000');
if (!journal) throw new Error('TEST_JOURNAL is required');

class SlowConsumer {
  async handle(envelope) {
    appendFileSync(journal, `start ${envelope.deliveryId} ${process.pid}\n`);
    await sleep(jobMs);
    appendFileSync(journal, `done ${envelope.deliveryId} ${process.pid}\n`);
  }
}
ConnectConsumer({ name: 'slow', events: ['*'], attempts: 3 })(SlowConsumer);

class SlowConsumerModule {}
Module({ providers: [SlowConsumer] })(SlowConsumerModule);

await runWorkerProcess([SlowConsumerModule]);
