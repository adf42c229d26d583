import fc from 'fast-check';

import { certificateSubjectRdns } from './certificate-facts.js';
import {
  distinguishedNamesMatch,
  formatDistinguishedName,
  parseDistinguishedName,
  type Rdn,
} from './distinguished-name.js';
import { issueTestCertificate } from './testing/test-pki.js';

const CN = '2.5.4.3';
const O = '2.5.4.10';
const OU = '2.5.4.11';
const C = '2.5.4.6';

function parsed(dn: string): Rdn[] {
  const verdict = parseDistinguishedName(dn);
  if (!verdict.ok) throw new Error(`${dn} should parse: ${verdict.reason}`);
  return verdict.evidence;
}

describe('RFC 4514 distinguished name parsing', () => {
  it('reads RDNs in order with attribute types as OIDs', () => {
    expect(parsed('CN=Connect,O=DocuSign Inc.,C=US')).toEqual([
      [{ type: CN, value: 'Connect' }],
      [{ type: O, value: 'DocuSign Inc.' }],
      [{ type: C, value: 'US' }],
    ]);
  });

  it('treats attribute type names case-insensitively and accepts numeric OIDs', () => {
    expect(parsed('cn=a,o=b')).toEqual(parsed('CN=a,O=b'));
    expect(parsed('2.5.4.3=a,2.5.4.10=b')).toEqual(parsed('CN=a,O=b'));
  });

  it('ignores spaces around separators and the equals sign', () => {
    expect(parsed('  CN = a ,  O= b  ')).toEqual(parsed('CN=a,O=b'));
  });

  it('unescapes \\, \\+ \\" \\\\ and keeps them in the value', () => {
    expect(parsed('CN=Smith\\, John\\+Co \\"x\\" \\\\ y')).toEqual([
      [{ type: CN, value: 'Smith, John+Co "x" \\ y' }],
    ]);
  });

  it('decodes \\XX hex escapes as UTF-8 bytes', () => {
    expect(parsed('CN=Lu\\C4\\8Di\\C4\\87')).toEqual([[{ type: CN, value: 'Lučić' }]]);
  });

  it('keeps an escaped trailing space', () => {
    expect(parsed('CN=a\\ ')).toEqual([[{ type: CN, value: 'a ' }]]);
  });

  it('reads multi-valued RDNs joined by +', () => {
    expect(parsed('OU=Sales+CN=J. Smith,O=Widget')).toEqual([
      [
        { type: OU, value: 'Sales' },
        { type: CN, value: 'J. Smith' },
      ],
      [{ type: O, value: 'Widget' }],
    ]);
  });

  it('keeps #hex values as lowercase hex', () => {
    expect(parsed('1.3.6.1.4.1.1466.0=#04024869')).toEqual([
      [{ type: '1.3.6.1.4.1.1466.0', value: '#04024869' }],
    ]);
  });

  it.each([
    ['an unknown type name', 'XYZ=a'],
    ['a missing equals sign', 'CN'],
    ['an empty RDN', 'CN=a,,O=b'],
    ['a trailing comma', 'CN=a,'],
    ['a dangling escape', 'CN=a\\'],
    ['an invalid escape', 'CN=a\\q'],
    ['an unescaped quote', 'CN=a"b'],
    ['an unescaped semicolon', 'CN=a;O=b'],
    ['invalid UTF-8 in escapes', 'CN=\\C4'],
    ['an odd-length hex value', 'CN=#abc'],
    ['an empty value', 'CN=,O=b'],
  ])('rejects %s', (_label, dn) => {
    expect(parseDistinguishedName(dn)).toMatchObject({
      ok: false,
      reason: 'distinguished_name_malformed',
    });
  });

  it('never throws, whatever the input', () => {
    const alphabet = fc.constantFrom(...'CNO=,+\\"# ;<>aZ09.\u00e9\u0000'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet })), (dn) => {
        const verdict = parseDistinguishedName(dn);
        return verdict.ok ? Array.isArray(verdict.evidence) : verdict.reason.length > 0;
      }),
      { numRuns: 2000 },
    );
  });

  it('parses what it formats back to the same RDNs', () => {
    const value = fc
      .string({ minLength: 1, maxLength: 20 })
      .filter(
        (s) =>
          s.trim() === s && s.length > 0 && !s.includes('\u0000') && !/[\uD800-\uDFFF]/.test(s),
      );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (values) => {
        const rdns: Rdn[] = values.map((v) => [{ type: CN, value: v }]);
        return distinguishedNamesMatch(parsed(formatDistinguishedName(rdns)), rdns);
      }),
    );
  });
});

describe('distinguished name matching', () => {
  it('matches regardless of RDN order and spacing', () => {
    expect(distinguishedNamesMatch(parsed('CN=a, O=b, C=US'), parsed('C=US,O=b,CN=a'))).toBe(true);
  });

  it('matches values case-insensitively after whitespace normalisation', () => {
    expect(
      distinguishedNamesMatch(parsed('CN=DocuSign   Connect'), parsed('cn=docusign connect')),
    ).toBe(true);
  });

  it('matches attributes inside a multi-valued RDN in any order', () => {
    expect(distinguishedNamesMatch(parsed('OU=x+CN=y'), parsed('CN=y+OU=x'))).toBe(true);
  });

  it('does not match a DN with an extra RDN', () => {
    expect(distinguishedNamesMatch(parsed('CN=a,O=b'), parsed('CN=a,O=b,C=US'))).toBe(false);
  });

  it('does not match when a multi-valued RDN is split into two RDNs', () => {
    expect(distinguishedNamesMatch(parsed('OU=x+CN=y'), parsed('OU=x,CN=y'))).toBe(false);
  });

  it('does not match a different value', () => {
    expect(distinguishedNamesMatch(parsed('CN=a,O=b'), parsed('CN=a,O=c'))).toBe(false);
  });

  it('does not match the same value under a different attribute type', () => {
    expect(distinguishedNamesMatch(parsed('CN=a'), parsed('OU=a'))).toBe(false);
  });

  it('reads a certificate subject as RDNs that match its RFC 4514 string', async () => {
    const { cert } = await issueTestCertificate({
      subject: 'CN=connect.example.test, OU=Connect, O=Example\\, Corp, C=US',
    });
    const rdns = certificateSubjectRdns(cert);
    expect(rdns).toEqual([
      [{ type: CN, value: 'connect.example.test' }],
      [{ type: OU, value: 'Connect' }],
      [{ type: O, value: 'Example, Corp' }],
      [{ type: C, value: 'US' }],
    ]);
    expect(
      distinguishedNamesMatch(
        rdns,
        parsed('C=US,O=Example\\, Corp,OU=Connect,CN=connect.example.test'),
      ),
    ).toBe(true);
    expect(formatDistinguishedName(rdns)).toBe(
      'C=US, O=Example\\, Corp, OU=Connect, CN=connect.example.test',
    );
  });
});
