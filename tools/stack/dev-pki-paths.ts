import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { generateDevPki, type DevPkiManifest, type DevPkiRole } from '../pki/dev-pki.js';

/** A certificate file (PEM, leaf first, may carry its chain) and its private key file. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** The dev PKI files the stack wires into the apps. */
export interface DevPkiPaths {
  /** Root + intermediate CA: trusted for client certificates and by clients for the servers. */
  readonly caBundle: string;
  readonly authServer: PemPair;
  readonly listener: PemPair;
  /** Connect's client certificate: what the listener profile and the auth-server pin. */
  readonly connectClient: PemPair & {
    readonly thumbprint: string;
    readonly subjectDn: string;
    readonly sanDns: string;
  };
  /** Same CA, another subject: trusted, but not Connect. */
  readonly otherSubjectClient: PemPair;
  /** Issued by a CA nobody here trusts. */
  readonly unrelatedClient: PemPair;
}

/** Makes (or reads back) a dev PKI in `dir`, recording the files it created in `created`. */
export type DevPkiProvider = (dir: string, created: string[]) => Promise<DevPkiPaths>;

/** The repository's dev PKI tool (tools/pki): generated once, then read back from its manifest. */
export const ensureDevPki: DevPkiProvider = async (dir, created) => {
  const manifestFile = join(dir, 'manifest.json');
  let manifest: DevPkiManifest;
  if (existsSync(manifestFile)) {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as DevPkiManifest;
  } else {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    manifest = await generateDevPki({ outDir: dir });
    created.push(...manifest.files.map((file) => join(dir, file.path)));
  }

  const pair = (role: DevPkiRole): PemPair => {
    const entry = manifest.certificates[role];
    if (!entry.privateKey) {
      throw new Error(`the dev PKI in ${dir} has no private key for ${role}`);
    }
    // present the chain (leaf + intermediate) where there is one
    return { cert: join(dir, entry.chain ?? entry.certificate), key: join(dir, entry.privateKey) };
  };
  const connect = manifest.certificates['connect-client'];
  const connectPem = await readFile(join(dir, connect.certificate), 'utf8');
  const sanDns = /DNS:([^,\s]+)/.exec(new X509Certificate(connectPem).subjectAltName ?? '')?.[1];
  if (!sanDns) {
    throw new Error(`the Connect client certificate in ${dir} has no DNS subject alternative name`);
  }

  const paths: DevPkiPaths = {
    caBundle: join(dir, manifest.caBundle),
    authServer: pair('auth-server'),
    listener: pair('listener'),
    connectClient: {
      ...pair('connect-client'),
      thumbprint: connect.thumbprint,
      subjectDn: connect.subject,
      sanDns,
    },
    otherSubjectClient: pair('other-subject-client'),
    unrelatedClient: pair('unrelated-client'),
  };
  if (!pkiFilesExist(paths)) {
    throw new Error(`the dev PKI in ${dir} is incomplete: remove the directory to make a new one`);
  }
  return paths;
};

/** True when every file of `paths` exists. */
export function pkiFilesExist(paths: DevPkiPaths): boolean {
  const pairs = [
    paths.authServer,
    paths.listener,
    paths.connectClient,
    paths.otherSubjectClient,
    paths.unrelatedClient,
  ];
  return existsSync(paths.caBundle) && pairs.every((p) => existsSync(p.cert) && existsSync(p.key));
}
