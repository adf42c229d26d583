import {
  HOST_PORT_LIST,
  IsHostPortList,
  IsRedisUrl,
  parseHostPortList,
  validateConfig,
} from '@countersign/common';
import { loadQueueBoardConfig, type QueueBoardConfig } from '../board/queue-board.config.js';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

/** What one worker process runs. */
export const WORKER_ROLES = ['dispatcher', 'consumers', 'all'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

const CONSUMER_NAME_LIST = /^[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*$/;

// env values are strings; a blank value means "not set" so a default still applies
const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const trimmed = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().replace(/\s*,\s*/g, ',') : value;

/** Where the worker's Redis is; shared by the worker and the dead-letters CLI. */
export class RedisEnvironment {
  @IsString()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  @IsRedisUrl()
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Comma list of `host:port` seed nodes; when set, the worker talks to a Redis Cluster. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(HOST_PORT_LIST, { message: 'REDIS_CLUSTER_NODES must be a comma list of host:port' })
  @IsHostPortList()
  REDIS_CLUSTER_NODES?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'QUEUE_PREFIX may use letters, digits, _ . -' })
  QUEUE_PREFIX = 'countersign';
}

/** The dead-letters CLI's environment: Redis, and where the listener keeps large bodies. */
export class CliEnvironment extends RedisEnvironment {
  /** Needed only to show a quarantined body kept in the payload store. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  WORKER_PAYLOAD_DIR?: string;
}

/** The worker's environment, validated once at start-up. Property names are the env var names. */
export class WorkerEnvironment extends RedisEnvironment {
  @IsIn(WORKER_ROLES)
  WORKER_ROLE: WorkerRole = 'all';

  /** Comma list of consumer names this process runs; empty means every registered consumer. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(CONSUMER_NAME_LIST, { message: 'WORKER_CONSUMERS must be a comma list of names' })
  WORKER_CONSUMERS?: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HTTP_PORT = 8090;

  @IsString()
  @MinLength(1)
  WORKER_HTTP_HOST = '0.0.0.0';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  WORKER_SHUTDOWN_GRACE_MS = 25_000;

  /** How often stalled jobs (of a crashed worker) are looked for, and how long a job lock lasts. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  WORKER_STALLED_INTERVAL_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  WORKER_LOCK_DURATION_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_DISPATCHER_CONCURRENCY = 10;

  /** The listener's payload store (bodies over its inline threshold). Required to run consumers. */
  @ValidateIf((env: WorkerEnvironment) => env.WORKER_ROLE !== 'dispatcher')
  @Matches(/\S/, { message: 'WORKER_PAYLOAD_DIR is required when this process runs consumers' })
  WORKER_PAYLOAD_DIR?: string;

  /** Where `document-archive` writes PDFs; checked when that consumer starts. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  WORKER_ARCHIVE_DIR?: string;

  /** The JSON-lines file `audit-log` appends to; checked when that consumer starts. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  WORKER_AUDIT_LOG_FILE?: string;

  @IsIn(LOG_LEVELS)
  WORKER_LOG_LEVEL: LogLevel = 'info';
}

/** The typed configuration the worker's services receive. */
export interface WorkerConfig {
  readonly redis:
    | { readonly mode: 'single'; readonly url: string }
    | { readonly mode: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };
  readonly queuePrefix: string;
  readonly role: WorkerRole;
  /** Consumers to run; undefined means all registered. */
  readonly consumers?: readonly string[];
  readonly http: { readonly host: string; readonly port: number };
  readonly shutdownGraceMs: number;
  readonly stalledIntervalMs: number;
  readonly lockDurationMs: number;
  readonly dispatcherConcurrency: number;
  readonly payloadDir?: string;
  readonly archiveDir?: string;
  readonly auditLogFile?: string;
  readonly logLevel: LogLevel;
  /** Who may open the queue board; undefined leaves the board off. */
  readonly board?: QueueBoardConfig;
}

function setValues(env: Record<string, string | undefined>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') plain[name] = value;
  }
  return plain;
}

function redisSettings(valid: RedisEnvironment): WorkerConfig['redis'] {
  if (!valid.REDIS_CLUSTER_NODES) return { mode: 'single', url: valid.REDIS_URL };
  return {
    mode: 'cluster',
    nodes: parseHostPortList(valid.REDIS_CLUSTER_NODES),
  };
}

/** Reads what the dead-letters CLI needs: Redis, and the payload store for quarantined bodies. */
export function loadCliConfig(
  env: Record<string, string | undefined>,
): Pick<WorkerConfig, 'redis' | 'queuePrefix' | 'payloadDir'> {
  const valid = validateConfig(CliEnvironment, setValues(env), { source: 'environment' });
  return {
    redis: redisSettings(valid),
    queuePrefix: valid.QUEUE_PREFIX,
    payloadDir: valid.WORKER_PAYLOAD_DIR,
  };
}

/** Reads and validates the worker's environment; throws ConfigurationError naming each problem. */
export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const set = setValues(env);
  const valid = validateConfig(WorkerEnvironment, set, { source: 'environment' });
  const board = loadQueueBoardConfig(set as Record<string, string>);

  return {
    redis: redisSettings(valid),
    queuePrefix: valid.QUEUE_PREFIX,
    role: valid.WORKER_ROLE,
    consumers: valid.WORKER_CONSUMERS ? [...new Set(valid.WORKER_CONSUMERS.split(','))] : undefined,
    http: { host: valid.WORKER_HTTP_HOST, port: valid.WORKER_HTTP_PORT },
    shutdownGraceMs: valid.WORKER_SHUTDOWN_GRACE_MS,
    stalledIntervalMs: valid.WORKER_STALLED_INTERVAL_MS,
    lockDurationMs: valid.WORKER_LOCK_DURATION_MS,
    dispatcherConcurrency: valid.WORKER_DISPATCHER_CONCURRENCY,
    payloadDir: valid.WORKER_PAYLOAD_DIR,
    archiveDir: valid.WORKER_ARCHIVE_DIR,
    auditLogFile: valid.WORKER_AUDIT_LOG_FILE,
    logLevel: valid.WORKER_LOG_LEVEL,
    board,
  };
}
