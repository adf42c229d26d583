import { applyDecorators } from '@nestjs/common';
import type { DocumentBuilder, OpenAPIObject, SchemaObject } from '@nestjs/swagger';
import {
  ApiBody,
  ApiConsumes,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';

import { OAUTH_ERROR_CODES } from '../oauth/oauth-error.js';

/** Security scheme names in the auth-server's OpenAPI document. */
export const CLIENT_SECRET_BASIC = 'client_secret_basic';
export const CLIENT_CERTIFICATE = 'tls_client_auth';

const FORM = 'application/x-www-form-urlencoded';

const CLIENT_CREDENTIALS_IN_FORM: Record<string, SchemaObject> = {
  client_id: {
    type: 'string',
    description: 'client_secret_post and the mTLS methods: the registered client id',
  },
  client_secret: {
    type: 'string',
    description: 'client_secret_post only: the client secret (never together with Basic)',
  },
};

const OAUTH_ERROR: SchemaObject = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'string',
      // every code the exception filter can send, so the document cannot fall behind it
      enum: [...OAUTH_ERROR_CODES],
    },
    error_description: {
      type: 'string',
      description: 'A generic sentence; the real reason is only logged and counted',
    },
  },
};

const NO_STORE = {
  'Cache-Control': { description: 'Always `no-store`', schema: { type: 'string' } },
} as const;

/** Client authentication (RFC 6749 §2.3, RFC 8705 §2) and the refusals every OAuth call shares. */
function clientAuthenticated(): MethodDecorator {
  return applyDecorators(
    ApiTags('oauth'),
    ApiSecurity(CLIENT_SECRET_BASIC),
    ApiSecurity(CLIENT_CERTIFICATE),
    ApiConsumes(FORM),
    ApiProduces('application/json'),
    ApiResponse({
      status: 400,
      description:
        'A malformed or refused request (RFC 6749 §5.2), including a failed client ' +
        'authentication that did not use the Authorization header',
      schema: OAUTH_ERROR,
      headers: NO_STORE,
    }),
    ApiResponse({
      status: 401,
      description: '`invalid_client` when the client authenticated with the Authorization header',
      schema: OAUTH_ERROR,
      headers: {
        ...NO_STORE,
        'WWW-Authenticate': { description: '`Basic realm="<issuer>"`', schema: { type: 'string' } },
      },
    }),
    ApiResponse({
      status: 429,
      description: 'Too many failed authentications from this client or address',
      schema: OAUTH_ERROR,
      headers: {
        ...NO_STORE,
        'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
      },
    }),
    ApiResponse({
      status: 500,
      description: '`server_error`: the request failed unexpectedly (the cause is only logged)',
      schema: OAUTH_ERROR,
      headers: NO_STORE,
    }),
    ApiResponse({
      status: 503,
      description: '`temporarily_unavailable`: Redis (rate limits, revocations) does not answer',
      schema: OAUTH_ERROR,
      headers: NO_STORE,
    }),
  );
}

/** `POST /oauth2/token`: the client credentials grant. */
export function ApiTokenEndpoint(): MethodDecorator {
  return applyDecorators(
    clientAuthenticated(),
    ApiOperation({
      summary: 'Issue an access token (client credentials grant)',
      description:
        'RFC 6749 §4.4. When the connection carries a client certificate the token is bound to it ' +
        '(RFC 8705 `cnf.x5t#S256`), whatever the authentication method.',
    }),
    ApiBody({
      required: true,
      schema: {
        type: 'object',
        required: ['grant_type'],
        properties: {
          grant_type: { type: 'string', enum: ['client_credentials'] },
          scope: { type: 'string', description: 'Space-separated scopes; default: all allowed' },
          resource: {
            type: 'array',
            items: { type: 'string', format: 'uri' },
            description: 'RFC 8707 resource indicators (repeatable)',
          },
          ...CLIENT_CREDENTIALS_IN_FORM,
        },
      },
    }),
    ApiResponse({
      status: 200,
      description: 'A signed JWT access token (RFC 9068 `at+jwt`)',
      headers: NO_STORE,
      schema: {
        type: 'object',
        required: ['access_token', 'token_type', 'expires_in', 'scope'],
        properties: {
          access_token: { type: 'string' },
          token_type: { type: 'string', enum: ['Bearer'] },
          expires_in: { type: 'integer' },
          scope: { type: 'string' },
        },
      },
    }),
  );
}

