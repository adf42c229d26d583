import { existsSync } from 'node:fs';

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

/** The repository's dev PKI tool (tools/pki). */
export const ensureDevPki: DevPkiProvider = (dir) => {
  // TODO(dev PKI lands ~20:20): call tools/pki generateDevPki and map its manifest
  return Promise.reject(new Error(`the dev PKI tool is not available yet (wanted ${dir})`));
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
