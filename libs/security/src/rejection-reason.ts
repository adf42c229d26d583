/**
 * Every stable reason code a check can reject with. Logs, metrics and HTTP answers use these
 * strings; add new ones here, never rename one.
 */
export const REJECTION_REASONS = [
  // certificates (TLS socket or forwarded by a proxy)
  'certificate_missing',
  'certificate_malformed',
  'certificate_not_trusted',
  'certificate_expired',
  'certificate_not_yet_valid',
  'certificate_subject_mismatch',
  'certificate_not_pinned',
  'certificate_policy_invalid',
  'distinguished_name_malformed',
  // forwarded certificates
  'forwarded_certificate_untrusted_peer',
  'forwarded_certificate_repeated',
  'forwarded_certificate_multiple_elements',
  'forwarded_certificate_malformed',
  'forwarded_proxy_allowlist_invalid',
  // DocuSign HMAC
  'hmac_no_keys',
  'hmac_signature_missing',
  'hmac_signature_malformed',
  'hmac_signature_repeated',
  'hmac_too_many_signatures',
  'hmac_mismatch',
  // bearer tokens
  'token_missing',
  'token_malformed',
  'token_alg_not_allowed',
  'token_typ_invalid',
  'token_signature_invalid',
  'token_unknown_kid',
  'token_jwks_unavailable',
  'token_issuer_mismatch',
  'token_audience_mismatch',
  'token_expired',
  'token_not_yet_valid',
  'token_claim_missing',
  'token_claim_invalid',
  'token_revoked',
  'token_scope_insufficient',
  // certificate binding (RFC 8705)
  'token_not_bound',
  'token_bound_without_certificate',
  'token_binding_mismatch',
  'token_cnf_unsupported',
  // Basic credentials
  'basic_missing',
  'basic_malformed',
  'basic_invalid_credentials',
] as const;

/** A stable reason code. */
export type RejectionReason = (typeof REJECTION_REASONS)[number];
