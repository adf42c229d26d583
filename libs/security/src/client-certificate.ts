import type { X509Certificate } from 'node:crypto';

import { checkValidity } from './certificate.js';
import { certificateFacts } from './certificate-facts.js';
import { matchSubject, type SubjectRule } from './subject-rule.js';
import { matchesPinnedThumbprint, thumbprintS256 } from './thumbprint.js';
import { verifyCertificateChain, type TrustBundle } from './trust-bundle.js';
import { accept, reject, type Rejected, type Verdict } from './verdict.js';

/**
 * What a client certificate must satisfy. At least one of `trust` or a non-empty `pins` is
 * required (a policy with neither rejects every certificate: fail closed). `subjects`, when
 * non-empty, must have at least one rule that matches.
 */
export interface CertificatePolicy {
  trust?: TrustBundle;
  subjects?: SubjectRule[];
  pins?: string[];
}

/** The client certificate as the listener received it: on its own TLS socket or from a proxy. */
export type PresentedCertificate =
  | { source: 'tls'; leaf?: X509Certificate; authorized: boolean; authorizationError?: string }
  | { source: 'forwarded'; leaf: X509Certificate; chain: X509Certificate[] };

/** What an accepted client certificate proved, safe to log. */
export interface CertificateEvidence {
  source: 'tls' | 'forwarded';
  subject: string;
  issuer: string;
  serialNumber: string;
  thumbprint: string;
  notAfter: string;
}

const EXPIRED_ERRORS = new Set(['CERT_HAS_EXPIRED']);
const NOT_YET_VALID_ERRORS = new Set(['CERT_NOT_YET_VALID']);

/** Checks a client certificate in order: presence, trust, validity, subject, pins. */
export function evaluateClientCertificate(
  presented: PresentedCertificate,
  policy: CertificatePolicy,
  now: Date = new Date(),
): Verdict<CertificateEvidence> {
  const pins = policy.pins ?? [];
  if (policy.trust === undefined && pins.length === 0) {
    return reject('certificate_policy_invalid', 'a policy needs a trust bundle or pins');
  }

  const leaf = presented.leaf;
  if (leaf === undefined) {
    return reject('certificate_missing');
  }

  if (policy.trust !== undefined) {
    const trusted = checkTrust(presented, leaf, policy.trust, now);
    if (trusted !== undefined) {
      return trusted;
    }
  }

  const validity = checkValidity(leaf, now);
  if (!validity.ok) {
    return validity;
  }

  const subjects = policy.subjects ?? [];
  if (subjects.length > 0) {
    const verdicts = subjects.map((rule) => matchSubject(leaf, rule));
    if (!verdicts.some((verdict) => verdict.ok)) {
      const invalidRule = verdicts.some(
        (verdict) => !verdict.ok && verdict.reason === 'certificate_policy_invalid',
      );
      return invalidRule
        ? reject('certificate_policy_invalid', 'a subject rule is invalid')
        : reject('certificate_subject_mismatch');
    }
  }

  if (pins.length > 0 && !matchesPinnedThumbprint(leaf, pins)) {
    return reject('certificate_not_pinned');
  }

  const facts = certificateFacts(leaf);
  return accept({
    source: presented.source,
    subject: facts.subjectDn,
    issuer: facts.issuerDn,
    serialNumber: leaf.serialNumber,
    thumbprint: thumbprintS256(leaf),
    notAfter: validity.evidence.notAfter.toISOString(),
  });
}

function checkTrust(
  presented: PresentedCertificate,
  leaf: X509Certificate,
  trust: TrustBundle,
  now: Date,
): Rejected | undefined {
  if (presented.source === 'tls') {
    if (presented.authorized) {
      return undefined;
    }
    const error = presented.authorizationError ?? 'unauthorized';
    if (EXPIRED_ERRORS.has(error)) {
      return reject('certificate_expired', error);
    }
    if (NOT_YET_VALID_ERRORS.has(error)) {
      return reject('certificate_not_yet_valid', error);
    }
    return reject('certificate_not_trusted', error);
  }

  const chain = verifyCertificateChain(leaf, presented.chain, trust, now);
  return chain.ok ? undefined : chain;
}
