import type { AccessTokenClaims } from './access-token.verifier.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

function claims(exp: number, jti = 'j'): AccessTokenClaims {
  return {
    iss: 'https://auth.test',
    sub: 's',
    aud: ['a'],
    client_id: 'c',
    jti,
    iat: exp - 300,
    exp,
    scope: [],
  };
}

const EXP = 2_000_000_000;
const BEFORE_EXP = new Date((EXP - 1) * 1000);

describe('verified token cache', () => {
  it('returns the claims of a cached token before exp', () => {
    const cache = new VerifiedTokenCache();
    cache.set('token-a', claims(EXP));
    expect(cache.get('token-a', BEFORE_EXP)).toEqual(claims(EXP));
    expect(cache.get('token-b', BEFORE_EXP)).toBeUndefined();
  });

  it('never returns an entry at its exp', () => {
    const cache = new VerifiedTokenCache();
    cache.set('token-a', claims(EXP));
    expect(cache.get('token-a', new Date(EXP * 1000))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never returns an entry past its exp', () => {
    const cache = new VerifiedTokenCache();
    cache.set('token-a', claims(EXP));
    expect(cache.get('token-a', new Date(EXP * 1000 + 1))).toBeUndefined();
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2 });
    cache.set('a', claims(EXP, 'a'));
    cache.set('b', claims(EXP, 'b'));
    expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');
    cache.set('c', claims(EXP, 'c'));
    expect(cache.get('b', BEFORE_EXP)).toBeUndefined();
    expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');
    expect(cache.get('c', BEFORE_EXP)?.jti).toBe('c');
    expect(cache.size).toBe(2);
  });

  it('keeps the least-recently-used order when one token is used many times in a row', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2 });
    cache.set('a', claims(EXP, 'a'));
    cache.set('b', claims(EXP, 'b'));
    for (let use = 0; use < 3; use += 1) expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');
    cache.set('c', claims(EXP, 'c'));

    expect(cache.get('b', BEFORE_EXP)).toBeUndefined();
    expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');
    cache.set('d', claims(EXP, 'd'));
    expect(cache.get('c', BEFORE_EXP)).toBeUndefined();
    expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');
  });

  it('still expires the most recently used token at its exp', () => {
    const cache = new VerifiedTokenCache();
    cache.set('a', claims(EXP, 'a'));
    expect(cache.get('a', BEFORE_EXP)?.jti).toBe('a');

    expect(cache.get('a', new Date(EXP * 1000))).toBeUndefined();
    expect(cache.get('a', BEFORE_EXP)).toBeUndefined();
  });

  it('distinguishes tokens that differ in one character', () => {
    const cache = new VerifiedTokenCache();
    cache.set('eyJ.a.b', claims(EXP));
    expect(cache.get('eyJ.a.c', BEFORE_EXP)).toBeUndefined();
  });
});
