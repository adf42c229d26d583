import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import fc from 'fast-check';

import {
  computeConnectSignature,
  extractConnectSignatures,
  verifyConnectSignatures,
  type ConnectSignature,
  type HmacKey,
} from './connect-hmac.js';

const KEY_1 = 'dGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODk=';
const KEY_2 = 'c2Vjb25kLWtleS1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3g=';
const BODY = Buffer.from(
  '{"event":"envelope-completed","data":{"envelopeId":"11111111-2222-3333-4444-555555555555"}}',
);
const BODY_SIGNATURE_KEY_1 = 'pGpNN2L3OLxHDrVqV1X26W+CceNsJ9Xu8GFJAmEoG1c=';
const BODY_SIGNATURE_KEY_2 = 'CN6RdooJpY+TAwm61vuE2kjdq30xd51lQjlUDh5y5mc=';
const ESCAPED_BODY = Buffer.from(
  '{"event":"envelope-completed","uri":"\\/restapi\\/v2.1\\/accounts\\/a1\\/envelopes\\/e1","data":{"envelopeId":"e1"}}',
);

const key1: HmacKey = { id: 'key-1', secret: KEY_1 };
const key2: HmacKey = { id: 'key-2', secret: KEY_2 };

function signature(index: number, value: string): ConnectSignature {
  return { index, value };
}

describe('Connect HMAC signature computation', () => {
  it('matches the DocuSign vector for the JSON body', () => {
    expect(computeConnectSignature(KEY_1, BODY)).toBe(BODY_SIGNATURE_KEY_1);
  });

  it('signs the raw bytes, so a trailing CRLF changes the signature', () => {
    expect(computeConnectSignature(KEY_1, Buffer.concat([BODY, Buffer.from('\r\n')]))).toBe(
      'XaeNhTausF9opavLNHyTtXZuDNLR9rRiTJPJ64raAnM=',
    );
  });

  it('matches the vector for the second key', () => {
    expect(computeConnectSignature(KEY_2, BODY)).toBe(BODY_SIGNATURE_KEY_2);
  });

  it('signs escaped slashes exactly as sent', () => {
    expect(ESCAPED_BODY.toString()).toContain('\\/restapi');
    expect(computeConnectSignature(KEY_1, ESCAPED_BODY)).toBe(
      'lDCh6pZGIwFQIyUDmZYVQai7RT4WTgBYxGq7QLi6/3Q=',
    );
  });
});

describe('Connect HMAC verification', () => {
  it('accepts a body signed by the configured key', () => {
    expect(verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_1)], [key1])).toEqual({
      ok: true,
      evidence: { keyId: 'key-1', header: 1 },
    });
  });

  it('accepts during rotation when only the second header matches the one key held', () => {
    const signatures = [signature(1, BODY_SIGNATURE_KEY_1), signature(2, BODY_SIGNATURE_KEY_2)];
    expect(verifyConnectSignatures(BODY, signatures, [key2])).toEqual({
      ok: true,
      evidence: { keyId: 'key-2', header: 2 },
    });
  });

  it('accepts when any of several keys matches', () => {
    expect(
      verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_2)], [key1, key2]),
    ).toMatchObject({
      ok: true,
      evidence: { keyId: 'key-2' },
    });
  });

  it('rejects a re-serialized copy of the body', () => {
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(ESCAPED_BODY.toString())));
    expect(reserialized.equals(ESCAPED_BODY)).toBe(false);
    expect(
      verifyConnectSignatures(
        reserialized,
        [signature(1, 'lDCh6pZGIwFQIyUDmZYVQai7RT4WTgBYxGq7QLi6/3Q=')],
        [key1],
      ),
    ).toMatchObject({ ok: false, reason: 'hmac_mismatch' });
  });

  it('rejects a body with a CRLF added after signing', () => {
    const body = Buffer.concat([BODY, Buffer.from('\r\n')]);
    expect(
      verifyConnectSignatures(body, [signature(1, BODY_SIGNATURE_KEY_1)], [key1]),
    ).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });

  it('rejects when the key was configured with its trailing = dropped', () => {
    const truncated = { id: 'k', secret: KEY_1.replace(/=+$/, '') };
    expect(
      verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_1)], [truncated]),
    ).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });

  it('rejects when the key was base64-decoded before use', () => {
    const decoded = { id: 'k', secret: Buffer.from(KEY_1, 'base64').toString('latin1') };
    expect(
      verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_1)], [decoded]),
    ).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });

  it('rejects with hmac_no_keys when no key is configured', () => {
    expect(verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_1)], [])).toMatchObject({
      reason: 'hmac_no_keys',
    });
  });

  it('rejects with hmac_signature_missing when there is no signature', () => {
    expect(verifyConnectSignatures(BODY, [], [key1])).toMatchObject({
      reason: 'hmac_signature_missing',
    });
  });

  it.each([
    ['not base64', '!!!!'],
    ['base64 of 31 bytes', Buffer.alloc(31).toString('base64')],
    ['base64 of 33 bytes', Buffer.alloc(33).toString('base64')],
    ['unpadded base64', BODY_SIGNATURE_KEY_1.replace('=', '')],
    ['base64url', Buffer.from(BODY_SIGNATURE_KEY_1, 'base64').toString('base64url') + '='],
    ['non-canonical trailing bits', BODY_SIGNATURE_KEY_1.replace('c=', 'd=')],
  ])('rejects a signature that is %s as malformed', (_label, value) => {
    expect(verifyConnectSignatures(BODY, [signature(1, value)], [key1])).toMatchObject({
      ok: false,
      reason: 'hmac_signature_malformed',
    });
  });

  it('accepts when another header matches even though one header is malformed', () => {
    const signatures = [signature(1, 'garbage'), signature(2, BODY_SIGNATURE_KEY_1)];
    expect(verifyConnectSignatures(BODY, signatures, [key1])).toMatchObject({
      ok: true,
      evidence: { header: 2 },
    });
  });

  it('rejects a well-formed signature made with another key as hmac_mismatch', () => {
    expect(
      verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_2)], [key1]),
    ).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });
});

