import { hash, timingSafeEqual, type X509Certificate } from 'node:crypto';

/** Thumbprints already computed: a certificate object never changes, and one delivery asks thrice. */
const thumbprints = new WeakMap<X509Certificate, string>();

/** The RFC 8705 `x5t#S256` thumbprint: base64url (no padding) of SHA-256 over the DER bytes. */
export function thumbprintS256(cert: X509Certificate): string {
  let thumbprint = thumbprints.get(cert);
  if (thumbprint === undefined) {
    // `raw` copies the DER out of OpenSSL on every read
    thumbprint = hash('sha256', cert.raw, 'base64url');
    thumbprints.set(cert, thumbprint);
  }
  return thumbprint;
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
