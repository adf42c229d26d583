import { createHash, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { CONNECT_PARSE_REASONS, parseConnectDelivery } from '@countersign/connect';
import {
  REJECTION_REASONS,
  computeConnectSignature,
  createProxyAllowlist,
  extractConnectSignatures,
  formatDistinguishedName,
  parseBasicAuthorization,
  parseCertificate,
  parseCertificateChain,
  parseDistinguishedName,
  readForwardedCertificate,
  thumbprintS256,
  verifyConnectSignatures,
  type ProxyAllowlist,
  type Rdn,
} from '@countersign/security';

x509.cryptoProvider.set(webcrypto);

/**
 * What the parsers promise beyond "never throws" (which the libs' own specs check): a well-formed
 * input is accepted with exactly the value it carries, and anything else is refused with a reason
 * code from the published list.
 */
const SECURITY_REASONS = new Set<string>(REJECTION_REASONS);
const PARSE_REASONS = new Set<string>(CONNECT_PARSE_REASONS);
const FIXTURES = join(process.cwd(), 'test/fixtures/connect');
const RUNS = { numRuns: 200 };

function expectKnownSecurityVerdict(verdict: { ok: boolean; reason?: string }): void {
  if (!verdict.ok) expect(SECURITY_REASONS.has(verdict.reason as string)).toBe(true);
}

let certificates: { pem: string; thumbprint: string }[];
let allowlist: ProxyAllowlist;

beforeAll(async () => {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  certificates = [];
  for (let i = 0; i < 3; i += 1) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: `0${i + 1}`,
      name: `CN=property-${i}.countersign.test, O=Countersign Dev`,
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    certificates.push({
      pem: cert.toString('pem'),
      thumbprint: createHash('sha256').update(Buffer.from(cert.rawData)).digest('base64url'),
    });
  }
  const list = createProxyAllowlist(['127.0.0.1/32']);
  if (!list.ok) throw new Error('allowlist');
  allowlist = list.evidence;
});

describe('HMAC signature headers', () => {
  const signature = fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((bytes) => Buffer.from(bytes).toString('base64'));

  it('accepts any set of 1..100 distinct numbered headers with exactly their numbers and values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 100 }),
        fc.array(signature, { minLength: 100, maxLength: 100 }),
        fc.boolean(),
        (indices, values, upper) => {
          const raw = indices.flatMap((index, at) => [
            `${upper ? 'X-DocuSign-Signature' : 'x-docusign-signature'}-${index}`,
            values[at],
          ]);
          const verdict = extractConnectSignatures(['Content-Type', 'application/json', ...raw]);
          expect(verdict.ok).toBe(true);
          if (!verdict.ok) return;
          const got = [...verdict.evidence].sort((a, b) => a.index - b.index);
          const want = indices
            .map((index, at) => ({ index, value: values[at] }))
            .sort((a, b) => a.index - b.index);
          expect(got.map(({ index, value }) => ({ index, value }))).toEqual(want);
        },
      ),
      RUNS,
    );
  });

  it('refuses any other header list with a published reason', () => {
    const name = fc.oneof(
      fc.constantFrom('x-docusign-signature-', 'X-DocuSign-Signature-0', 'x-docusign-signature-01'),
      fc.integer({ min: -5, max: 200 }).map((n) => `x-docusign-signature-${n}`),
      fc.string({ maxLength: 8 }).map((tail) => `x-docusign-signature-${tail}`),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ maxLength: 60 })), { maxLength: 120 }),
        (pairs) => {
          const verdict = extractConnectSignatures(pairs.flat());
          expectKnownSecurityVerdict(verdict);
          if (verdict.ok) {
            for (const { index } of verdict.evidence) {
              expect(index >= 1 && index <= 100).toBe(true);
            }
          }
        },
      ),
      RUNS,
    );
  });

  it('verifies a body signed with any key, and refuses it after any single-byte change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        (bytes, key, at) => {
          const body = Buffer.from(bytes);
          const signatures = [{ index: 1, value: computeConnectSignature(key, body) }];
          const keys = [{ id: 'k', secret: key }];
          const verdict = verifyConnectSignatures(body, signatures, keys);
          expect(verdict.ok).toBe(true);

          const tampered = Buffer.from(body);
          tampered[at % tampered.length] ^= 0x01;
          const refused = verifyConnectSignatures(tampered, signatures, keys);
          expect(refused).toMatchObject({ ok: false, reason: 'hmac_mismatch' });
        },
      ),
      RUNS,
    );
  });
});

