import type { X509Certificate } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import {
  checkValidity,
  matchesPinnedThumbprint,
  matchSubject,
  parseBasicAuthorization,
  verifySecret,
  verifySecretAgainstNothing,
} from '@countersign/security';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

import type { ClientAuthMethod } from '../clients/clients-file.schema.js';
import type { RegisteredClient } from '../clients/client-registry.js';
import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { FailedAuthenticationLimiter } from '../rate-limit/failed-authentication.limiter.js';
import type { FormParameters } from './form-parameters.js';
import { OAuthError, type RefusalReason } from './oauth-error.js';

/** What a request to a client-authenticated endpoint brings with it. */
export interface ClientCall {
  readonly authorization: string | undefined;
  readonly form: FormParameters;
  /** The certificate of the TLS connection, if the client sent one. */
  readonly certificate: X509Certificate | undefined;
  /** Whether the TLS layer verified that certificate against AUTH_CLIENT_CA_FILE. */
  readonly certificateAuthorized: boolean;
  /** OpenSSL's verification error when it did not (e.g. `CERT_HAS_EXPIRED`). */
  readonly certificateAuthorizationError?: string;
  readonly remoteAddress: string | undefined;
}

export interface AuthenticatedClient {
  readonly client: RegisteredClient;
  readonly method: ClientAuthMethod;
}

// the TLS layer checks validity dates while it builds the chain; name those failures precisely
const TLS_VERIFY_REASONS: Record<string, RefusalReason> = {
  CERT_HAS_EXPIRED: 'certificate_expired',
  CERT_NOT_YET_VALID: 'certificate_not_yet_valid',
};

type PresentedSecret = { method: 'client_secret_basic' | 'client_secret_post'; secret: string };

/**
 * Client authentication (RFC 6749 §2.3, RFC 8705 §2). The client is looked up by `client_id`
 * only, and must use the one method it is registered with. Unknown clients, wrong secrets and
 * wrong methods all spend one slow hash, so they take the same time to refuse.
 */
@Injectable()
export class ClientAuthenticator {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    private readonly limiter: FailedAuthenticationLimiter,
    @InjectPinoLogger(ClientAuthenticator.name) private readonly logger: PinoLogger,
  ) {}

  async authenticate(call: ClientCall): Promise<AuthenticatedClient> {
    const usedHeader = call.authorization !== undefined;
    const refuse = (error: 'invalid_request' | 'invalid_client', reason: RefusalReason) => {
      const refusal = new OAuthError(error, reason);
      refusal.usedAuthorizationHeader = usedHeader;
      return refusal;
    };

    // which credentials came, and from where
    let basic: { username: string; password: string } | undefined;
    if (call.authorization !== undefined) {
      if (!/^basic /i.test(call.authorization)) {
        throw refuse('invalid_client', 'authorization_scheme_unsupported');
      }
      const parsed = parseBasicAuthorization(call.authorization, { formUrlDecode: true });
      if (!parsed.ok) throw refuse('invalid_client', parsed.reason);
      basic = parsed.evidence;
    }
    const bodyId = call.form.get('client_id');
    const bodySecret = call.form.get('client_secret');
    if (basic !== undefined && bodySecret !== undefined) {
      throw refuse('invalid_request', 'multiple_auth_methods');
    }
    if (basic !== undefined && bodyId !== undefined && bodyId !== basic.username) {
      throw refuse('invalid_request', 'client_id_mismatch');
    }
    const clientId = basic !== undefined ? basic.username : bodyId;
    if (clientId === undefined || clientId === '') {
      throw refuse(usedHeader ? 'invalid_client' : 'invalid_request', 'client_id_missing');
    }
    const secret: PresentedSecret | undefined =
      basic !== undefined
        ? { method: 'client_secret_basic', secret: basic.password }
        : bodySecret !== undefined
          ? { method: 'client_secret_post', secret: bodySecret }
          : undefined;

    await this.refuseWhenLimited(clientId, call.remoteAddress);

    const client = this.config.clients.find(clientId);
    const outcome = await this.verify(client, secret, call);
    if (outcome !== 'ok' || client === undefined) {
      await this.recordFailure(clientId, call.remoteAddress);
      const refusal = refuse('invalid_client', outcome === 'ok' ? 'client_unknown' : outcome);
      refusal.clientId = client?.clientId;
      throw refusal;
    }
    return { client, method: client.authMethod };
  }

  private async verify(
    client: RegisteredClient | undefined,
    secret: PresentedSecret | undefined,
    call: ClientCall,
  ): Promise<'ok' | RefusalReason> {
    if (client === undefined) {
      if (secret !== undefined) await verifySecretAgainstNothing(secret.secret);
      return 'client_unknown';
    }

    if (secret !== undefined) {
      if (client.authMethod !== secret.method || client.secretHash === undefined) {
        await verifySecretAgainstNothing(secret.secret);
        return 'client_auth_method_mismatch';
      }
      return (await verifySecret(secret.secret, client.secretHash))
        ? 'ok'
        : 'client_secret_mismatch';
    }

    switch (client.authMethod) {
      case 'client_secret_basic':
      case 'client_secret_post':
        return 'client_credentials_missing';
      case 'tls_client_auth':
        return this.verifyPkiCertificate(client, call);
      case 'self_signed_tls_client_auth':
        return this.verifySelfSignedCertificate(client, call);
    }
  }

  // RFC 8705 §2.1: a chain to the dedicated client CA, plus the one registered subject value
  private verifyPkiCertificate(client: RegisteredClient, call: ClientCall): 'ok' | RefusalReason {
    if (call.certificate === undefined) return 'certificate_missing';
    if (this.config.tls.clientCa === undefined || !call.certificateAuthorized) {
      return (
        TLS_VERIFY_REASONS[call.certificateAuthorizationError ?? ''] ?? 'certificate_not_trusted'
      );
    }
    const validity = checkValidity(call.certificate);
    if (!validity.ok) return validity.reason;
    if (client.subjectRule === undefined) return 'certificate_subject_mismatch';
    const subject = matchSubject(call.certificate, client.subjectRule);
    return subject.ok ? 'ok' : subject.reason;
  }

  // RFC 8705 §2.2: no chain; the whole certificate must be one registered in the client's jwks
  private verifySelfSignedCertificate(
    client: RegisteredClient,
    call: ClientCall,
  ): 'ok' | RefusalReason {
    if (call.certificate === undefined) return 'certificate_missing';
    const validity = checkValidity(call.certificate);
    if (!validity.ok) return validity.reason;
    return matchesPinnedThumbprint(call.certificate, client.pinnedThumbprints)
      ? 'ok'
      : 'certificate_not_pinned';
  }

  private async refuseWhenLimited(clientId: string, address: string | undefined): Promise<void> {
    let decision;
    try {
      decision = await this.limiter.check(clientId, address);
    } catch (error) {
      this.logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'cannot read the failed-authentication counters; refusing',
      );
      throw new OAuthError('temporarily_unavailable', 'rate_limit_unavailable');
    }
    if (decision.limited) {
      throw new OAuthError('temporarily_unavailable', 'rate_limited', {
        status: 429,
        clientId,
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
  }

  private async recordFailure(clientId: string, address: string | undefined): Promise<void> {
    try {
      await this.limiter.recordFailure(clientId, address);
    } catch (error) {
      this.logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'cannot count a failed authentication',
      );
    }
  }
}
