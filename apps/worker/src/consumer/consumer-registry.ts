import { Injectable } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { CONNECT_CONSUMER_METADATA } from './connect-consumer.decorator.js';
import type { ConnectConsumerHandler } from './connect-consumer-handler.js';
import {
  ConsumerDeclarationError,
  resolveConsumerOptions,
  type ConnectConsumerOptions,
  type ResolvedConsumerOptions,
} from './consumer-options.js';

/** A discovered consumer: its checked options and the Nest-managed instance that handles jobs. */
export interface RegisteredConsumer {
  readonly options: ResolvedConsumerOptions;
  readonly handler: ConnectConsumerHandler;
  readonly className: string;
}

/**
 * Finds every `@ConnectConsumer` class in the application. Discovery fails (and with it start-up)
 * on a duplicate name, a subscription that names no event, or a class without `handle`.
 */
@Injectable()
export class ConsumerRegistry {
  private consumers?: readonly RegisteredConsumer[];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  /** Every registered consumer, in a stable order (by name). */
  all(): readonly RegisteredConsumer[] {
    this.consumers ??= this.discover();
    return this.consumers;
  }

  /** The consumers one process runs: `names` or, when absent, all. Unknown names fail. */
  select(names: readonly string[] | undefined): readonly RegisteredConsumer[] {
    const all = this.all();
    if (names === undefined) return all;
    const unknown = names.filter((name) => !all.some((c) => c.options.name === name));
    if (unknown.length > 0) {
      throw new ConsumerDeclarationError(
        `WORKER_CONSUMERS names unknown consumers: ${unknown.join(', ')} ` +
          `(registered: ${all.map((c) => c.options.name).join(', ') || 'none'})`,
      );
    }
    return all.filter((c) => names.includes(c.options.name));
  }

  private discover(): RegisteredConsumer[] {
    const found: RegisteredConsumer[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const metatype = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
      if (!metatype || typeof metatype !== 'function') continue;
      const declared = this.reflector.get<ConnectConsumerOptions | undefined>(
        CONNECT_CONSUMER_METADATA,
        metatype,
      );
      if (!declared) continue;

      const className = metatype.name;
      const options = resolveConsumerOptions(declared, className);
      if (!wrapper.isDependencyTreeStatic() || !wrapper.instance) {
        throw new ConsumerDeclarationError(
          `consumer "${options.name}" (${className}) must be a singleton provider`,
        );
      }
      const handler = wrapper.instance as Partial<ConnectConsumerHandler>;
      if (typeof handler.handle !== 'function') {
        throw new ConsumerDeclarationError(
          `consumer "${options.name}" (${className}) has no handle(envelope) method`,
        );
      }
      const clash = found.find((c) => c.options.name === options.name);
      if (clash) {
        throw new ConsumerDeclarationError(
          `two consumers are named "${options.name}": ${clash.className} and ${className}`,
        );
      }
      found.push({ options, handler: handler as ConnectConsumerHandler, className });
    }
    return found.sort((a, b) => a.options.name.localeCompare(b.options.name));
  }
}
