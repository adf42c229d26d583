import 'reflect-metadata';
import { ShippedConsumersModule } from './consumers/shipped-consumers.module.js';
import { runWorkerProcess } from './worker.process.js';

await runWorkerProcess([ShippedConsumersModule]);