describe('Basic authorization header', () => {
  it('accepts any username without a colon and any password, and returns exactly them', () => {
    const username = fc
      .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
      .filter((name) => !name.includes(':') && name.trim() === name && name !== '');
    const password = fc.string({ maxLength: 60, unit: 'grapheme' });
    fc.assert(
      fc.property(username, password, (user, pass) => {
        const header = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
        const verdict = parseBasicAuthorization(header);
        expectKnownSecurityVerdict(verdict);
        if (verdict.ok) expect(verdict.evidence).toEqual({ username: user, password: pass });
        else expect(verdict.reason).toBe('basic_malformed');
      }),
      RUNS,
    );
  });

  it('refuses arbitrary header text with a published reason', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expectKnownSecurityVerdict(parseBasicAuthorization(`Basic ${text}`));
        expectKnownSecurityVerdict(parseBasicAuthorization(text));
      }),
      RUNS,
    );
  });
});

describe('PEM certificates', () => {
  const lineBreak = fc.constantFrom('\n', '\r\n');
  it('reads a certificate whatever its line endings and surrounding whitespace, as the same certificate', () => {
    fc.assert(
      fc.property(
        fc.nat(2),
        lineBreak,
        fc.constantFrom('', ' ', '\n', '\t\n'),
        (which, eol, pad) => {
          const { pem, thumbprint } = certificates[which];
          const verdict = parseCertificate(`${pad}${pem.replace(/\r?\n/g, eol)}${pad}`);
          expect(verdict.ok).toBe(true);
          if (verdict.ok) expect(thumbprintS256(verdict.evidence)).toBe(thumbprint);
        },
      ),
      RUNS,
    );
  });

  it('reads a chain in the order given, each certificate once', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2], { minLength: 1 }), (order) => {
        const verdict = parseCertificateChain(order.map((i) => certificates[i].pem).join('\n'));
        expect(verdict.ok).toBe(true);
        if (verdict.ok) {
          expect(verdict.evidence.map(thumbprintS256)).toEqual(
            order.map((i) => certificates[i].thumbprint),
          );
        }
      }),
      RUNS,
    );
  });

  it('refuses a PEM with any base64 character changed, or accepts it as a different certificate', () => {
    fc.assert(
      fc.property(
        fc.nat(2),
        fc.nat(),
        fc.constantFrom(...'AZaz09+/*-=_'.split('')),
        (which, at, char) => {
          const { pem, thumbprint } = certificates[which];
          const lines = pem.split('\n');
          const body = lines.slice(1, -2).join('\n');
          const position = at % body.length;
          if (body[position] === '\n' || body[position] === char) return;
          const mutated = body.slice(0, position) + char + body.slice(position + 1);
          const verdict = parseCertificate([lines[0], mutated, ...lines.slice(-2)].join('\n'));
          expectKnownSecurityVerdict(verdict);
          if (verdict.ok) expect(thumbprintS256(verdict.evidence)).not.toBe(thumbprint);
        },
      ),
      RUNS,
    );
  });
});

describe('Envoy XFCC header', () => {
  const quotedText = fc
    .string({ maxLength: 40 })
    .map((text) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  const pair = fc.tuple(fc.constantFrom('By', 'Hash', 'Subject', 'URI', 'DNS'), quotedText);

  it('finds the Cert member among any other quoted members, whatever they contain', () => {
    fc.assert(
      fc.property(fc.nat(2), fc.array(pair, { maxLength: 5 }), fc.nat(), (which, others, at) => {
        const { pem, thumbprint } = certificates[which];
        const members = others.map(([key, value]) => `${key}=${value}`);
        members.splice(at % (members.length + 1), 0, `Cert="${encodeURIComponent(pem)}"`);
        const verdict = readForwardedCertificate({
          format: 'envoy-xfcc',
          rawHeaders: ['x-forwarded-client-cert', members.join(';')],
          remoteAddress: '127.0.0.1',
          allowlist,
        });
        expectKnownSecurityVerdict(verdict);
        // a member repeated by chance (two Cert=) is refused; otherwise the Cert is read exactly
        if (verdict.ok)
          expect(verdict.evidence && thumbprintS256(verdict.evidence.leaf)).toBe(thumbprint);
        else expect(verdict.reason).toBe('forwarded_certificate_malformed');
      }),
      RUNS,
    );
  });

  it('answers arbitrary XFCC text with a certificate or a published reason', () => {
    const alphabet = fc.constantFrom(...'Cert=Subject;,"\\ %0A-BEGIN'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 120 }), (text) => {
        const verdict = readForwardedCertificate({
          format: 'envoy-xfcc',
          rawHeaders: ['x-forwarded-client-cert', text],
          remoteAddress: '127.0.0.1',
          allowlist,
        });
        expectKnownSecurityVerdict(verdict);
      }),
      RUNS,
    );
  });
});

