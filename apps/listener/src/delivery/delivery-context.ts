import { randomUUID, type X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AccessTokenClaims, PresentedCertificate, Verdict } from '@countersign/security';
import type {
  CertificateEvidence,
  CheckName,
  HmacEvidence,
  TokenEvidence,
} from '@countersign/queue';
import type { DeliveryProfile } from '../profiles/delivery-profile.js';

/** What the guards learn about one delivery, in the order they run. */
export interface DeliveryContext {
  readonly deliveryId: string;
  readonly receivedAt: Date;
  profile?: DeliveryProfile;
  readonly passed: CheckName[];
  certificate?: CertificateEvidence;
  token?: TokenEvidence;
  tokenClaims?: AccessTokenClaims;
  hmac?: HmacEvidence;
  basic?: { readonly username: string };
  /** The client certificate of this connection (or forwarded by the proxy), read once. */
  connectionCertificate?: Verdict<PresentedCertificate | undefined>;
  /** The raw body, read once by whichever step needs it first. */
  body?: Promise<Buffer>;
}

const contexts = new WeakMap<IncomingMessage, DeliveryContext>();

/** Starts the context of a delivery; called by the first guard. */
export function startDelivery(request: IncomingMessage, now = new Date()): DeliveryContext {
  const context: DeliveryContext = { deliveryId: randomUUID(), receivedAt: now, passed: [] };
  contexts.set(request, context);
  return context;
}

/** The context of a delivery, if the profile guard has started one. */
export function findDelivery(request: IncomingMessage): DeliveryContext | undefined {
  return contexts.get(request);
}

/** The context with its profile; guards after the profile guard rely on both. */
export function deliveryOf(
  request: IncomingMessage,
): DeliveryContext & { profile: DeliveryProfile } {
  const context = contexts.get(request);
  if (context?.profile === undefined) {
    // a guard ran without the profile guard before it: a wiring mistake, never client input
    throw new Error('delivery context missing: the profile guard must run first');
  }
  return context as DeliveryContext & { profile: DeliveryProfile };
}

/** The leaf certificate of the connection, when one was presented (for the binding check). */
export function connectionLeaf(context: DeliveryContext): X509Certificate | undefined {
  const read = context.connectionCertificate;
  return read?.ok ? read.evidence?.leaf : undefined;
}
