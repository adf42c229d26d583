import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';

import { certificateFacts } from './certificate-facts.js';
import { distinguishedNamesMatch, parseDistinguishedName } from './distinguished-name.js';
import { accept, reject, type Verdict } from './verdict.js';

/** One RFC 8705 §2.1.2 subject value a client certificate must carry (exactly one member). */
export type SubjectRule =
  | { subjectDn: string }
  | { sanDns: string }
  | { sanUri: string }
  | { sanIp: string }
  | { sanEmail: string };

/** Checks the certificate against one subject rule; SAN matching is exact (no wildcards). */
export function matchSubject(
  cert: X509Certificate,
  rule: SubjectRule,
): Verdict<{ matched: string }> {
  try {
    return matchRule(cert, rule);
  } catch {
    return reject('certificate_subject_mismatch', 'certificate could not be read');
  }
}

function matchRule(cert: X509Certificate, rule: SubjectRule): Verdict<{ matched: string }> {
  if (Object.keys(rule).length !== 1) {
    return reject('certificate_policy_invalid', 'a subject rule has exactly one member');
  }

  if ('subjectDn' in rule) {
    const expected = parseDistinguishedName(rule.subjectDn);
    if (!expected.ok || expected.evidence.length === 0) {
      return reject('certificate_policy_invalid', 'subjectDn is not an RFC 4514 DN');
    }
    return distinguishedNamesMatch(certificateFacts(cert).subject, expected.evidence)
      ? accept({ matched: `subjectDn:${rule.subjectDn}` })
      : reject('certificate_subject_mismatch', 'subject DN differs');
  }

  if ('sanDns' in rule) {
    if (rule.sanDns.length === 0) {
      return reject('certificate_policy_invalid', 'sanDns is empty');
    }
    const options = { subject: 'never', wildcards: false, partialWildcards: false } as const;
    return cert.checkHost(rule.sanDns, options) !== undefined
      ? accept({ matched: `sanDns:${rule.sanDns}` })
      : reject('certificate_subject_mismatch', 'no matching dNSName');
  }

  if ('sanEmail' in rule) {
    if (rule.sanEmail.length === 0) {
      return reject('certificate_policy_invalid', 'sanEmail is empty');
    }
    return cert.checkEmail(rule.sanEmail, { subject: 'never' }) !== undefined
      ? accept({ matched: `sanEmail:${rule.sanEmail}` })
      : reject('certificate_subject_mismatch', 'no matching rfc822Name');
  }

  if ('sanIp' in rule) {
    if (isIP(rule.sanIp) === 0) {
      return reject('certificate_policy_invalid', 'sanIp is not an IP address');
    }
    // OpenSSL converts both sides to bytes, so `::1` equals `0:0:0:0:0:0:0:1`
    return cert.checkIP(rule.sanIp) !== undefined
      ? accept({ matched: `sanIp:${rule.sanIp}` })
      : reject('certificate_subject_mismatch', 'no matching iPAddress');
  }

  if ('sanUri' in rule) {
    if (rule.sanUri.length === 0) {
      return reject('certificate_policy_invalid', 'sanUri is empty');
    }
    return certificateFacts(cert).sanUris.includes(rule.sanUri)
      ? accept({ matched: `sanUri:${rule.sanUri}` })
      : reject('certificate_subject_mismatch', 'no matching uniformResourceIdentifier');
  }

  return reject('certificate_policy_invalid', 'unknown subject rule');
}