describe('distinguished names', () => {
  const value = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' });
  const rdn = fc.array(fc.tuple(fc.constantFrom('CN', 'O', 'OU', 'C', 'L'), value), {
    minLength: 1,
    maxLength: 2,
  });

  it('formats a value of one space so that it parses back as one space', () => {
    const text = formatDistinguishedName([[{ type: 'CN', value: ' ' }]]);
    const verdict = parseDistinguishedName(text);
    expect(verdict.ok && verdict.evidence[0][0].value).toBe(' ');
  });

  it('parses back what it formats, for any attribute values', () => {
    fc.assert(
      fc.property(fc.array(rdn, { minLength: 1, maxLength: 4 }), (parts) => {
        const rdns = parts.map((attributes) =>
          attributes.map(([type, text]) => ({ type, value: text })),
        ) as Rdn[];
        const text = formatDistinguishedName(rdns);
        const verdict = parseDistinguishedName(text);
        expectKnownSecurityVerdict(verdict);
        expect(verdict.ok).toBe(true);
        // the parser returns RDNs in the order written, the formatter takes certificate order
        if (verdict.ok) expect(formatDistinguishedName([...verdict.evidence].reverse())).toBe(text);
      }),
      RUNS,
    );
  });
});

describe('Connect JSON and XML bodies', () => {
  const jsonTemplate = JSON.parse(readFileSync(join(FIXTURES, 'envelope-sent.json'), 'utf8')) as {
    data: Record<string, unknown>;
  };
  const xmlTemplate = readFileSync(join(FIXTURES, 'envelope-sent.xml'), 'utf8');
  const TEMPLATE_ID = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';
  const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype');

  it('reads any JSON event with its envelope id, dropping prototype keys at any depth', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        hostileKey,
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('application/json', 'application/json; charset=utf-8'),
        (envelopeId, key, junk, mediaType) => {
          const event = JSON.parse(JSON.stringify(jsonTemplate)) as Record<string, unknown> & {
            data: Record<string, unknown>;
          };
          event.data = { ...event.data, envelopeId };
          const text = JSON.stringify(event).replace(
            '"data":{',
            () => `"data":{${JSON.stringify(key)}:${JSON.stringify({ polluted: junk })},`,
          );
          const parsed = parseConnectDelivery(Buffer.from(text), mediaType);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          expect(parsed.event.envelopeId).toBe(envelopeId);
          expect(Object.prototype.hasOwnProperty.call(parsed.event.data, key)).toBe(false);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      RUNS,
    );
  });

  it('refuses any truncation of a JSON event with a published reason, never a partial event', () => {
    const body = Buffer.from(JSON.stringify(jsonTemplate));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: body.length - 1 }), (length) => {
        const parsed = parseConnectDelivery(body.subarray(0, length), 'application/json');
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(PARSE_REASONS.has(parsed.reason)).toBe(true);
      }),
      RUNS,
    );
  });

  it('reads any XML event with its envelope id and escaped subject', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' }),
        (envelopeId, subject) => {
          const escaped = subject
            .replace(/&/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;');
          const xml = xmlTemplate
            .split(TEMPLATE_ID)
            .join(envelopeId)
            .replace(/<Subject>[^<]*<\/Subject>/, () => `<Subject>${escaped}</Subject>`);
          const parsed = parseConnectDelivery(Buffer.from(xml), 'text/xml; charset=utf-8');
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          expect(parsed.event.envelopeId).toBe(envelopeId);
          if (subject.trim() !== '') expect(parsed.event.subject).toBe(subject.trim());
        },
      ),
      RUNS,
    );
  });

  it('refuses any XML event with a DTD declaration wherever it is placed before the root', () => {
    const declaration = fc.constantFrom(
      '<!DOCTYPE x>',
      '<!DOCTYPE x [<!ENTITY a "b">]>',
      '<! DOCTYPE x>',
      '<!doctype x>',
      '<!ENTITY a SYSTEM "file:///etc/passwd">',
    );
    const rootAt = xmlTemplate.indexOf('<DocuSignEnvelopeInformation');
    fc.assert(
      fc.property(declaration, fc.integer({ min: 0, max: 2 }), (dtd, where) => {
        const at = [rootAt, xmlTemplate.indexOf('?>') + 2, rootAt][where];
        const xml = `${xmlTemplate.slice(0, at)}${where === 2 ? '\n' : ''}${dtd}${xmlTemplate.slice(at)}`;
        const parsed = parseConnectDelivery(Buffer.from(xml), 'application/xml');
        expect(parsed).toMatchObject({ ok: false, reason: 'body_forbidden_dtd' });
      }),
      RUNS,
    );
  });

  it('answers arbitrary bytes under any Connect media type with an event or a published reason', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.constantFrom('application/json', 'text/xml', 'application/xml', 'text/plain', ''),
        (bytes, type) => {
          const parsed = parseConnectDelivery(Buffer.from(bytes), type || undefined);
          if (!parsed.ok) expect(PARSE_REASONS.has(parsed.reason)).toBe(true);
          else expect(typeof parsed.event.event).toBe('string');
        },
      ),
      RUNS,
    );
  });
});
