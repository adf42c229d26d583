import { hash, timingSafeEqual, type X509Certificate } from 'node:crypto';

/** The RFC 8705 `x5t#S256` thumbprint: base64url (no padding) of SHA-256 over the DER bytes. */
export function thumbprintS256(cert: X509Certificate): string {
  return hash('sha256', cert.raw, 'base64url');
}

/** Compares two thumbprint strings in constant time (over digests, so lengths never leak). */
export function thumbprintsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** Whether the certificate's `x5t#S256` equals one of the pins; every pin is compared. */
export function matchesPinnedThumbprint(cert: X509Certificate, pins: readonly string[]): boolean {
  const thumbprint = thumbprintS256(cert);
  let matched = false;
  for (const pin of pins) {
    matched = thumbprintsEqual(thumbprint, pin) || matched;
  }
  return matched;
}

function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
