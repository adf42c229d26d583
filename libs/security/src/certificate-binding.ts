import type { X509Certificate } from 'node:crypto';

import type { AccessTokenClaims } from './access-token.verifier.js';
import { thumbprintS256, thumbprintsEqual } from './thumbprint.js';
import { accept, reject, type Verdict } from './verdict.js';

const X5T_S256 = 'x5t#S256';

/**
 * Checks the RFC 8705 binding of a verified token to the client certificate: a `cnf` must carry
 * `x5t#S256` equal (constant time) to the certificate's thumbprint; no `cnf` passes only when
 * binding is not `required`.
 */
export function checkCertificateBinding(
  claims: AccessTokenClaims,
  cert: X509Certificate | undefined,
  required: boolean,
): Verdict<{ bound: boolean; thumbprint?: string }> {
  const cnf = claims.cnf;
  if (cnf === undefined) {
    return required ? reject('token_not_bound') : accept({ bound: false });
  }
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    return reject('token_cnf_unsupported', 'cnf is not an object');
  }

  const expected = cnf[X5T_S256];
  if (expected === undefined) {
    return reject('token_cnf_unsupported', 'cnf has no x5t#S256 member');
  }
  if (typeof expected !== 'string') {
    return reject('token_cnf_unsupported', 'cnf x5t#S256 is not a string');
  }
  if (cert === undefined) {
    return reject('token_bound_without_certificate');
  }

  const thumbprint = thumbprintS256(cert);
  if (!thumbprintsEqual(thumbprint, expected)) {
    return reject('token_binding_mismatch');
  }
  return accept({ bound: true, thumbprint });
}
