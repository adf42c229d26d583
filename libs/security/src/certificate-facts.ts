import type { X509Certificate } from 'node:crypto';

import * as x509 from '@peculiar/x509';

import { toPeculiar } from './certificate.js';
import { formatDistinguishedName, rdnsFromNameJson, type Rdn } from './distinguished-name.js';
import { thumbprintS256 } from './thumbprint.js';

/**
 * What the checks read from a certificate beyond node's own accessors. These never change for
 * the same DER bytes, so they are read once; time-dependent checks (validity) are not facts.
 */
export interface CertificateFacts {
  /** Subject RDNs in certificate order; empty when they cannot be read. */
  readonly subject: readonly Rdn[];
  /** Issuer RDNs in certificate order; empty when they cannot be read. */
  readonly issuer: readonly Rdn[];
  /** `subject` as an RFC 4514 string. */
  readonly subjectDn: string;
  /** `issuer` as an RFC 4514 string. */
  readonly issuerDn: string;
  /** The uniformResourceIdentifier SANs, in order. */
  readonly sanUris: readonly string[];
  /** Set when the certificate may issue others (CA, keyCertSign if key usage is present). */
  readonly authority?: { readonly pathLength?: number };
}

/** Sizing of a certificate facts cache. */
export interface CertificateFactsCacheOptions {
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 1024;

/**
 * Remembers the facts of recently seen certificates by their `x5t#S256`, so a sender's
 * certificate is parsed with @peculiar/x509 once rather than several times per delivery;
 * bounded, least-recently-used first out.
 */
export class CertificateFactsCache {
  private readonly entries = new Map<string, CertificateFacts>();
  private readonly maxEntries: number;

  constructor(options: CertificateFactsCacheOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? DEFAULT_MAX_ENTRIES));
  }

  /** The facts of `cert`, read now unless the same DER bytes were read recently. */
  factsOf(cert: X509Certificate): CertificateFacts {
    const key = thumbprintS256(cert);
    const cached = this.entries.get(key);
    // re-insert so the Map's insertion order doubles as recency order
    this.entries.delete(key);
    const facts = cached ?? readCertificateFacts(cert);
    this.entries.set(key, facts);

    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.entries.delete(oldest.value);
    }
    return facts;
  }

  /** How many certificates' facts are held. */
  get size(): number {
    return this.entries.size;
  }
}

const sharedCache = new CertificateFactsCache();

/** The facts of `cert`, through the process-wide bounded cache. */
export function certificateFacts(cert: X509Certificate): CertificateFacts {
  return sharedCache.factsOf(cert);
}

/** The certificate's subject as structured RDNs in certificate order. */
export function certificateSubjectRdns(cert: X509Certificate): Rdn[] {
  return [...certificateFacts(cert).subject];
}

/** The certificate's issuer as structured RDNs in certificate order. */
export function certificateIssuerRdns(cert: X509Certificate): Rdn[] {
  return [...certificateFacts(cert).issuer];
}

const UNREADABLE: CertificateFacts = Object.freeze({
  subject: [],
  issuer: [],
  subjectDn: '',
  issuerDn: '',
  sanUris: [],
});

function readCertificateFacts(cert: X509Certificate): CertificateFacts {
  const structured = toPeculiar(cert);
  if (structured === undefined) {
    return UNREADABLE;
  }
  const subject = readPart(() => rdnsFromNameJson(structured.subjectName.toJSON()), []);
  const issuer = readPart(() => rdnsFromNameJson(structured.issuerName.toJSON()), []);

  return deepFreeze({
    subject,
    issuer,
    subjectDn: formatDistinguishedName(subject),
    issuerDn: formatDistinguishedName(issuer),
    sanUris: readPart(() => sanUrisOf(structured), []),
    authority: readPart(() => authorityOf(structured), undefined),
  });
}

/** One part of the facts; a part that cannot be read counts as absent (fail closed). */
function readPart<T>(read: () => T, absent: T): T {
  try {
    return read();
  } catch {
    return absent;
  }
}

function sanUrisOf(structured: x509.X509Certificate): string[] {
  const san = structured.getExtension(x509.SubjectAlternativeNameExtension);
  if (san === null) {
    return [];
  }
  return san.names.items.filter((name) => name.type === 'url').map((name) => name.value);
}

function authorityOf(structured: x509.X509Certificate): CertificateFacts['authority'] {
  const constraints = structured.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    return undefined;
  }
  const keyUsage = structured.getExtension(x509.KeyUsagesExtension);
  if (keyUsage !== null && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    return undefined;
  }
  return constraints.pathLength === undefined ? {} : { pathLength: constraints.pathLength };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) {
      deepFreeze(member);
    }
    Object.freeze(value);
  }
  return value;
}
