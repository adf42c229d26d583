import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import {
  accept,
  readForwardedCertificate,
  type PresentedCertificate,
  type Verdict,
} from '@countersign/security';
import { LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';

/** Certificates the client sent after its leaf, from the TLS stack (no parsing of our own). */
function peerIntermediates(socket: TLSSocket): X509Certificate[] {
  const intermediates: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  while (current?.issuerCertificate !== undefined && !seen.has(current)) {
    seen.add(current);
    const issuer: DetailedPeerCertificate = current.issuerCertificate;
    if (issuer === current || issuer.raw === undefined) break;
    intermediates.push(new X509Certificate(issuer.raw));
    current = issuer;
  }
  return intermediates;
}

/**
 * Reads the client certificate of a delivery: from the TLS socket in `tls` mode, or from the
 * proxy's header in `proxy` mode, and then only when the peer is an allowlisted proxy.
 */
@Injectable()
export class ClientCertificateReader {
  constructor(@Inject(LISTENER_SETTINGS) private readonly settings: ListenerSettings) {}

  /** `undefined` evidence means no certificate was forwarded. */
  read(request: IncomingMessage): Verdict<PresentedCertificate | undefined> {
    const { forwarded: source } = this.settings;
    if (source === undefined) {
      const socket = request.socket as TLSSocket;
      const leaf = socket.getPeerX509Certificate();
      return accept({
        source: 'tls',
        leaf,
        authorized: socket.authorized,
        authorizationError:
          socket.authorizationError === null ? undefined : String(socket.authorizationError),
      });
    }

    const forwarded = readForwardedCertificate({
      format: source.format,
      headerName: source.headerName,
      rawHeaders: request.rawHeaders,
      remoteAddress: request.socket.remoteAddress,
      allowlist: source.allowlist,
    });
    if (!forwarded.ok) return forwarded;
    if (forwarded.evidence === null) return accept(undefined);
    return accept({
      source: 'forwarded',
      leaf: forwarded.evidence.leaf,
      chain: forwarded.evidence.chain,
    });
  }

  /** The intermediates sent on a direct TLS connection (empty in proxy mode). */
  intermediates(request: IncomingMessage): X509Certificate[] {
    return this.settings.env.LISTENER_MODE === 'tls'
      ? peerIntermediates(request.socket as TLSSocket)
      : [];
  }
}
