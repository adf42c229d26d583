import { X509Certificate } from 'node:crypto';

import * as x509 from '@peculiar/x509';

import { accept, reject, type Verdict } from './verdict.js';

const PEM_CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_PEM_LENGTH = 1024 * 1024;

/** Validity periods already read (in ms), by certificate object; `null` when unreadable. */
const validityPeriods = new WeakMap<
  X509Certificate,
  { readonly notBefore: number; readonly notAfter: number } | null
>();

/** Parses one X.509 certificate from PEM text or DER bytes. */
export function parseCertificate(input: string | Buffer): Verdict<X509Certificate> {
  if (typeof input === 'string' || looksLikePem(input)) {
    const blocks = pemCertificateBlocks(
      typeof input === 'string' ? input : input.toString('latin1'),
    );
    if (!blocks.ok) {
      return blocks;
    }
    if (blocks.evidence.length !== 1) {
      return reject('certificate_malformed', 'expected exactly one PEM certificate');
    }
    return certificateFromDer(blocks.evidence[0]);
  }
  return certificateFromDer(input);
}

/** Parses DER bytes only (never PEM), for encodings that promise DER such as RFC 9440. */
export function parseCertificateDer(der: Buffer): Verdict<X509Certificate> {
  return certificateFromDer(der);
}

/** Parses every PEM certificate block of `pem`, in order; at least one is required. */
export function parseCertificateChain(pem: string): Verdict<X509Certificate[]> {
  const blocks = pemCertificateBlocks(pem);
  if (!blocks.ok) {
    return blocks;
  }
  if (blocks.evidence.length === 0) {
    return reject('certificate_malformed', 'no PEM certificate found');
  }

  const certificates: X509Certificate[] = [];
  for (const der of blocks.evidence) {
    const parsed = certificateFromDer(der);
    if (!parsed.ok) {
      return parsed;
    }
    certificates.push(parsed.evidence);
  }
  return accept(certificates);
}

/** Checks that `now` lies within the certificate's validity period, both ends inclusive. */
export function checkValidity(
  cert: X509Certificate,
  now: Date = new Date(),
): Verdict<{ notBefore: Date; notAfter: Date }> {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    return reject('certificate_expired', 'no valid current time to check against');
  }
  const period = validityPeriod(cert);
  if (period === undefined) {
    return reject('certificate_malformed', 'unreadable validity period');
  }
  if (now.getTime() < period.notBefore.getTime()) {
    return reject('certificate_not_yet_valid', `valid from ${period.notBefore.toISOString()}`);
  }
  if (now.getTime() > period.notAfter.getTime()) {
    return reject('certificate_expired', `expired at ${period.notAfter.toISOString()}`);
  }
  return accept(period);
}

/**
 * Reads the validity period to the second from node's own fields (OpenSSL prints both times in
 * GMT to the second, as X.509 stores them), without parsing the certificate again.
 */
export function validityPeriod(
  cert: X509Certificate,
): { notBefore: Date; notAfter: Date } | undefined {
  let period = validityPeriods.get(cert);
  if (period === undefined) {
    const notBefore = new Date(cert.validFrom).getTime();
    const notAfter = new Date(cert.validTo).getTime();
    period = Number.isNaN(notBefore) || Number.isNaN(notAfter) ? null : { notBefore, notAfter };
    validityPeriods.set(cert, period);
  }
  // fresh Dates each time, so no caller can move another's period
  return period === null
    ? undefined
    : { notBefore: new Date(period.notBefore), notAfter: new Date(period.notAfter) };
}

/** Reads a node certificate with @peculiar/x509 for structured access; undefined if it cannot. */
export function toPeculiar(cert: X509Certificate): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(new Uint8Array(cert.raw));
  } catch {
    return undefined;
  }
}

function looksLikePem(input: Buffer): boolean {
  return input.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN');
}

function pemCertificateBlocks(pem: string): Verdict<Buffer[]> {
  if (pem.length > MAX_PEM_LENGTH) {
    return reject('certificate_malformed', 'PEM input too large');
  }

  const blocks: Buffer[] = [];
  for (const match of pem.matchAll(PEM_CERTIFICATE_BLOCK)) {
    const body = match[1].replace(/[\r\n\t ]/g, '');
    if (body.length === 0 || !STRICT_BASE64.test(body)) {
      return reject('certificate_malformed', 'PEM body is not base64');
    }
    blocks.push(Buffer.from(body, 'base64'));
  }
  return accept(blocks);
}

function certificateFromDer(der: Buffer): Verdict<X509Certificate> {
  if (der.length === 0) {
    return reject('certificate_malformed', 'empty certificate');
  }
  try {
    const cert = new X509Certificate(der);
    // node ignores bytes after the certificate; a certificate with a tail is not the one we hash
    if (cert.raw.length !== der.length) {
      return reject('certificate_malformed', 'trailing bytes after the certificate');
    }
    return accept(cert);
  } catch {
    return reject('certificate_malformed', 'not an X.509 certificate');
  }
}
