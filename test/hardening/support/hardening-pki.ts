import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDevPki, type DevPkiRole } from '../../../tools/pki/dev-pki.js';

/** A client identity as PEM: what a TLS client presents, and its x5t#S256 thumbprint. */
export interface ClientIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  readonly thumbprint: string;
}

/** The dev PKI of one hardening run, read back into memory. */
export interface HardeningPki {
  readonly dir: string;
  readonly caBundlePem: string;
  readonly caBundleFile: string;
  readonly rootFile: string;
  readonly rootPem: string;
  readonly listenerCertFile: string;
  readonly listenerKeyFile: string;
  readonly authServerCertPem: string;
  readonly authServerKeyPem: string;
  /** The Connect client certificate with its intermediate. */
  readonly connect: ClientIdentity;
  /** The same certificate without its intermediate. */
  readonly connectLeafOnly: ClientIdentity;
  readonly unrelated: ClientIdentity;
  readonly expired: ClientIdentity;
  readonly notYetValid: ClientIdentity;
  readonly otherSubject: ClientIdentity;
  readonly selfSigned: ClientIdentity;
}

/** Issues a fresh dev PKI (tools/pki) into `dir` and reads every identity the suite uses. */
export async function createHardeningPki(dir: string): Promise<HardeningPki> {
  const manifest = await generateDevPki({ outDir: dir });
  const text = (name: string) => readFile(join(dir, name), 'utf8');
  const identity = async (role: DevPkiRole, withChain: boolean): Promise<ClientIdentity> => {
    const entry = manifest.certificates[role];
    const certFile = withChain && entry.chain !== undefined ? entry.chain : entry.certificate;
    return {
      certPem: await text(certFile),
      keyPem: await text(entry.privateKey as string),
      thumbprint: entry.thumbprint,
    };
  };
  const listener = manifest.certificates.listener;
  const authServer = manifest.certificates['auth-server'];

  return {
    dir,
    caBundlePem: await text(manifest.caBundle),
    caBundleFile: join(dir, manifest.caBundle),
    rootFile: join(dir, manifest.certificates['root-ca'].certificate),
    rootPem: await text(manifest.certificates['root-ca'].certificate),
    listenerCertFile: join(dir, listener.chain ?? listener.certificate),
    listenerKeyFile: join(dir, listener.privateKey as string),
    authServerCertPem: await text(authServer.chain ?? authServer.certificate),
    authServerKeyPem: await text(authServer.privateKey as string),
    connect: await identity('connect-client', true),
    connectLeafOnly: await identity('connect-client', false),
    unrelated: await identity('unrelated-client', true),
    expired: await identity('expired-client', true),
    notYetValid: await identity('not-yet-valid-client', true),
    otherSubject: await identity('other-subject-client', true),
    selfSigned: await identity('self-signed-client', true),
  };
}
