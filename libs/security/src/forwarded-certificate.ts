import type { X509Certificate } from 'node:crypto';

import { parseCertificate, parseCertificateChain, parseCertificateDer } from './certificate.js';
import type { ProxyAllowlist } from './proxy-allowlist.js';
import { accept, reject, type Verdict } from './verdict.js';
import { parseXfcc } from './xfcc.js';

/** How a TLS-terminating proxy forwards the client certificate. */
export type ForwardedCertificateFormat = 'nginx' | 'envoy-xfcc' | 'aws-alb' | 'rfc9440';

/** A client certificate forwarded by a proxy: the leaf and any intermediates sent with it. */
export interface ForwardedCertificate {
  leaf: X509Certificate;
  chain: X509Certificate[];
}

/** What is needed to read a forwarded certificate from a request. */
export interface ForwardedCertificateInput {
  format: ForwardedCertificateFormat;
  /** Overrides the format's default header name (case-insensitive). */
  headerName?: string;
  rawHeaders: readonly string[];
  remoteAddress: string | undefined;
  allowlist: ProxyAllowlist;
}

/** The header each format uses unless told otherwise. */
export const DEFAULT_FORWARDED_CERTIFICATE_HEADERS: Readonly<
  Record<ForwardedCertificateFormat, string>
> = {
  nginx: 'x-ssl-client-cert',
  'envoy-xfcc': 'x-forwarded-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert',
  rfc9440: 'client-cert',
};

const PERCENT_ESCAPE_PROBLEM = /%(?![0-9A-Fa-f]{2})/;
const SF_BINARY = /^:([A-Za-z0-9+/]*={0,2}):$/;
const BASE64_LENGTH_OK = (body: string) => body.replace(/=+$/, '').length % 4 !== 1;

/**
 * Reads a proxy-forwarded client certificate. Absent header: accept(null), no certificate. The
 * header from a peer outside the allowlist, or repeated, rejects (fail closed).
 */
export function readForwardedCertificate(
  input: ForwardedCertificateInput,
): Verdict<ForwardedCertificate | null> {
  const headerName = (input.headerName ?? DEFAULT_FORWARDED_CERTIFICATE_HEADERS[input.format])
    .trim()
    .toLowerCase();
  const chainHeaderName = `${headerName}-chain`;
  const values = headerValues(input.rawHeaders, headerName);
  const chainValues =
    input.format === 'rfc9440' ? headerValues(input.rawHeaders, chainHeaderName) : [];

  if (values.length === 0 && chainValues.length === 0) {
    return accept(null);
  }
  if (!input.allowlist.allows(input.remoteAddress)) {
    return reject(
      'forwarded_certificate_untrusted_peer',
      'certificate header from an untrusted peer',
    );
  }
  if (values.length > 1) {
    return reject('forwarded_certificate_repeated', `${headerName} appears ${values.length} times`);
  }
  if (values.length === 0) {
    return reject('forwarded_certificate_malformed', `${chainHeaderName} without ${headerName}`);
  }

  const value = values[0].trim();
  if (value === '') {
    return accept(null);
  }
  switch (input.format) {
    case 'nginx':
      return readNginx(value);
    case 'envoy-xfcc':
      return readXfccCertificate(value);
    case 'aws-alb':
      return readAwsAlb(value);
    case 'rfc9440':
      return readRfc9440(value, chainValues);
    default:
      return reject('forwarded_certificate_malformed', 'unknown forwarding format');
  }
}

function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (String(rawHeaders[i]).toLowerCase() === name) {
      values.push(String(rawHeaders[i + 1]));
    }
  }
  return values;
}

function readNginx(value: string): Verdict<ForwardedCertificate> {
  const pem = percentDecode(value);
  if (pem === undefined) {
    return reject('forwarded_certificate_malformed', 'bad percent-encoding');
  }
  return singleCertificate(pem);
}

function readAwsAlb(value: string): Verdict<ForwardedCertificate> {
  const pem = percentDecode(value);
  if (pem === undefined) {
    return reject('forwarded_certificate_malformed', 'bad percent-encoding');
  }
  return leafFirstChain(pem);
}

