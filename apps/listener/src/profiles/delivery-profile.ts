import type {
  AccessTokenVerifier,
  CertificatePolicy,
  HmacKey,
  TrustBundle,
  VerifiedTokenCache,
} from '@countersign/security';
import type { CheckName } from '@countersign/queue';

/** The certificate rules of a profile, parsed once at start-up. */
export interface CompiledCertificateRules {
  /** What `evaluateClientCertificate` applies (trust, subjects, pins). */
  readonly policy: CertificatePolicy;
  /**
   * The profile's own CA bundle. On a direct TLS connection the TLS stack has already verified
   * the chain against the listener's client CA bundle; this narrows it to the profile's CAs.
   */
  readonly profileTrust?: TrustBundle;
}

/** The bearer token rules of a profile, with the verifier and cache built once at start-up. */
export interface CompiledTokenRules {
  readonly issuer: string;
  readonly requiredScope: string;
  readonly verifier: AccessTokenVerifier;
  readonly cache: VerifiedTokenCache;
  /** Whether the keys come from a remote JWKS (readiness then watches its freshness). */
  readonly remoteJwks: boolean;
}

/** One Connect configuration, ready to check deliveries: nothing is read or parsed per request. */
export interface DeliveryProfile {
  readonly name: string;
  readonly checks: readonly CheckName[];
  readonly certificate?: CompiledCertificateRules;
  readonly token?: CompiledTokenRules;
  readonly hmacKeys?: readonly HmacKey[];
  readonly basic?: { readonly username: string; readonly passwordHash: string };
}

/** Whether the profile runs `check`. */
export function requiresCheck(profile: DeliveryProfile, check: CheckName): boolean {
  return profile.checks.includes(check);
}
