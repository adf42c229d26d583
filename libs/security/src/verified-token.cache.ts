import { hash } from 'node:crypto';

import type { AccessTokenClaims } from './access-token.verifier.js';

/** Sizing of a verified token cache. */
export interface VerifiedTokenCacheOptions {
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 1000;

/**
 * Remembers verified tokens (by SHA-256 of the token, never the token itself) so a retried
 * delivery skips the signature check; bounded, least-recently-used first out, never past `exp`.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, AccessTokenClaims>();
  private readonly maxEntries: number;
  /** The most recently used key: a sender reuses one token, so most hits need no reordering. */
  private newestKey: string | undefined;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? DEFAULT_MAX_ENTRIES));
  }

  /** The cached claims for this token, unless absent or at/past their `exp`. */
  get(token: string, now: Date = new Date()): AccessTokenClaims | undefined {
    const key = cacheKey(token);
    const claims = this.entries.get(key);
    if (claims === undefined) {
      return undefined;
    }
    if (now.getTime() >= claims.exp * 1000) {
      this.entries.delete(key);
      return undefined;
    }
    if (key !== this.newestKey) {
      // re-insert so the Map's insertion order doubles as recency order
      this.entries.delete(key);
      this.entries.set(key, claims);
      this.newestKey = key;
    }
    return claims;
  }

  /** Remembers the claims of a token that has just been verified. */
  set(token: string, claims: AccessTokenClaims): void {
    const key = cacheKey(token);
    this.entries.delete(key);
    this.entries.set(key, claims);
    this.newestKey = key;
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.entries.delete(oldest.value);
    }
  }

  /** How many tokens are cached (expired ones are dropped lazily). */
  get size(): number {
    return this.entries.size;
  }
}

function cacheKey(token: string): string {
  // one-shot hash (Node >= 20.12): no Hash object per lookup, which is most of a hit's cost
  return hash('sha256', token, 'base64url');
}
