import { Module, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ConnectConsumer } from './connect-consumer.decorator.js';
import type { ConnectConsumerHandler } from './connect-consumer-handler.js';
import { CONSUMER_DEFAULTS } from './consumer-options.js';
import { ConsumerRegistry } from './consumer-registry.js';

async function registryWith(...consumers: Type[]): Promise<ConsumerRegistry> {
  @Module({ providers: consumers })
  class ConsumersModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule, ConsumersModule],
    providers: [ConsumerRegistry],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(ConsumerRegistry);
}

const noop = () => Promise.resolve();

@ConnectConsumer({ name: 'audit', events: ['*'] })
class Audit implements ConnectConsumerHandler {
  handle = noop;
}

@ConnectConsumer({ name: 'audit', events: ['envelope-*'] })
class AnotherAudit implements ConnectConsumerHandler {
  handle = noop;
}

@ConnectConsumer({ name: 'silent', events: [] })
class NoEvents implements ConnectConsumerHandler {
  handle = noop;
}

@ConnectConsumer({ name: 'blank', events: ['envelope-sent', '  '] })
class BlankPattern implements ConnectConsumerHandler {
  handle = noop;
}

@ConnectConsumer({ name: 'No_Kebab', events: ['*'] })
class BadName implements ConnectConsumerHandler {
  handle = noop;
}

@ConnectConsumer({ name: 'no-handler', events: ['*'] })
class NoHandler {}

@ConnectConsumer({
  name: 'tuned',
  events: ['envelope-completed'],
  concurrency: 4,
  attempts: 2,
  limiter: { max: 10, durationMs: 1000 },
})
class Tuned implements ConnectConsumerHandler {
  handle = noop;
}

describe('ConsumerRegistry', () => {
  it('discovers decorated providers with their defaults applied', async () => {
    const registry = await registryWith(Audit, Tuned);
    const [audit, tuned] = registry.all();
    expect(audit.options).toMatchObject({
      name: 'audit',
      events: ['*'],
      concurrency: 1,
      attempts: CONSUMER_DEFAULTS.attempts,
      backoff: { type: 'exponential', delayMs: 1000, jitter: 0.5 },
      retention: CONSUMER_DEFAULTS.retention,
    });
    expect(tuned.options).toMatchObject({
      concurrency: 4,
      attempts: 2,
      limiter: { max: 10, durationMs: 1000 },
    });
    expect(audit.handler).toBeInstanceOf(Audit);
  });

  it('fails start-up when two consumers share a name', async () => {
    const registry = await registryWith(Audit, AnotherAudit);
    expect(() => registry.all()).toThrow(/two consumers are named "audit"/);
  });

  it('fails start-up when a subscription names no event', async () => {
    const registry = await registryWith(NoEvents);
    expect(() => registry.all()).toThrow(/subscribes to no event/);
  });

  it('fails start-up when a subscription has a blank event pattern', async () => {
    const registry = await registryWith(BlankPattern);
    expect(() => registry.all()).toThrow(/blank event pattern/);
  });

  it('fails start-up on a consumer name that cannot name a queue', async () => {
    const registry = await registryWith(BadName);
    expect(() => registry.all()).toThrow(/must be kebab-case/);
  });

  it('fails start-up on a consumer class without handle()', async () => {
    const registry = await registryWith(NoHandler);
    expect(() => registry.all()).toThrow(/has no handle\(envelope\) method/);
  });

  it('selects named consumers and refuses a name nobody registered', async () => {
    const registry = await registryWith(Audit, Tuned);
    expect(registry.select(['tuned']).map((c) => c.options.name)).toEqual(['tuned']);
    expect(registry.select(undefined)).toHaveLength(2);
    expect(() => registry.select(['tuned', 'missing'])).toThrow(/unknown consumers: missing/);
  });
});
