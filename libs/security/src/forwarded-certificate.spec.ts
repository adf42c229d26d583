import fc from 'fast-check';

import {
  readForwardedCertificate,
  type ForwardedCertificateFormat,
  type ForwardedCertificateInput,
} from './forwarded-certificate.js';
import { createProxyAllowlist, type ProxyAllowlist } from './proxy-allowlist.js';
import { createTestPki, type TestPki } from './testing/test-pki.js';
import { parseXfcc } from './xfcc.js';

const PROXY = '10.0.0.5';

function proxyAllowlist(): ProxyAllowlist {
  const verdict = createProxyAllowlist(['10.0.0.0/24']);
  if (!verdict.ok) throw new Error('allowlist');
  return verdict.evidence;
}

function read(
  format: ForwardedCertificateFormat,
  rawHeaders: string[],
  extra: Partial<ForwardedCertificateInput> = {},
) {
  return readForwardedCertificate({
    format,
    rawHeaders,
    remoteAddress: PROXY,
    allowlist: proxyAllowlist(),
    ...extra,
  });
}

/** ALB's encoding: URL-encoded PEM that leaves `+`, `=` and `/` as they are. */
function albEncode(pem: string): string {
  return encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/');
}

function xfccQuote(value: string): string {
  return `"${value.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

describe('forwarded client certificates', () => {
  let pki: TestPki;
  let other: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
    other = await createTestPki('Other');
  });

  describe('peer and header rules', () => {
    it('reports no certificate when the header is absent, whoever the peer is', () => {
      expect(read('nginx', ['Host', 'x'])).toEqual({ ok: true, evidence: null });
      expect(read('nginx', ['Host', 'x'], { remoteAddress: '192.0.2.1' })).toEqual({
        ok: true,
        evidence: null,
      });
    });

    it('rejects the header from a peer outside the allowlist', () => {
      const raw = ['X-SSL-Client-Cert', encodeURIComponent(pki.leaf.pem)];
      expect(read('nginx', raw, { remoteAddress: '192.0.2.1' })).toMatchObject({
        reason: 'forwarded_certificate_untrusted_peer',
      });
      expect(read('nginx', raw, { remoteAddress: undefined })).toMatchObject({
        reason: 'forwarded_certificate_untrusted_peer',
      });
    });

    it('accepts the header from an IPv4-mapped allowed peer', () => {
      const raw = ['X-SSL-Client-Cert', encodeURIComponent(pki.leaf.pem)];
      expect(read('nginx', raw, { remoteAddress: `::ffff:${PROXY}` }).ok).toBe(true);
    });

    it('rejects a header repeated under names that differ only in case', () => {
      const value = encodeURIComponent(pki.leaf.pem);
      const raw = ['X-SSL-Client-Cert', value, 'x-ssl-client-cert', value];
      expect(read('nginx', raw)).toMatchObject({ reason: 'forwarded_certificate_repeated' });
    });

    it('reads a configured header name instead of the default', () => {
      const raw = ['X-Client-Cert-PEM', encodeURIComponent(pki.leaf.pem)];
      expect(read('nginx', raw)).toEqual({ ok: true, evidence: null });
      const verdict = read('nginx', raw, { headerName: 'x-client-cert-pem' });
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
    });
  });

  describe('nginx', () => {
    it('reads a URL-encoded PEM leaf', () => {
      const verdict = read('nginx', ['X-SSL-Client-Cert', encodeURIComponent(pki.leaf.pem)]);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
      expect(verdict.ok && verdict.evidence?.chain).toEqual([]);
    });

    it('keeps a literal + as + (RFC 3986 decoding, not form decoding)', () => {
      expect(pki.leaf.pem).toMatch(/[+/]/);
      const verdict = read('nginx', ['X-SSL-Client-Cert', albEncode(pki.leaf.pem)]);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
    });

    it.each([
      ['a bad percent-escape', '%ZZ'],
      ['plain text', 'hello'],
      [
        'an encoded non-certificate',
        encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
      ],
    ])('rejects %s as malformed', (_label, value) => {
      expect(read('nginx', ['X-SSL-Client-Cert', value])).toMatchObject({
        reason: 'forwarded_certificate_malformed',
      });
    });

    it('rejects two PEM certificates in the nginx header', () => {
      const value = encodeURIComponent(pki.leaf.pem + pki.intermediate.pem);
      expect(read('nginx', ['X-SSL-Client-Cert', value])).toMatchObject({
        reason: 'forwarded_certificate_malformed',
      });
    });
  });

  describe('AWS ALB', () => {
    it('reads the full chain, leaf first', () => {
      const value = albEncode(pki.leaf.pem + pki.intermediate.pem);
      const verdict = read('aws-alb', ['X-Amzn-Mtls-Clientcert', value]);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
      expect(verdict.ok && verdict.evidence?.chain.map((c) => c.raw)).toEqual([
        pki.intermediate.der,
      ]);
    });

    it('rejects a header that is not URL-encoded PEM', () => {
      expect(read('aws-alb', ['X-Amzn-Mtls-Clientcert', 'abc%'])).toMatchObject({
        reason: 'forwarded_certificate_malformed',
      });
    });
  });

  describe('RFC 9440', () => {
    const item = (der: Buffer) => `:${der.toString('base64')}:`;

    it('reads Client-Cert and a Client-Cert-Chain split across header lines', () => {
      const raw = [
        'Client-Cert',
        item(pki.leaf.der),
        'Client-Cert-Chain',
        item(pki.intermediate.der),
        'client-cert-chain',
        item(pki.root.der),
      ];
      const verdict = read('rfc9440', raw);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
      expect(verdict.ok && verdict.evidence?.chain.map((c) => c.raw)).toEqual([
        pki.intermediate.der,
        pki.root.der,
      ]);
    });

    it('reads a chain List on one line', () => {
      const chain = `${item(pki.intermediate.der)}, ${item(pki.root.der)}`;
      const verdict = read('rfc9440', [
        'Client-Cert',
        item(pki.leaf.der),
        'Client-Cert-Chain',
        chain,
      ]);
      expect(verdict.ok && verdict.evidence?.chain).toHaveLength(2);
    });

    it('rejects Client-Cert-Chain without Client-Cert', () => {
      expect(read('rfc9440', ['Client-Cert-Chain', item(pki.intermediate.der)])).toMatchObject({
        reason: 'forwarded_certificate_malformed',
      });
    });

    it('rejects Client-Cert-Chain from an untrusted peer even without Client-Cert', () => {
      const raw = ['Client-Cert-Chain', item(pki.intermediate.der)];
      expect(read('rfc9440', raw, { remoteAddress: '192.0.2.1' })).toMatchObject({
        reason: 'forwarded_certificate_untrusted_peer',
      });
    });

    it.each([
      ['no colons', () => pki.leaf.der.toString('base64')],
      ['base64url', () => `:${pki.leaf.der.toString('base64url')}:`],
      ['PEM text', () => `:${Buffer.from(pki.leaf.pem).toString('base64')}:`],
      ['parameters', () => `${item(pki.leaf.der)};a=1`],
      ['an empty byte sequence', () => '::'],
    ])('rejects a Client-Cert with %s', (_label, value) => {
      expect(read('rfc9440', ['Client-Cert', value()])).toMatchObject({
        reason: 'forwarded_certificate_malformed',
      });
    });
  });

  describe('Envoy XFCC', () => {
    const xfcc = (pairs: string) => read('envoy-xfcc', ['X-Forwarded-Client-Cert', pairs]);

    it('reads Cert and keeps only the intermediates of Chain', () => {
      const value = [
        'By=spiffe://listener.test',
        'Hash=abc123',
        `Cert=${xfccQuote(encodeURIComponent(pki.leaf.pem))}`,
        `Chain=${xfccQuote(encodeURIComponent(pki.leaf.pem + pki.intermediate.pem))}`,
        `Subject=${xfccQuote('CN=connect.example.test,OU=Connect,O=Example Corp,C=US')}`,
        'URI=https://connect.example.test/listener',
        'DNS=connect.example.test',
        'DNS=other.example.test',
      ].join(';');
      const verdict = xfcc(value);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
      expect(verdict.ok && verdict.evidence?.chain.map((c) => c.raw)).toEqual([
        pki.intermediate.der,
      ]);
    });

    it('reads an unquoted Cert value with case-insensitive keys', () => {
      const verdict = xfcc(`hash=abc;CERT=${encodeURIComponent(pki.leaf.pem)}`);
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
    });

    it('does not let a quoted Subject smuggle a Cert', () => {
      const smuggled = `CN=x;Cert=${encodeURIComponent(other.leaf.pem)}`;
      expect(xfcc(`Hash=abc;Subject=${xfccQuote(smuggled)}`)).toEqual({ ok: true, evidence: null });

      const verdict = xfcc(
        `Subject=${xfccQuote(smuggled)};Cert=${xfccQuote(encodeURIComponent(pki.leaf.pem))}`,
      );
      expect(verdict.ok && verdict.evidence?.leaf.raw).toEqual(pki.leaf.der);
    });

    it('treats a comma inside a quoted Subject as part of one element', () => {
      const verdict = xfcc(
        `Subject=${xfccQuote('CN=a,O=b')};Cert=${xfccQuote(encodeURIComponent(pki.leaf.pem))}`,
      );
      expect(verdict.ok).toBe(true);
    });

    it('rejects a header with more than one element', () => {
      const one = `Cert=${xfccQuote(encodeURIComponent(pki.leaf.pem))}`;
      const two = `Cert=${xfccQuote(encodeURIComponent(other.leaf.pem))}`;
      expect(xfcc(`${one},${two}`)).toMatchObject({
        reason: 'forwarded_certificate_multiple_elements',
      });
    });

    it('rejects an element with Cert twice', () => {
      const cert = `Cert=${xfccQuote(encodeURIComponent(pki.leaf.pem))}`;
      expect(xfcc(`${cert};${cert}`)).toMatchObject({ reason: 'forwarded_certificate_malformed' });
    });

    it.each([
      ['an unclosed quote', 'Cert="abc'],
      ['text after a closing quote', 'Cert="abc"def'],
      ['a pair without =', 'Cert'],
      ['a quote inside a bare value', 'Subject=a"b'],
      ['a Cert that is not PEM', 'Cert=hello'],
      ['a bad percent-escape', 'Cert=%G0'],
    ])('rejects %s as malformed', (_label, value) => {
      expect(xfcc(value)).toMatchObject({ reason: 'forwarded_certificate_malformed' });
    });

    it('parses escaped quotes and backslashes inside quoted values', () => {
      const parsed = parseXfcc('Subject="CN=\\"quoted\\" \\\\ name";Hash=1');
      expect(parsed.ok && [...parsed.evidence[0].entries()]).toEqual([
        ['subject', ['CN="quoted" \\ name']],
        ['hash', ['1']],
      ]);
    });

    it('never throws on arbitrary XFCC text', () => {
      const alphabet = fc.constantFrom(...'Cert=Subject;,"\\ abc%0A'.split(''));
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 60 })), (text) => {
          const parsed = parseXfcc(text);
          const verdict = xfcc(text);
          return typeof parsed.ok === 'boolean' && typeof verdict.ok === 'boolean';
        }),
        { numRuns: 2000 },
      );
    });
  });

  it('never throws on arbitrary header values in any format', () => {
    const formats: ForwardedCertificateFormat[] = ['nginx', 'envoy-xfcc', 'aws-alb', 'rfc9440'];
    fc.assert(
      fc.property(fc.constantFrom(...formats), fc.string(), fc.string(), (format, a, b) => {
        const raw = [
          'x-ssl-client-cert',
          a,
          'x-forwarded-client-cert',
          a,
          'x-amzn-mtls-clientcert',
          a,
          'client-cert',
          a,
          'client-cert-chain',
          b,
        ];
        const verdict = read(format, raw);
        return verdict.ok ? verdict.evidence === null || verdict.evidence.leaf !== undefined : true;
      }),
    );
  });
});
