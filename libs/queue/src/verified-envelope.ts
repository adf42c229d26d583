import type { ConnectEvent } from '@countersign/connect';

/** The checks a listener profile can require, in the order the guards run them. */
export const CHECK_NAMES = ['mtls', 'oauth', 'basic', 'bound-token', 'hmac'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** What the client certificate check proved. */
export interface CertificateEvidence {
  readonly source: 'tls' | 'forwarded';
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly thumbprint: string;
  readonly notAfter: string;
}

/** What the bearer token check proved (never the token itself). */
export interface TokenEvidence {
  readonly issuer: string;
  readonly clientId: string;
  readonly subject: string;
  readonly jti: string;
  readonly scope: readonly string[];
  readonly expiresAt: string;
  /** The x5t#S256 the token is bound to, when it is bound. */
  readonly boundThumbprint?: string;
}

/** Which HMAC key matched which `X-DocuSign-Signature-N` header. */
export interface HmacEvidence {
  readonly keyId: string;
  readonly header: number;
}

/** The evidence of every check a delivery passed. */
export interface DeliveryEvidence {
  readonly checks: readonly CheckName[];
  readonly certificate?: CertificateEvidence;
  readonly token?: TokenEvidence;
  readonly hmac?: HmacEvidence;
  readonly basic?: { readonly username: string };
}

/** The raw body, inline when small, otherwise a reference into the payload store. */
export type PayloadRef =
  | {
      readonly kind: 'inline';
      readonly contentType: string;
      /** The exact body bytes, base64. */
      readonly base64: string;
      readonly sha256: string;
      readonly size: number;
    }
  | {
      readonly kind: 'stored';
      readonly contentType: string;
      /** Store-relative reference, e.g. the file name in the payload directory. */
      readonly ref: string;
      readonly sha256: string;
      readonly size: number;
    };

/** A delivery that passed every check of its profile: what the listener enqueues. */
export interface VerifiedEnvelope {
  readonly version: 1;
  /** One id per HTTP delivery, carried through every log line and job. */
  readonly deliveryId: string;
  /** Stable identity of the event (same for a redelivery), from libs/connect. */
  readonly deliveryKey: string;
  readonly profile: string;
  readonly receivedAt: string;
  readonly event: ConnectEvent;
  readonly evidence: DeliveryEvidence;
  readonly payload: PayloadRef;
}

/** A body that passed authentication but could not be parsed, kept so it is not lost. */
export interface QuarantinedDelivery {
  readonly version: 1;
  readonly deliveryId: string;
  readonly profile: string;
  readonly receivedAt: string;
  readonly reason: string;
  readonly detail: string;
  readonly evidence: DeliveryEvidence;
  readonly payload: PayloadRef;
}

/** A verified envelope handed to one consumer's queue by the dispatcher. */
export interface ConsumerJob {
  readonly consumer: string;
  readonly envelope: VerifiedEnvelope;
}

/** A consumer job that used up its attempts. */
export interface DeadLetter {
  readonly consumer: string;
  readonly originalJobId: string;
  readonly envelope: VerifiedEnvelope;
  readonly error: string;
  readonly attemptsMade: number;
  readonly failedAt: string;
}
