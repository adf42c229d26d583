import { createHmac, timingSafeEqual } from 'node:crypto';

import { accept, reject, type Verdict } from './verdict.js';

/** One `X-DocuSign-Signature-N` header: its number N and its (base64) value. */
export interface ConnectSignature {
  readonly index: number;
  readonly value: string;
}

/** A Connect HMAC key as DocuSign issued it; `id` names it in logs, `secret` never leaves. */
export interface HmacKey {
  readonly id: string;
  readonly secret: string;
}

const SIGNATURE_HEADER_PREFIX = 'x-docusign-signature-';
const MAX_SIGNATURES = 100;
const CANONICAL_INDEX = /^[1-9][0-9]*$/;
const SIGNATURE_BYTES = 32;
const STRICT_BASE64_32_BYTES = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** The Connect signature of a body: base64 of HMAC-SHA256 keyed with the key string's UTF-8 bytes. */
export function computeConnectSignature(key: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(body).digest('base64');
}

/** Reads every `X-DocuSign-Signature-N` header (N in 1..100) from Node's `req.rawHeaders`. */
export function extractConnectSignatures(
  rawHeaders: readonly string[],
): Verdict<ConnectSignature[]> {
  const candidates: { suffix: string; value: string }[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = String(rawHeaders[i]).toLowerCase();
    if (name.startsWith(SIGNATURE_HEADER_PREFIX)) {
      candidates.push({
        suffix: name.slice(SIGNATURE_HEADER_PREFIX.length),
        value: String(rawHeaders[i + 1]),
      });
    }
  }

  if (candidates.length > MAX_SIGNATURES) {
    return reject('hmac_too_many_signatures', `${candidates.length} signature headers`);
  }
  if (candidates.length === 0) {
    return reject('hmac_signature_missing');
  }

  const signatures: ConnectSignature[] = [];
  const seen = new Set<number>();
  for (const candidate of candidates) {
    if (!CANONICAL_INDEX.test(candidate.suffix) || candidate.suffix.length > 3) {
      return reject('hmac_signature_malformed', 'signature header number is not 1..100');
    }
    const index = Number(candidate.suffix);
    if (index > MAX_SIGNATURES) {
      return reject('hmac_signature_malformed', 'signature header number is not 1..100');
    }
    if (seen.has(index)) {
      return reject('hmac_signature_repeated', `signature ${index} appears twice`);
    }
    seen.add(index);

    const value = candidate.value.trim();
    if (value.length === 0) {
      return reject('hmac_signature_missing', `signature ${index} is empty`);
    }
    signatures.push({ index, value });
  }
  return accept(signatures);
}

/**
 * Accepts when ANY signature header matches ANY key. Every header is compared against every key
 * in constant time, without stopping early, so timing does not tell which key matched.
 */
export function verifyConnectSignatures(
  body: Buffer,
  signatures: readonly ConnectSignature[],
  keys: readonly HmacKey[],
): Verdict<{ keyId: string; header: number }> {
  if (keys.length === 0) {
    return reject('hmac_no_keys');
  }
  if (keys.some((key) => typeof key.secret !== 'string' || key.secret === '')) {
    return reject('hmac_no_keys', 'a configured key is empty');
  }
  if (signatures.length === 0) {
    return reject('hmac_signature_missing');
  }
  if (!Buffer.isBuffer(body)) {
    return reject('hmac_mismatch', 'the raw body is not available');
  }

  const expected = keys.map((key) =>
    createHmac('sha256', Buffer.from(key.secret, 'utf8')).update(body).digest(),
  );
  // a malformed header is still compared (against zeros) so every delivery costs the same
  const unusable = Buffer.alloc(SIGNATURE_BYTES);

  let match: { keyId: string; header: number } | undefined;
  let malformed = false;
  for (const signature of signatures) {
    const decoded = decodeSignature(signature.value);
    malformed = malformed || decoded === undefined;
    const presented = decoded ?? unusable;
    for (let k = 0; k < keys.length; k += 1) {
      const equal = timingSafeEqual(presented, expected[k]) && decoded !== undefined;
      if (equal && match === undefined) {
        match = { keyId: keys[k].id, header: signature.index };
      }
    }
  }

  if (match !== undefined) {
    return accept(match);
  }
  if (malformed) {
    return reject('hmac_signature_malformed', 'a signature is not base64 of 32 bytes');
  }
  return reject('hmac_mismatch');
}

function decodeSignature(value: string): Buffer | undefined {
  if (typeof value !== 'string' || !STRICT_BASE64_32_BYTES.test(value)) {
    return undefined;
  }
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === SIGNATURE_BYTES ? decoded : undefined;
}
