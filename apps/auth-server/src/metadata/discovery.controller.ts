import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { JSONWebKeySet } from 'jose';

import { CLIENT_AUTH_METHODS } from '../clients/clients-file.schema.js';
import { ApiJwksEndpoint, ApiMetadataEndpoint } from '../openapi/auth-server.openapi.js';
import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';

/** Path of the JWK Set (`jwks_uri`). */
export const JWKS_PATH = '/oauth2/jwks';

/**
 * RFC 8414 metadata and the JWK Set. `response_types_supported` is left out on purpose: this
 * server has no authorization endpoint, and RFC 8414 §3.2 forbids empty arrays.
 */
@Controller()
export class DiscoveryController {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    private readonly keys: SigningKeyStore,
  ) {}

  @Get('.well-known/oauth-authorization-server')
  @ApiMetadataEndpoint()
  @Header('Cache-Control', 'public, max-age=300')
  metadata(): Record<string, unknown> {
    // the issuer is used exactly as configured; endpoint URLs hang off it without normalising it
    const base = this.config.issuer.replace(/\/+$/, '');
    return {
      issuer: this.config.issuer,
      token_endpoint: `${base}/oauth2/token`,
      jwks_uri: `${base}${JWKS_PATH}`,
      introspection_endpoint: `${base}/oauth2/introspect`,
      revocation_endpoint: `${base}/oauth2/revoke`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      scopes_supported: this.config.clients.scopes(),
      tls_client_certificate_bound_access_tokens: true,
    };
  }

  @Get(JWKS_PATH.slice(1))
  @ApiJwksEndpoint()
  @Header('Cache-Control', 'public, max-age=60')
  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
