import type { ConnectParseReason } from '@countersign/connect';
import type { RejectionReason } from '@countersign/security';

/** Reasons only the listener itself produces (transport, routing, queueing). */
export const LISTENER_REJECTION_REASONS = [
  'profile_unknown',
  'body_too_large',
  'body_incomplete',
  'revocation_unavailable',
  'queue_unavailable',
] as const;

export type ListenerRejectionReason = (typeof LISTENER_REJECTION_REASONS)[number];

/** Every reason a delivery can be refused with: a check, the body, or the listener. */
export type DeliveryRejectionReason =
  RejectionReason | ConnectParseReason | ListenerRejectionReason;

/**
 * Thrown by a guard or the intake to refuse a delivery. The rejection filter turns it into the
 * HTTP answer; `detail` is for the operator's log and never reaches the client.
 */
export class DeliveryRejection extends Error {
  constructor(
    readonly reason: DeliveryRejectionReason,
    readonly detail?: string,
  ) {
    super(reason);
    this.name = 'DeliveryRejection';
  }
}
