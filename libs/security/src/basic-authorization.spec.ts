import fc from 'fast-check';

import { parseBasicAuthorization } from './basic-authorization.js';

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

describe('Basic authorization header', () => {
  it('reads user and password', () => {
    expect(parseBasicAuthorization(basic('connect:s3cret'))).toEqual({
      ok: true,
      evidence: { username: 'connect', password: 's3cret' },
    });
  });

  it('treats the scheme name case-insensitively', () => {
    expect(parseBasicAuthorization(basic('a:b').replace('Basic', 'bAsIc')).ok).toBe(true);
  });

  it('splits at the first colon, so the password may contain colons', () => {
    expect(parseBasicAuthorization(basic('user:pa:ss:'))).toMatchObject({
      evidence: { username: 'user', password: 'pa:ss:' },
    });
  });

  it('reads UTF-8 credentials', () => {
    expect(parseBasicAuthorization(basic('zoë:päss'))).toMatchObject({
      evidence: { username: 'zoë', password: 'päss' },
    });
  });

  it('rejects a missing or empty header as basic_missing', () => {
    expect(parseBasicAuthorization(undefined)).toMatchObject({ reason: 'basic_missing' });
    expect(parseBasicAuthorization('')).toMatchObject({ reason: 'basic_missing' });
  });

  it('rejects another scheme as basic_missing', () => {
    expect(parseBasicAuthorization('Bearer abc')).toMatchObject({ reason: 'basic_missing' });
  });

  it.each([
    ['no credentials', 'Basic'],
    ['non-base64 credentials', 'Basic ***'],
    ['unpadded base64', `Basic ${Buffer.from('a:bc').toString('base64').replace(/=+$/, '')}`],
    ['base64url alphabet', `Basic ${Buffer.from('a:b>?').toString('base64url')}`],
    ['no colon', basic('useronly')],
    ['an empty user', basic(':password')],
    ['invalid UTF-8', `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`],
    ['two tokens', `${basic('a:b')} extra`],
  ])('rejects %s as basic_malformed', (_label, header) => {
    expect(parseBasicAuthorization(header)).toMatchObject({ ok: false, reason: 'basic_malformed' });
  });

  it('form-urlencoded-decodes each part after the split when asked (RFC 6749 App. B)', () => {
    const header = basic('my%3Aclient:a+b%2Bc%25d%3A');
    expect(parseBasicAuthorization(header, { formUrlDecode: true })).toMatchObject({
      evidence: { username: 'my:client', password: 'a b+c%d:' },
    });
    expect(parseBasicAuthorization(header)).toMatchObject({
      evidence: { username: 'my%3Aclient', password: 'a+b%2Bc%25d%3A' },
    });
  });

  it.each(['bad%zz', 'trailing%', 'half%4', 'not-utf8%ff'])(
    'rejects the bad percent-escape in %s when form-decoding',
    (password) => {
      expect(
        parseBasicAuthorization(basic(`client:${password}`), { formUrlDecode: true }),
      ).toMatchObject({
        reason: 'basic_malformed',
      });
    },
  );

  it('never throws on arbitrary headers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map(basic)), fc.boolean(), (header, decode) => {
        const verdict = parseBasicAuthorization(header, { formUrlDecode: decode });
        return verdict.ok || verdict.reason.startsWith('basic_');
      }),
    );
  });
});
