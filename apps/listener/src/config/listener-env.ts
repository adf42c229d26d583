import { Transform, Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { HOST_PORT_LIST, IsHostPortList, IsRedisUrl } from '@countersign/common';

const MIB = 1024 * 1024;

/** `host:port` seed nodes, comma-separated (as for the worker). */

/** Trims a list and the spaces around its commas; a blank value means "not set". */
function trimmedList({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim().replace(/\s*,\s*/g, ',');
  return trimmed === '' ? undefined : trimmed;
}

function splitList({ value }: { value: unknown }): unknown {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;
}

/**
 * The listener's environment. Property names are the variable names, so a validation message
 * names exactly what to fix. No setting here is a secret: HMAC keys are read from the variables a
 * profile names, and only when its profile is compiled.
 */
export class ListenerEnv {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  LISTENER_PORT = 9443;

  @Matches(/\S/, { message: '$property must be a host name or address' })
  LISTENER_HOST = '0.0.0.0';

  /** `tls` terminates TLS here; `proxy` serves plain HTTP behind a TLS-terminating proxy. */
  @IsIn(['tls', 'proxy'])
  LISTENER_MODE: 'tls' | 'proxy' = 'tls';

  @ValidateIf((env: ListenerEnv) => env.LISTENER_MODE === 'tls')
  @Matches(/\S/, { message: '$property is required: a file path' })
  LISTENER_TLS_CERT_FILE?: string;

  @ValidateIf((env: ListenerEnv) => env.LISTENER_MODE === 'tls')
  @Matches(/\S/, { message: '$property is required: a file path' })
  LISTENER_TLS_KEY_FILE?: string;

  /** CA bundle offered in the TLS CertificateRequest; profiles may narrow trust further. */
  @IsOptional()
  @Matches(/\S/, { message: '$property must be a file path' })
  LISTENER_CLIENT_CA_FILE?: string;

  @Matches(/\S/, { message: '$property is required: a file path' })
  LISTENER_PROFILES_FILE!: string;

  @Type(() => Number)
  @IsInt()
  @Min(1024)
  LISTENER_BODY_LIMIT_BYTES = 32 * MIB;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  LISTENER_INLINE_PAYLOAD_MAX_BYTES = 256 * 1024;

  @Matches(/\S/, { message: '$property must be a directory path' })
  LISTENER_PAYLOAD_DIR = '.countersign/payloads';

  /** Proxy addresses (IPs or CIDRs) whose forwarded client certificate header is believed. */
  @ValidateIf((env: ListenerEnv) => env.LISTENER_MODE === 'proxy')
  @Transform(splitList)
  @IsArray({ message: '$property is required in proxy mode: proxy IPs or CIDRs, comma-separated' })
  @ArrayMinSize(1, { message: '$property must name at least one proxy address' })
  @IsString({ each: true })
  LISTENER_TRUSTED_PROXIES?: string[];

  @ValidateIf((env: ListenerEnv) => env.LISTENER_MODE === 'proxy')
  @IsIn(['nginx', 'envoy-xfcc', 'aws-alb', 'rfc9440'])
  LISTENER_FORWARDED_CERT_FORMAT?: 'nginx' | 'envoy-xfcc' | 'aws-alb' | 'rfc9440';

  @IsOptional()
  @Matches(/^[A-Za-z0-9-]+$/, { message: '$property must be an HTTP header name' })
  LISTENER_FORWARDED_CERT_HEADER?: string;

  /** Time a client has to send the request headers. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  LISTENER_HEADERS_TIMEOUT_MS = 15_000;

  /** Time a client has to send the whole request, body included (32 MB on a slow link). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  LISTENER_REQUEST_TIMEOUT_MS = 120_000;

  /** Upper bound on one enqueue; kept under 2 s so Connect gets its 503 quickly. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(1999)
  LISTENER_ENQUEUE_TIMEOUT_MS = 1500;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LISTENER_LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  @Matches(/^rediss?:\/\/.+/, { message: '$property must be a redis:// or rediss:// URL' })
  @IsRedisUrl()
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Comma list of `host:port` seed nodes; when set, the listener talks to a Redis Cluster. */
  @IsOptional()
  @Transform(trimmedList)
  @Matches(HOST_PORT_LIST, { message: '$property must be a comma list of host:port' })
  @IsHostPortList()
  REDIS_CLUSTER_NODES?: string;

  @Matches(/^[A-Za-z0-9_.-]+$/, { message: '$property may hold only letters, digits, _ . -' })
  QUEUE_PREFIX = 'countersign';
}
