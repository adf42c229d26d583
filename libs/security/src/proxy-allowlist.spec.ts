import { createProxyAllowlist, type ProxyAllowlist } from './proxy-allowlist.js';

function allowlist(entries: string[]): ProxyAllowlist {
  const verdict = createProxyAllowlist(entries);
  if (!verdict.ok) throw new Error(`allowlist should build: ${verdict.detail}`);
  return verdict.evidence;
}

describe('proxy allowlist', () => {
  it('allows single IPv4 addresses and IPv4 CIDR blocks', () => {
    const list = allowlist(['127.0.0.1', '10.1.0.0/16']);
    expect(list.allows('127.0.0.1')).toBe(true);
    expect(list.allows('10.1.255.3')).toBe(true);
    expect(list.allows('10.2.0.1')).toBe(false);
    expect(list.allows('127.0.0.2')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 peers as IPv4', () => {
    const list = allowlist(['127.0.0.1', '10.1.0.0/16']);
    expect(list.allows('::ffff:127.0.0.1')).toBe(true);
    expect(list.allows('::FFFF:10.1.2.3')).toBe(true);
    expect(list.allows('::ffff:10.2.2.3')).toBe(false);
  });

  it('allows IPv6 addresses and blocks', () => {
    const list = allowlist(['::1', '2001:db8:1::/48']);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('0:0:0:0:0:0:0:1')).toBe(true);
    expect(list.allows('2001:db8:1:ffff::7')).toBe(true);
    expect(list.allows('2001:db8:2::7')).toBe(false);
  });

  it('allows nobody when empty, and never an unknown or missing address', () => {
    const list = allowlist([]);
    expect(list.allows('127.0.0.1')).toBe(false);
    expect(allowlist(['0.0.0.0/0']).allows(undefined)).toBe(false);
    expect(allowlist(['0.0.0.0/0']).allows('not-an-ip')).toBe(false);
  });

  it.each(['10.0.0.0/33', '::/129', 'localhost', '10.0.0.0/8/1', '10.0.0.0/08', '10.0.0.0/', ''])(
    'rejects the entry %p',
    (entry) => {
      expect(createProxyAllowlist([entry])).toMatchObject({
        ok: false,
        reason: 'forwarded_proxy_allowlist_invalid',
      });
    },
  );
});
