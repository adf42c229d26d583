import { Transform, Type } from 'class-transformer';
import { HOST_PORT_LIST, IsHostPortList, IsRedisUrl } from '@countersign/common';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Whether `value` is one of the allowed token signing algorithms. */
export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return SIGNING_ALGORITHMS.some((alg) => alg === value);
}

/** Trims a list and the spaces around its commas; a blank value means "not set". */
function trimmedList({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim().replace(/\s*,\s*/g, ',');
  return trimmed === '' ? undefined : trimmed;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The auth-server's environment; property names are the variable names themselves. */
export class AuthServerEnv {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  AUTH_PORT = 8443;

  @IsString()
  @MinLength(1)
  AUTH_HOST = '0.0.0.0';

  // one exact string, used as `iss` and in metadata; never normalised (no trailing slash added)
  @IsString()
  @Matches(/^https:\/\/[^\s?#]+$/, { message: 'must be an https URL without query or fragment' })
  AUTH_ISSUER!: string;

  @IsString()
  @MinLength(1)
  AUTH_TLS_CERT_FILE!: string;

  @IsString()
  @MinLength(1)
  AUTH_TLS_KEY_FILE!: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  AUTH_CLIENT_CA_FILE?: string;

  @IsIn(['TLSv1.2', 'TLSv1.3'])
  AUTH_TLS_MIN_VERSION: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2';

  @IsString()
  @MinLength(1)
  AUTH_CLIENTS_FILE!: string;

  @IsString()
  @MinLength(1)
  AUTH_KEYS_DIR = '.countersign/auth-server/keys';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  AUTH_KEYS_RELOAD_SECONDS = 30;

  @IsIn(SIGNING_ALGORITHMS)
  AUTH_SIGNING_ALG: SigningAlgorithm = 'ES256';

  @Type(() => Number)
  @IsInt()
  @Min(30)
  @Max(3600)
  AUTH_TOKEN_TTL_SECONDS = 300;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100000)
  AUTH_RATE_LIMIT_MAX_FAILURES = 10;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86400)
  AUTH_RATE_LIMIT_WINDOW_SECONDS = 300;

  @IsIn(LOG_LEVELS)
  AUTH_LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @IsString()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })
  @IsRedisUrl()
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Comma list of `host:port` seed nodes; when set, the auth-server talks to a Redis Cluster. */
  @IsOptional()
  @Transform(trimmedList)
  @Matches(HOST_PORT_LIST, { message: 'must be a comma list of host:port' })
  @IsHostPortList()
  REDIS_CLUSTER_NODES?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 characters of [A-Za-z0-9_.-]' })
  QUEUE_PREFIX = 'countersign';
}
