import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  generateDevPki,
  type DevPkiManifest,
  type DevPkiRole,
} from '../../../tools/pki/dev-pki.js';

/** One certificate with its key, as PEM text and as the files the dev PKI wrote. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The dev PKI certificates the proxy tests use. */
export interface ProxyTestPki {
  /** Root + intermediate: the profile's trust bundle and the listener's client CA file. */
  readonly caBundleFile: string;
  readonly caBundlePem: string;
  /** The listener's server certificate (leaf + intermediate), also served by nginx. */
  readonly server: IssuedCertificate;
  /** The genuine Connect client certificate. */
  readonly connectClient: IssuedCertificate;
  /** The subject the profile requires (the genuine Connect certificate's). */
  readonly connectSubject: string;
  /** Trusted chain, another subject. */
  readonly otherSubjectClient: IssuedCertificate;
  /** The Connect subject, issued by a CA the profile does not trust. */
  readonly unrelatedCaClient: IssuedCertificate;
  /** The Connect subject from the trusted intermediate, expired. */
  readonly expiredClient: IssuedCertificate;
  /** The Connect subject from the trusted intermediate, valid only from next month. */
  readonly notYetValidClient: IssuedCertificate;
  /** The Connect subject, self-signed. */
  readonly selfSignedClient: IssuedCertificate;
}

async function issued(
  manifest: DevPkiManifest,
  role: DevPkiRole,
  use: 'certificate' | 'chain',
): Promise<IssuedCertificate> {
  const entry = manifest.certificates[role];
  const certName = use === 'chain' ? entry.chain : entry.certificate;
  if (certName === undefined || entry.privateKey === undefined) {
    throw new Error(`the dev PKI has no ${use} and key for ${role}`);
  }
  const certFile = join(manifest.outDir, certName);
  const keyFile = join(manifest.outDir, entry.privateKey);
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  };
}

/** Generates the dev PKI (tools/pki) into `dir` and reads what the proxy tests need. */
export async function createProxyTestPki(dir: string): Promise<ProxyTestPki> {
  const manifest = await generateDevPki({ outDir: join(dir, 'pki') });
  const caBundleFile = join(manifest.outDir, manifest.caBundle);
  return {
    caBundleFile,
    caBundlePem: await readFile(caBundleFile, 'utf8'),
    server: await issued(manifest, 'listener', 'chain'),
    connectClient: await issued(manifest, 'connect-client', 'certificate'),
    connectSubject: manifest.certificates['connect-client'].subject,
    otherSubjectClient: await issued(manifest, 'other-subject-client', 'certificate'),
    unrelatedCaClient: await issued(manifest, 'unrelated-client', 'certificate'),
    expiredClient: await issued(manifest, 'expired-client', 'certificate'),
    notYetValidClient: await issued(manifest, 'not-yet-valid-client', 'certificate'),
    selfSignedClient: await issued(manifest, 'self-signed-client', 'certificate'),
  };
}
