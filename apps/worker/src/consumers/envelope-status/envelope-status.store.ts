import { Inject, Injectable } from '@nestjs/common';
import type { WorkerConfig } from '../../config/worker.config.js';
import type { RedisConnection } from '../../redis/redis-connection.js';
import { REDIS_CONNECTION, WORKER_CONFIG } from '../../worker.tokens.js';

/** The latest known status of one envelope. */
export interface EnvelopeStatus {
  readonly envelopeId: string;
  readonly status: string;
  /** The event that set it, e.g. `envelope-completed`. */
  readonly event: string;
  /** When DocuSign says the status changed (ISO 8601), or null when the event had no time. */
  readonly asOf: string | null;
  readonly deliveryId: string;
  readonly updatedAt: string;
}

/**
 * Envelope ids as DocuSign issues them, in the JSON and the XML Connect formats alike: a GUID
 * (8-4-4-4-12 hex digits). Anything else is refused before it can become part of a Redis key.
 */
export const ENVELOPE_ID =
  /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** What an answer says when an envelope id is refused. */
export const ENVELOPE_ID_RULE =
  'envelopeId must be a DocuSign envelope id: a GUID such as 3f9c2d14-7b4e-4c8a-a1d6-5e2f8b0c9d37';

/** Whether `value` is an envelope id (see ENVELOPE_ID). */
export function isEnvelopeId(value: string): boolean {
  return ENVELOPE_ID.test(value);
}

// Later statuses win a tie on the timestamp (DocuSign's clock has 10 ms steps on some paths).
const STATUS_RANK: Readonly<Record<string, number>> = {
  created: 0,
  sent: 1,
  delivered: 2,
  signed: 3,
  completed: 4,
  declined: 4,
  voided: 4,
};

/*
 * Compare-and-set in one script, so two workers applying two events of one envelope at the same
 * time cannot let the older one win. Equal times: the higher (or equal) rank wins.
 */
const APPLY_IF_NEWER = `
local current = redis.call('HMGET', KEYS[1], 'asOfMs', 'rank')
if current[1] then
  local currentAsOf = tonumber(current[1])
  local incomingAsOf = tonumber(ARGV[1])
  if currentAsOf > incomingAsOf then return 0 end
  if currentAsOf == incomingAsOf and (tonumber(current[2]) or 1) > tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], 'asOfMs', ARGV[1], 'rank', ARGV[2], 'record', ARGV[3])
return 1
`;

/** Latest envelope statuses in Redis; an event older than the stored one changes nothing. */
@Injectable()
export class EnvelopeStatusStore {
  constructor(
    @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  private key(envelopeId: string): string {
    // callers check first; this keeps a key from ever holding arbitrary input
    if (!isEnvelopeId(envelopeId)) throw new RangeError(ENVELOPE_ID_RULE);
    // GUIDs compare without case: the XML format may carry capitals, the JSON format does not
    return `${this.config.queuePrefix}:envelope-status:${envelopeId.toLowerCase()}`;
  }

  /** Stores `status` unless a newer one is already known; returns whether it was stored. */
  async apply(status: EnvelopeStatus): Promise<boolean> {
    const asOfMs = status.asOf ? Date.parse(status.asOf) : 0;
    const rank = Object.hasOwn(STATUS_RANK, status.status) ? STATUS_RANK[status.status] : 1;
    const applied = await this.redis.eval(
      APPLY_IF_NEWER,
      1,
      this.key(status.envelopeId),
      String(Number.isFinite(asOfMs) ? asOfMs : 0),
      String(rank),
      JSON.stringify(status),
    );
    return applied === 1;
  }

  /** The latest status of an envelope, or undefined when none was seen. */
  async get(envelopeId: string): Promise<EnvelopeStatus | undefined> {
    const record = await this.redis.hget(this.key(envelopeId), 'record');
    return record ? (JSON.parse(record) as EnvelopeStatus) : undefined;
  }
}
