import type { StoredSigningKey } from './key-directory.js';
import { RETIRED_KEY_GRACE_SECONDS, selectKeys } from './key-selection.js';

function key(kid: string, activatesAt: string): StoredSigningKey {
  return { kid, alg: 'ES256', createdAt: activatesAt, activatesAt, privateJwk: {} };
}

const TTL = 300;
const at = (iso: string) => new Date(iso);

describe('selectKeys', () => {
  const first = key('first', '2026-01-01T00:00:00.000Z');
  const second = key('second', '2026-01-02T00:00:00.000Z');

  it('signs with the newest activated key', () => {
    expect(selectKeys([first, second], at('2026-01-02T00:00:01Z'), TTL).active?.kid).toBe('second');
  });

  it('keeps the retired key published while tokens it signed can still be valid', () => {
    const justBefore = new Date(
      Date.parse(second.activatesAt) + (TTL + RETIRED_KEY_GRACE_SECONDS) * 1000 - 1,
    );
    const published = selectKeys([first, second], justBefore, TTL).published.map((k) => k.kid);
    expect(published).toEqual(['first', 'second']);
  });

  it('drops the retired key once every token it signed has expired', () => {
    const after = new Date(
      Date.parse(second.activatesAt) + (TTL + RETIRED_KEY_GRACE_SECONDS) * 1000,
    );
    expect(selectKeys([first, second], after, TTL).published.map((k) => k.kid)).toEqual(['second']);
  });

  it('publishes a key before it activates, while the previous key keeps signing', () => {
    const selection = selectKeys([first, second], at('2026-01-01T12:00:00Z'), TTL);
    expect(selection.active?.kid).toBe('first');
    expect(selection.published.map((k) => k.kid)).toEqual(['first', 'second']);
  });

  it('has no active key when none has activated', () => {
    expect(selectKeys([second], at('2026-01-01T00:00:00Z'), TTL).active).toBeUndefined();
  });
});