function readXfccCertificate(value: string): Verdict<ForwardedCertificate | null> {
  const parsed = parseXfcc(value);
  if (!parsed.ok) {
    return parsed;
  }
  if (parsed.evidence.length !== 1) {
    return reject('forwarded_certificate_multiple_elements', 'XFCC must hold exactly one element');
  }

  const element = parsed.evidence[0];
  const certs = element.get('cert') ?? [];
  const chains = element.get('chain') ?? [];
  if (certs.length > 1 || chains.length > 1) {
    return reject('forwarded_certificate_malformed', 'XFCC Cert or Chain repeated');
  }
  if (certs.length === 0 && chains.length === 0) {
    return accept(null);
  }

  let chain: X509Certificate[] = [];
  if (chains.length === 1) {
    const pem = percentDecode(chains[0]);
    const parsedChain = pem === undefined ? undefined : parseCertificateChain(pem);
    if (parsedChain === undefined || !parsedChain.ok) {
      return reject('forwarded_certificate_malformed', 'XFCC Chain is not URL-encoded PEM');
    }
    chain = parsedChain.evidence;
  }
  if (certs.length === 0) {
    return accept({ leaf: chain[0], chain: chain.slice(1) });
  }

  const pem = percentDecode(certs[0]);
  const leaf = pem === undefined ? undefined : parseCertificate(pem);
  if (leaf === undefined || !leaf.ok) {
    return reject('forwarded_certificate_malformed', 'XFCC Cert is not URL-encoded PEM');
  }
  // Envoy's Chain starts with the leaf itself
  const intermediates = chain.filter((cert) => !cert.raw.equals(leaf.evidence.raw));
  return accept({ leaf: leaf.evidence, chain: intermediates });
}

function readRfc9440(value: string, chainValues: readonly string[]): Verdict<ForwardedCertificate> {
  const leafDer = sfBinary(value);
  if (leafDer === undefined) {
    return reject('forwarded_certificate_malformed', 'Client-Cert is not a byte sequence');
  }
  const leaf = parseCertificateDer(leafDer);
  if (!leaf.ok) {
    return reject('forwarded_certificate_malformed', 'Client-Cert is not a DER certificate');
  }

  const chain: X509Certificate[] = [];
  // a List may be split across header lines; joining them with commas is the same List
  const members = chainValues.length === 0 ? [] : chainValues.join(',').split(',');
  for (const member of members) {
    const der = sfBinary(member.trim());
    const cert = der === undefined ? undefined : parseCertificateDer(der);
    if (cert === undefined || !cert.ok) {
      return reject('forwarded_certificate_malformed', 'Client-Cert-Chain member is not DER');
    }
    chain.push(cert.evidence);
  }
  return accept({ leaf: leaf.evidence, chain });
}

function sfBinary(item: string): Buffer | undefined {
  const match = SF_BINARY.exec(item);
  if (match === null || match[1].length === 0 || !BASE64_LENGTH_OK(match[1])) {
    return undefined;
  }
  const body = match[1].replace(/=+$/, '');
  const decoded = Buffer.from(body, 'base64');
  // reject non-canonical encodings (stray bits) so one certificate has one spelling
  return decoded.toString('base64').replace(/=+$/, '') === body ? decoded : undefined;
}

/** RFC 3986 percent-decoding: `%XX` only, and `+` stays `+` (this is not form decoding). */
function percentDecode(value: string): string | undefined {
  if (PERCENT_ESCAPE_PROBLEM.test(value)) {
    return undefined;
  }
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function singleCertificate(pem: string): Verdict<ForwardedCertificate> {
  const leaf = parseCertificate(pem);
  if (!leaf.ok) {
    return reject('forwarded_certificate_malformed', 'not a URL-encoded PEM certificate');
  }
  return accept({ leaf: leaf.evidence, chain: [] });
}

function leafFirstChain(pem: string): Verdict<ForwardedCertificate> {
  const certs = parseCertificateChain(pem);
  if (!certs.ok) {
    return reject('forwarded_certificate_malformed', 'not URL-encoded PEM certificates');
  }
  const [leaf, ...chain] = certs.evidence;
  return accept({ leaf, chain });
}
