import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

import type { RejectionReason } from './rejection-reason.js';
import { accept, reject, type Verdict } from './verdict.js';

/** Signature algorithms an access token may use; never `none` or HS*. */
export type AccessTokenAlgorithm = 'ES256' | 'PS256' | 'RS256' | 'EdDSA';

/** Where the verifier gets the authorization server's public keys. */
export type AccessTokenKeySource =
  | { jwks: JSONWebKeySet }
  | {
      jwksUri: string;
      cacheMaxAgeMs?: number;
      cooldownMs?: number;
      timeoutMs?: number;
      /** PEM CA certificate(s) to trust for the JWKS endpoint instead of the system roots. */
      ca?: string;
    };

/** How access tokens are verified (RFC 9068 §4). */
export interface AccessTokenVerifierOptions {
  issuer: string;
  audience: string | string[];
  algorithms?: AccessTokenAlgorithm[];
  clockToleranceSeconds?: number;
  keys: AccessTokenKeySource;
  /** Clock for tests; defaults to the system clock. */
  now?: () => Date;
}

/** The claims of a verified RFC 9068 access token, normalised (aud and scope as arrays). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  client_id: string;
  jti: string;
  iat: number;
  exp: number;
  nbf?: number;
  scope: string[];
  cnf?: Record<string, unknown>;
}

const DEFAULT_ALGORITHMS: AccessTokenAlgorithm[] = ['ES256', 'PS256', 'RS256', 'EdDSA'];
const ALLOWED_ALGORITHMS = new Set<string>(DEFAULT_ALGORITHMS);
/** The largest time a JavaScript Date holds, in seconds (ECMA-262: 8.64e15 ms). */
const MAX_DATE_SECONDS = 8.64e12;

const REQUIRED_CLAIMS = ['exp', 'iat', 'jti', 'sub', 'client_id'];
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const DEFAULT_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
const MAX_TOKEN_LENGTH = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Marks a failure to obtain keys, as opposed to a key that was not found. */
class JwksUnavailable extends Error {}

/** Verifies RFC 9068 JWT access tokens against the authorization server's JWKS. */
export class AccessTokenVerifier {
  private readonly algorithms: AccessTokenAlgorithm[];
  private readonly clockTolerance: number;
  private readonly getKey: JWTVerifyGetKey;
  private readonly remote?: RemoteJWKSet;
  private readonly cacheMaxAgeMs: number;
  private readonly now: () => Date;
  private readonly dispatcher?: Agent;
  private lastFetchedAt?: Date;
  private lastFetchOk = false;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    if (typeof options.issuer !== 'string' || options.issuer.length === 0) {
      throw new Error('AccessTokenVerifier: issuer is required');
    }
    const audiences = [options.audience].flat();
    if (audiences.length === 0 || audiences.some((aud) => typeof aud !== 'string' || aud === '')) {
      throw new Error('AccessTokenVerifier: audience is required');
    }
    this.algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    if (
      this.algorithms.length === 0 ||
      this.algorithms.some((alg) => !ALLOWED_ALGORITHMS.has(alg))
    ) {
      throw new Error('AccessTokenVerifier: algorithms must be among ES256, PS256, RS256, EdDSA');
    }
    this.clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    this.now = options.now ?? (() => new Date());

