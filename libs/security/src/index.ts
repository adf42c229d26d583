export {
  AccessTokenVerifier,
  hasScope,
  type AccessTokenAlgorithm,
  type AccessTokenClaims,
  type AccessTokenKeySource,
  type AccessTokenVerifierOptions,
} from './access-token.verifier.js';
export {
  formUrlDecode,
  parseBasicAuthorization,
  type BasicAuthorizationOptions,
} from './basic-authorization.js';
export { verifyBasicCredentials } from './basic-credentials.js';
export { checkCertificateBinding } from './certificate-binding.js';
export { certificateIssuerRdns, certificateSubjectRdns } from './certificate-facts.js';
export {
  checkValidity,
  parseCertificate,
  parseCertificateChain,
  parseCertificateDer,
} from './certificate.js';
export {
  evaluateClientCertificate,
  type CertificateEvidence,
  type CertificatePolicy,
  type PresentedCertificate,
} from './client-certificate.js';
export {
  computeConnectSignature,
  extractConnectSignatures,
  verifyConnectSignatures,
  type ConnectSignature,
  type HmacKey,
} from './connect-hmac.js';
export {
  distinguishedNamesMatch,
  formatDistinguishedName,
  parseDistinguishedName,
  type Rdn,
  type RdnAttribute,
} from './distinguished-name.js';
export {
  DEFAULT_FORWARDED_CERTIFICATE_HEADERS,
  readForwardedCertificate,
  type ForwardedCertificate,
  type ForwardedCertificateFormat,
  type ForwardedCertificateInput,
} from './forwarded-certificate.js';
export { createProxyAllowlist, type ProxyAllowlist } from './proxy-allowlist.js';
export * from './rejection-reason.js';
export {
  hashSecret,
  isSecretHash,
  verifySecret,
  verifySecretAgainstNothing,
} from './secret-hash.js';
export { matchSubject, type SubjectRule } from './subject-rule.js';
export { matchesPinnedThumbprint, thumbprintS256, thumbprintsEqual } from './thumbprint.js';
export { createTrustBundle, verifyCertificateChain, type TrustBundle } from './trust-bundle.js';
export * from './verdict.js';
export { VerifiedTokenCache, type VerifiedTokenCacheOptions } from './verified-token.cache.js';
