import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { deliveryKey, parseConnectDeliveryYielding } from '@countersign/connect';
import {
  DirectoryPayloadStore,
  type DeliveryEvidence,
  type PayloadRef,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import type { DeliveryContext } from './delivery-context.js';
import { DeliveryQueues, type EnqueueOutcome } from './delivery-queues.js';

/** The 200 answer: only sent once Redis holds the job (or already held it). */
export interface DeliveryReceipt {
  readonly status: EnqueueOutcome;
  readonly deliveryId: string;
}

/**
 * What happens to a delivery that passed every check: the body is parsed, the verified envelope
 * built (large bodies go to the payload store), and the job enqueued before the answer.
 */
@Injectable()
export class DeliveryIntakeService {
  private readonly logger = new Logger(DeliveryIntakeService.name);
  private readonly payloads: DirectoryPayloadStore;

  constructor(
    @Inject(LISTENER_SETTINGS) private readonly settings: ListenerSettings,
    private readonly queues: DeliveryQueues,
    private readonly metrics: ListenerMetrics,
  ) {
    this.payloads = new DirectoryPayloadStore(settings.env.LISTENER_PAYLOAD_DIR);
  }

  async accept(
    delivery: DeliveryContext & { profile: { name: string } },
    body: Buffer,
    contentType: string | undefined,
  ): Promise<DeliveryReceipt> {
    const evidence = this.evidenceOf(delivery);
    // a body over 1 MiB is read in steps, so a 32 MiB delivery does not stall the small ones
    const parsed = await parseConnectDeliveryYielding(body, contentType);

    if (!parsed.ok) {
      if (parsed.reason === 'body_unsupported_media_type') {
        throw new DeliveryRejection(parsed.reason, parsed.detail);
      }
      await this.queues.enqueueQuarantined({
        version: 1,
        deliveryId: delivery.deliveryId,
        profile: delivery.profile.name,
        receivedAt: delivery.receivedAt.toISOString(),
        reason: parsed.reason,
        detail: parsed.detail,
        evidence,
        payload: await this.payloadOf(body, contentType ?? ''),
      });
      throw new DeliveryRejection(parsed.reason, `${parsed.detail} (kept in quarantine)`);
    }

    const envelope: VerifiedEnvelope = {
      version: 1,
      deliveryId: delivery.deliveryId,
      deliveryKey: deliveryKey(parsed.event),
      profile: delivery.profile.name,
      receivedAt: delivery.receivedAt.toISOString(),
      event: parsed.event,
      evidence,
      payload: await this.payloadOf(body, contentType ?? ''),
    };
    // TODO(payload GC): a duplicate over the inline threshold leaves its stored copy behind; the
    // store is content-addressed, so only a sweep that knows live references can remove it
    const status = await this.queues.enqueueEnvelope(envelope);

    this.metrics.deliveries.inc({ profile: envelope.profile, outcome: status, reason: '' });
    this.logger.log({
      msg: status === 'enqueued' ? 'delivery enqueued' : 'redelivery answered, not enqueued again',
      deliveryId: envelope.deliveryId,
      profile: envelope.profile,
      event: envelope.event.event,
      envelopeId: envelope.event.envelopeId,
      checks: evidence.checks,
    });
    return { status, deliveryId: envelope.deliveryId };
  }

  private evidenceOf(delivery: DeliveryContext): DeliveryEvidence {
    return {
      checks: [...delivery.passed],
      certificate: delivery.certificate,
      token: delivery.token,
      hmac: delivery.hmac,
      basic: delivery.basic,
    };
  }

  private async payloadOf(body: Buffer, contentType: string): Promise<PayloadRef> {
    if (body.length <= this.settings.env.LISTENER_INLINE_PAYLOAD_MAX_BYTES) {
      return {
        kind: 'inline',
        contentType,
        base64: body.toString('base64'),
        sha256: createHash('sha256').update(body).digest('base64url'),
        size: body.length,
      };
    }
    let stored: { ref: string; sha256: string; size: number };
    try {
      stored = await this.payloads.put(body);
    } catch (error) {
      this.logger.error({ msg: 'payload store write failed', error: (error as Error).message });
      throw new DeliveryRejection('queue_unavailable', 'payload store write failed');
    }
    return { kind: 'stored', contentType, ...stored };
  }
}