describe('Connect HMAC over the delivery fixtures', () => {
  const fixture = (name: string) => readFileSync(resolve('test/fixtures/connect', name));

  it.each(['recipient-completed-pretty-crlf.json', 'envelope-completed.xml', 'envelope-sent.json'])(
    'verifies %s signed over its raw bytes',
    (name) => {
      const body = fixture(name);
      const signatures = [signature(1, computeConnectSignature(KEY_1, body))];
      expect(verifyConnectSignatures(body, signatures, [key1]).ok).toBe(true);
    },
  );

  it('rejects the CRLF fixture once its line ends are normalised to LF', () => {
    const body = fixture('recipient-completed-pretty-crlf.json');
    expect(body.includes('\r\n')).toBe(true);
    const normalised = Buffer.from(body.toString('utf8').replace(/\r\n/g, '\n'));
    const signatures = [signature(1, computeConnectSignature(KEY_1, body))];
    expect(verifyConnectSignatures(normalised, signatures, [key1])).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });

  it('rejects the CRLF fixture once it is re-serialized', () => {
    const body = fixture('recipient-completed-pretty-crlf.json');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    const signatures = [signature(1, computeConnectSignature(KEY_1, body))];
    expect(verifyConnectSignatures(reserialized, signatures, [key1])).toMatchObject({
      reason: 'hmac_mismatch',
    });
  });

  it('rejects when the raw body is missing rather than throwing', () => {
    const missing = undefined as unknown as Buffer;
    expect(
      verifyConnectSignatures(missing, [signature(1, BODY_SIGNATURE_KEY_1)], [key1]),
    ).toMatchObject({
      ok: false,
      reason: 'hmac_mismatch',
    });
  });

  it('rejects when a configured key is empty', () => {
    const keys = [key1, { id: 'blank', secret: '' }];
    expect(verifyConnectSignatures(BODY, [signature(1, BODY_SIGNATURE_KEY_1)], keys)).toMatchObject(
      {
        reason: 'hmac_no_keys',
      },
    );
  });
});

describe('Connect signature header extraction', () => {
  it('reads signature headers case-insensitively with their numbers', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'X-DocuSign-Signature-1',
      BODY_SIGNATURE_KEY_1,
      'x-docusign-signature-2',
      BODY_SIGNATURE_KEY_2,
    ];
    expect(extractConnectSignatures(raw)).toEqual({
      ok: true,
      evidence: [signature(1, BODY_SIGNATURE_KEY_1), signature(2, BODY_SIGNATURE_KEY_2)],
    });
  });

  it('rejects a delivery with no signature header as hmac_signature_missing', () => {
    expect(extractConnectSignatures(['Content-Type', 'application/json'])).toMatchObject({
      reason: 'hmac_signature_missing',
    });
  });

  it('rejects an empty signature value as hmac_signature_missing', () => {
    expect(extractConnectSignatures(['X-DocuSign-Signature-1', ''])).toMatchObject({
      reason: 'hmac_signature_missing',
    });
  });

  it('rejects the same number twice, whatever the case of the name', () => {
    const raw = [
      'X-DocuSign-Signature-1',
      BODY_SIGNATURE_KEY_1,
      'x-docusign-signature-1',
      BODY_SIGNATURE_KEY_2,
    ];
    expect(extractConnectSignatures(raw)).toMatchObject({ reason: 'hmac_signature_repeated' });
  });

  it('accepts 100 signature headers and rejects 101', () => {
    const headers = (count: number) =>
      Array.from({ length: count }, (_, i) => [
        `X-DocuSign-Signature-${i + 1}`,
        BODY_SIGNATURE_KEY_1,
      ]).flat();
    const hundred = extractConnectSignatures(headers(100));
    expect(hundred.ok && hundred.evidence.length).toBe(100);
    const raw = headers(100).concat(['X-DocuSign-Signature-7', BODY_SIGNATURE_KEY_1]);
    expect(extractConnectSignatures(raw)).toMatchObject({ reason: 'hmac_too_many_signatures' });
  });

  it.each([
    'X-DocuSign-Signature-101',
    'X-DocuSign-Signature-0',
    'X-DocuSign-Signature-01',
    'X-DocuSign-Signature-a',
    'X-DocuSign-Signature-',
    'X-DocuSign-Signature-99999999999999999999',
  ])('rejects the header name %s as hmac_signature_malformed', (name) => {
    expect(extractConnectSignatures([name, BODY_SIGNATURE_KEY_1])).toMatchObject({
      reason: 'hmac_signature_malformed',
    });
  });

  it('never throws on arbitrary raw headers', () => {
    const name = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[Xx]-[Dd]ocu[Ss]ign-[Ss]ignature-[0-9]{0,4}$/),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string()), { maxLength: 120 }), (pairs) => {
        const verdict = extractConnectSignatures(pairs.flat());
        if (verdict.ok) {
          return verdict.evidence.every((s) => s.index >= 1 && s.index <= 100 && s.value !== '');
        }
        return verdict.reason.startsWith('hmac_');
      }),
    );
  });

  it('verifies whatever it extracts without throwing', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 6 }), (values) => {
        const signatures = values.map((value, i) => signature(i + 1, value));
        const verdict = verifyConnectSignatures(BODY, signatures, [key1]);
        return !verdict.ok;
      }),
    );
  });
});
