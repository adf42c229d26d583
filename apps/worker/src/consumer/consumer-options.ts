/** Retention of finished jobs: BullMQ keeps at most `count` and drops those older than `ageSeconds`. */
export interface RetentionOptions {
  readonly count: number;
  readonly ageSeconds: number;
}

/** How a consumer declares itself with `@ConnectConsumer`. */
export interface ConnectConsumerOptions {
  /** Unique kebab-case name; also names the consumer's queue (`consumer-<name>`). */
  readonly name: string;
  /** Event names to receive; `*` matches any run of characters (`envelope-*`, or `*` for all). */
  readonly events: readonly string[];
  /** Only deliveries received on these listener profiles; every profile when absent. */
  readonly profiles?: readonly string[];
  /** Jobs one process runs at the same time. Default 1. */
  readonly concurrency?: number;
  /** Attempts before the job becomes a dead letter. Default 5. */
  readonly attempts?: number;
  /** Retry delay: exponential with jitter by default (1 s, 2 s, 4 s... each up to 50% shorter). */
  readonly backoff?: {
    readonly type: 'exponential' | 'fixed';
    readonly delayMs: number;
    readonly jitter?: number;
  };
  /** Rate limit over all processes of this consumer: at most `max` jobs per `durationMs`. */
  readonly limiter?: { readonly max: number; readonly durationMs: number };
  /** Kept finished jobs, bounded so Redis does not grow without end. */
  readonly retention?: {
    readonly completed?: RetentionOptions;
    readonly failed?: RetentionOptions;
  };
}

/** A consumer's options with every default applied and every rule checked. */
export interface ResolvedConsumerOptions {
  readonly name: string;
  readonly events: readonly string[];
  readonly profiles?: readonly string[];
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoff: {
    readonly type: 'exponential' | 'fixed';
    readonly delayMs: number;
    readonly jitter: number;
  };
  readonly limiter?: { readonly max: number; readonly durationMs: number };
  readonly retention: { readonly completed: RetentionOptions; readonly failed: RetentionOptions };
}

export const CONSUMER_DEFAULTS = {
  concurrency: 1,
  attempts: 5,
  backoff: { type: 'exponential', delayMs: 1000, jitter: 0.5 },
  retention: {
    completed: { count: 1000, ageSeconds: 24 * 60 * 60 },
    failed: { count: 5000, ageSeconds: 7 * 24 * 60 * 60 },
  },
} as const;

const CONSUMER_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const EVENT_PATTERN = /^[A-Za-z0-9*._-]+$/;

/** Why a consumer declaration cannot start. */
export class ConsumerDeclarationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsumerDeclarationError';
  }
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < 1) {
    throw new ConsumerDeclarationError(`${what} must be a positive integer, got ${resolved}`);
  }
  return resolved;
}

/** Applies defaults and checks a declaration; `where` names the class in error messages. */
export function resolveConsumerOptions(
  options: ConnectConsumerOptions,
  where: string,
): ResolvedConsumerOptions {
  const name = String(options.name ?? '');
  if (!CONSUMER_NAME.test(name)) {
    throw new ConsumerDeclarationError(
      `${where}: consumer name "${name}" must be kebab-case (a-z, 0-9, -), at most 63 characters`,
    );
  }
  const label = `consumer "${name}" (${where})`;

  const declared: unknown = options.events;
  const events = Array.isArray(declared) ? (declared as unknown[]) : [];
  if (events.length === 0) {
    throw new ConsumerDeclarationError(`${label} subscribes to no event: list at least one`);
  }
  for (const pattern of events) {
    if (typeof pattern !== 'string' || pattern.trim() === '') {
      throw new ConsumerDeclarationError(`${label} has a blank event pattern`);
    }
    if (!EVENT_PATTERN.test(pattern)) {
      throw new ConsumerDeclarationError(`${label} has an invalid event pattern "${pattern}"`);
    }
  }
  if (options.profiles !== undefined) {
    if (options.profiles.length === 0 || options.profiles.some((p) => p.trim() === '')) {
      throw new ConsumerDeclarationError(`${label} lists no profile or a blank one`);
    }
  }

  const backoff = options.backoff ?? CONSUMER_DEFAULTS.backoff;
  const jitter = backoff.jitter ?? (backoff.type === 'exponential' ? 0.5 : 0);
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new ConsumerDeclarationError(`${label}: backoff.jitter must be between 0 and 1`);
  }
  if (!Number.isInteger(backoff.delayMs) || backoff.delayMs < 0) {
    throw new ConsumerDeclarationError(`${label}: backoff.delayMs must be a whole number >= 0`);
  }

  const limiter = options.limiter;
  if (limiter) {
    positiveInteger(limiter.max, 1, `${label}: limiter.max`);
    positiveInteger(limiter.durationMs, 1, `${label}: limiter.durationMs`);
  }

  const retention = {
    completed: options.retention?.completed ?? CONSUMER_DEFAULTS.retention.completed,
    failed: options.retention?.failed ?? CONSUMER_DEFAULTS.retention.failed,
  };
  for (const [kind, keep] of Object.entries(retention)) {
    positiveInteger(keep.count, 1, `${label}: retention.${kind}.count`);
    positiveInteger(keep.ageSeconds, 1, `${label}: retention.${kind}.ageSeconds`);
  }

  return {
    name,
    events: events as string[],
    profiles: options.profiles ? [...options.profiles] : undefined,
    concurrency: positiveInteger(
      options.concurrency,
      CONSUMER_DEFAULTS.concurrency,
      `${label}: concurrency`,
    ),
    attempts: positiveInteger(options.attempts, CONSUMER_DEFAULTS.attempts, `${label}: attempts`),
    backoff: { type: backoff.type, delayMs: backoff.delayMs, jitter },
    limiter: limiter ? { max: limiter.max, durationMs: limiter.durationMs } : undefined,
    retention,
  };
}
