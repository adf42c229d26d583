import type { X509Certificate } from 'node:crypto';

import { checkValidity, parseCertificateChain } from './certificate.js';
import { certificateFacts } from './certificate-facts.js';
import { accept, reject, type Verdict } from './verdict.js';

/** The CA certificates a forwarded client certificate must chain to (kept apart from system roots). */
export interface TrustBundle {
  readonly anchors: readonly X509Certificate[];
}

const MAX_CHAIN_LENGTH = 8;

/** Builds a trust bundle from PEM text holding one or more CA certificates. */
export function createTrustBundle(pem: string): Verdict<TrustBundle> {
  const parsed = parseCertificateChain(pem);
  if (!parsed.ok) {
    return parsed;
  }
  for (const anchor of parsed.evidence) {
    if (!isCertificateAuthority(anchor)) {
      return reject('certificate_policy_invalid', `trust anchor ${anchor.subject} is not a CA`);
    }
  }
  return accept({ anchors: parsed.evidence });
}

/**
 * Verifies a FORWARDED certificate's chain: every link's signature, CA basicConstraints (and
 * pathLen, keyCertSign) on issuers, validity of every link, ending at a bundle anchor.
 *
 * The path is built with node's OpenSSL-backed `checkIssued`/`verify` because they are
 * synchronous; @peculiar/x509 reads the extensions. A direct TLS socket uses `socket.authorized`.
 */
export function verifyCertificateChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  bundle: TrustBundle,
  now: Date = new Date(),
): Verdict<{ chain: X509Certificate[] }> {
  if (bundle.anchors.length === 0) {
    return reject('certificate_policy_invalid', 'empty trust bundle');
  }

  const leafValidity = checkValidity(leaf, now);
  if (!leafValidity.ok) {
    return leafValidity;
  }

  const pool = intermediates.filter((cert) => !cert.raw.equals(leaf.raw));
  const chain = buildPath([leaf], pool, bundle.anchors, now);
  if (chain === undefined) {
    return reject('certificate_not_trusted', 'no valid path to a trust anchor');
  }
  return accept({ chain });
}

function buildPath(
  path: X509Certificate[],
  pool: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: Date,
): X509Certificate[] | undefined {
  const current = path[path.length - 1];
  // intermediate CAs below the next issuer, which its pathLenConstraint limits
  const intermediatesBelow = path.length - 1;

  for (const anchor of anchors) {
    if (issuedBy(current, anchor, intermediatesBelow, now)) {
      return [...path, anchor];
    }
  }
  if (path.length >= MAX_CHAIN_LENGTH) {
    return undefined;
  }
  for (const candidate of pool) {
    if (path.some((cert) => cert.raw.equals(candidate.raw))) {
      continue;
    }
    if (issuedBy(current, candidate, intermediatesBelow, now)) {
      const found = buildPath([...path, candidate], pool, anchors, now);
      if (found !== undefined) {
        return found;
      }
    }
  }
  return undefined;
}

function issuedBy(
  child: X509Certificate,
  issuer: X509Certificate,
  intermediatesBelow: number,
  now: Date,
): boolean {
  try {
    return (
      child.checkIssued(issuer) &&
      child.verify(issuer.publicKey) &&
      isCertificateAuthority(issuer, intermediatesBelow) &&
      checkValidity(issuer, now).ok
    );
  } catch {
    return false;
  }
}

function isCertificateAuthority(cert: X509Certificate, intermediatesBelow = 0): boolean {
  const authority = certificateFacts(cert).authority;
  if (authority === undefined) {
    return false;
  }
  return authority.pathLength === undefined || intermediatesBelow <= authority.pathLength;
}
