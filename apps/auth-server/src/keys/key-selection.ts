import type { StoredSigningKey } from './key-directory.js';

/** Clock skew allowed to resource servers; a retired key stays published this much longer. */
export const RETIRED_KEY_GRACE_SECONDS = 60;

export interface KeySelection {
  /** The key that signs now: the newest key whose activation time has passed. */
  readonly active?: StoredSigningKey;
  /** Keys in the JWKS: pending ones, the active one, and retired ones whose tokens may live on. */
  readonly published: readonly StoredSigningKey[];
}

/**
 * Chooses the active key and the published keys. A key retires when the next key activates; it
 * stays published until every token it signed has expired (retirement + longest token lifetime +
 * grace). Keys are sorted by activation time, oldest first.
 */
export function selectKeys(
  keys: readonly StoredSigningKey[],
  now: Date,
  maxTokenTtlSeconds: number,
): KeySelection {
  const at = now.getTime();
  const activated = keys.filter((key) => Date.parse(key.activatesAt) <= at);
  const pending = keys.filter((key) => Date.parse(key.activatesAt) > at);
  const active = activated.at(-1);
  const keepMs = (maxTokenTtlSeconds + RETIRED_KEY_GRACE_SECONDS) * 1000;

  const stillVerifiable = activated.filter((_key, index) => {
    const successor = activated[index + 1];
    return successor === undefined || at < Date.parse(successor.activatesAt) + keepMs;
  });
  return { active, published: [...stillVerifiable, ...pending] };
}