    const keys = options.keys;
    if ('jwks' in keys) {
      this.cacheMaxAgeMs = Number.POSITIVE_INFINITY;
      const local = createLocalJWKSet(keys.jwks);
      this.getKey = local;
    } else {
      this.cacheMaxAgeMs = keys.cacheMaxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS;
      this.dispatcher = keys.ca === undefined ? undefined : new Agent({ connect: { ca: keys.ca } });
      const remote = createRemoteJWKSet(new URL(keys.jwksUri), {
        cacheMaxAge: this.cacheMaxAgeMs,
        cooldownDuration: keys.cooldownMs,
        timeoutDuration: keys.timeoutMs,
        [customFetch]: this.trackingFetch(),
      });
      this.remote = remote;
      this.getKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          if (error instanceof errors.JWKSNoMatchingKey) {
            throw error;
          }
          throw new JwksUnavailable('JWKS could not be fetched or read', { cause: error });
        }
      };
    }
  }

  /** Verifies a compact JWT access token: typ, issuer, audience, signature, times, claims. */
  async verify(token: string): Promise<Verdict<AccessTokenClaims>> {
    if (typeof token !== 'string' || token.length === 0) {
      return reject('token_missing');
    }
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      return reject('token_malformed', 'not a compact JWS');
    }

    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: this.clockTolerance,
        currentDate: this.now(),
      });
      payload = verified.payload;
    } catch (error) {
      return rejectionFor(error);
    }

    return normaliseClaims(payload);
  }

  /** Whether the JWKS is loaded and within its cache age, for readiness probes. */
  jwksFreshness(): { lastFetchedAt?: Date; ok: boolean } {
    if (this.remote === undefined) {
      return { ok: true };
    }
    const age =
      this.lastFetchedAt === undefined ? Infinity : Date.now() - this.lastFetchedAt.getTime();
    return {
      lastFetchedAt: this.lastFetchedAt,
      ok: this.lastFetchOk && age <= this.cacheMaxAgeMs,
    };
  }

  /** Fetches the remote JWKS now (e.g. at start-up); resolves false if it could not. */
  async refreshJwks(): Promise<boolean> {
    if (this.remote === undefined) {
      return true;
    }
    try {
      await this.remote.reload();
      return true;
    } catch {
      return false;
    }
  }

  /** Releases the JWKS connection pool (call on shutdown). */
  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  private trackingFetch(): FetchImplementation {
    return async (url, init) => {
      try {
        const response = (await undiciFetch(url, {
          method: init.method,
          redirect: init.redirect,
          signal: init.signal,
          headers: Object.fromEntries(init.headers.entries()),
          dispatcher: this.dispatcher,
        })) as unknown as Response;
        this.recordFetch(response.status === 200);
        return response;
      } catch (error) {
        this.recordFetch(false);
        throw error;
      }
    };
  }

  private recordFetch(ok: boolean): void {
    this.lastFetchOk = ok;
    if (ok) {
      this.lastFetchedAt = new Date();
    }
  }
}

/** Whether the verified token grants `required` (scope values compare exactly). */
export function hasScope(claims: AccessTokenClaims, required: string): boolean {
  return claims.scope.includes(required);
}

function normaliseClaims(payload: JWTPayload): Verdict<AccessTokenClaims> {
  const { iss, sub, aud, jti, iat, exp, nbf } = payload;
  const clientId = payload.client_id;
  const scope = payload.scope;
  const cnf = payload.cnf;

  if (typeof iss !== 'string' || typeof sub !== 'string' || sub === '') {
    return reject('token_claim_invalid', 'iss and sub must be strings');
  }
  if (typeof clientId !== 'string' || clientId === '') {
    return reject('token_claim_invalid', 'client_id must be a non-empty string');
  }
  if (typeof jti !== 'string' || jti === '') {
    return reject('token_claim_invalid', 'jti must be a non-empty string');
  }
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    return reject('token_claim_invalid', 'iat and exp must be numbers');
  }
  // a time JavaScript cannot represent as a date is no expiry anyone can check or record
  if (!Number.isFinite(exp) || Math.abs(exp) > MAX_DATE_SECONDS) {
    return reject('token_claim_invalid', 'exp is outside the representable dates');
  }
  if (scope !== undefined && typeof scope !== 'string') {
    return reject('token_claim_invalid', 'scope must be a space-separated string');
  }
  if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))) {
    return reject('token_claim_invalid', 'cnf must be an object');
  }

  return accept({
    iss,
    sub,
    aud: [aud ?? []].flat(),
    client_id: clientId,
    jti,
    iat,
    exp,
    ...(typeof nbf === 'number' ? { nbf } : {}),
    scope: scope === undefined ? [] : scope.split(' ').filter((value) => value !== ''),
    ...(cnf === undefined ? {} : { cnf: cnf as Record<string, unknown> }),
  });
}

function rejectionFor(error: unknown): Verdict<never> {
  if (error instanceof JwksUnavailable || error instanceof errors.JWKSTimeout) {
    return reject('token_jwks_unavailable');
  }
  if (error instanceof errors.JWTExpired) {
    return reject('token_expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return reject(claimRejection(error.claim, error.reason), `${error.claim}: ${error.reason}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return reject('token_alg_not_allowed');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return reject('token_unknown_kid');
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return reject('token_signature_invalid');
  }
  return reject('token_malformed');
}

function claimRejection(claim: string, reason: string): RejectionReason {
  switch (claim) {
    case 'typ':
      return 'token_typ_invalid';
    case 'iss':
      return reason === 'missing' ? 'token_claim_missing' : 'token_issuer_mismatch';
    case 'aud':
      return reason === 'missing' ? 'token_claim_missing' : 'token_audience_mismatch';
    case 'nbf':
      return reason === 'check_failed' ? 'token_not_yet_valid' : 'token_claim_invalid';
    default:
      return reason === 'missing' ? 'token_claim_missing' : 'token_claim_invalid';
  }
}