/** `POST /oauth2/introspect`. */
export function ApiIntrospectionEndpoint(): MethodDecorator {
  return applyDecorators(
    clientAuthenticated(),
    ApiOperation({
      summary: 'Introspect an access token (RFC 7662)',
      description: 'Any token that is not live (unknown, expired, revoked) is `{"active": false}`.',
    }),
    ApiBody({
      required: true,
      schema: {
        type: 'object',
        required: ['token'],
        properties: { token: { type: 'string' }, ...CLIENT_CREDENTIALS_IN_FORM },
      },
    }),
    ApiResponse({
      status: 200,
      description: 'The token state and, when active, its claims',
      headers: NO_STORE,
      schema: {
        type: 'object',
        required: ['active'],
        properties: {
          active: { type: 'boolean' },
          token_type: { type: 'string' },
          iss: { type: 'string' },
          sub: { type: 'string' },
          aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          client_id: { type: 'string' },
          scope: { type: 'string' },
          iat: { type: 'integer' },
          exp: { type: 'integer' },
          jti: { type: 'string' },
          cnf: {
            type: 'object',
            properties: { 'x5t#S256': { type: 'string' } },
            description: 'Present on certificate-bound tokens',
          },
        },
      },
    }),
  );
}

/** `POST /oauth2/revoke`. */
export function ApiRevocationEndpoint(): MethodDecorator {
  return applyDecorators(
    clientAuthenticated(),
    ApiOperation({
      summary: 'Revoke an access token (RFC 7009)',
      description:
        'Only the client the token was issued to may revoke it. An invalid or expired token is ' +
        'not an error. Listeners that check revocations refuse the token from then on.',
    }),
    ApiBody({
      required: true,
      schema: {
        type: 'object',
        required: ['token'],
        properties: {
          token: { type: 'string' },
          token_type_hint: { type: 'string' },
          ...CLIENT_CREDENTIALS_IN_FORM,
        },
      },
    }),
    ApiResponse({
      status: 200,
      description: 'Revoked (or nothing to revoke)',
      headers: NO_STORE,
      schema: { type: 'object', additionalProperties: false },
    }),
  );
}

/** `GET /.well-known/oauth-authorization-server`. */
export function ApiMetadataEndpoint(): MethodDecorator {
  return applyDecorators(
    ApiTags('metadata'),
    ApiOperation({
      summary: 'Authorization server metadata (RFC 8414)',
      description: 'Endpoint URLs hang off the configured issuer exactly as configured.',
    }),
    ApiResponse({
      status: 200,
      description: 'The metadata document',
      schema: {
        type: 'object',
        required: ['issuer', 'token_endpoint', 'jwks_uri'],
        properties: {
          issuer: { type: 'string', format: 'uri' },
          token_endpoint: { type: 'string', format: 'uri' },
          jwks_uri: { type: 'string', format: 'uri' },
          introspection_endpoint: { type: 'string', format: 'uri' },
          revocation_endpoint: { type: 'string', format: 'uri' },
          grant_types_supported: { type: 'array', items: { type: 'string' } },
          token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
          scopes_supported: { type: 'array', items: { type: 'string' } },
          tls_client_certificate_bound_access_tokens: { type: 'boolean' },
        },
      },
    }),
  );
}

/** `GET /oauth2/jwks`. */
export function ApiJwksEndpoint(): MethodDecorator {
  return applyDecorators(
    ApiTags('metadata'),
    ApiOperation({
      summary: 'Public signing keys (JWK Set)',
      description: 'Active and retired keys whose tokens may still be live; public parts only.',
    }),
    ApiResponse({
      status: 200,
      description: 'The JWK Set',
      schema: {
        type: 'object',
        required: ['keys'],
        properties: {
          keys: {
            type: 'array',
            items: {
              type: 'object',
              required: ['kty', 'kid'],
              properties: {
                kty: { type: 'string' },
                kid: { type: 'string' },
                alg: { type: 'string' },
                use: { type: 'string' },
              },
            },
          },
        },
      },
    }),
  );
}

/** Security schemes and tags of the auth-server's document. */
export function configureAuthServerDocument(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addTag('oauth', 'Token, introspection and revocation endpoints')
    .addTag('metadata', 'Discovery metadata and signing keys')
    .addSecurity(CLIENT_SECRET_BASIC, {
      type: 'http',
      scheme: 'basic',
      description: 'client_secret_basic: client id and secret, each form-encoded (RFC 6749 §2.3.1)',
    });
}

/**
 * Adds the mutual-TLS scheme (OpenAPI 3.1 `mutualTLS`, which the builder's types do not know):
 * tls_client_auth and self_signed_tls_client_auth (RFC 8705 §2).
 */
export function addClientCertificateScheme(document: OpenAPIObject): void {
  const schemes = (document.components ??= {}).securitySchemes ?? {};
  Object.assign(schemes, {
    [CLIENT_CERTIFICATE]: {
      type: 'mutualTLS',
      description:
        'tls_client_auth (a certificate from the client CA whose subject matches the registration) ' +
        'or self_signed_tls_client_auth (a registered self-signed certificate)',
    },
  });
  document.components.securitySchemes = schemes;
}
