import type { INestApplication } from '@nestjs/common';
import type { DocumentBuilder, OpenAPIObject } from '@nestjs/swagger';
import { serveOpenApiDocument } from '@countersign/common';
import { DELIVERY_SCHEMES } from './delivery.openapi.js';

/** Version of the documented HTTP interface. */
const LISTENER_API_VERSION = '1.0.0';

function configure(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addTag('connect', 'DocuSign Connect deliveries')
    .addSecurity(DELIVERY_SCHEMES.bearer, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An access token from the configured issuer (signature, `typ`, issuer, audience, expiry, ' +
        'scope and revocation are checked); with the bound-token check it must carry ' +
        '`cnf.x5t#S256` of the client certificate (RFC 8705).',
    })
    .addSecurity(DELIVERY_SCHEMES.basic, {
      type: 'http',
      scheme: 'basic',
      description: 'The user name and password of the profile (stored as a scrypt hash).',
    })
    .addSecurity(DELIVERY_SCHEMES.hmac, {
      type: 'apiKey',
      in: 'header',
      name: 'X-DocuSign-Signature-1',
      description:
        'DocuSign Connect HMAC: `X-DocuSign-Signature-1..N`, each a base64 HMAC-SHA256 of the ' +
        "exact body under one of the profile's keys.",
    });
}

/** Adds the OpenAPI 3.1 `mutualTLS` scheme, which the document builder's types do not know. */
function addClientCertificateScheme(document: OpenAPIObject): void {
  const components = (document.components ??= {});
  components.securitySchemes = {
    ...components.securitySchemes,
    [DELIVERY_SCHEMES.mutualTls]: {
      type: 'mutualTLS',
      description:
        'The Connect client certificate, in the TLS handshake or, behind a TLS-terminating ' +
        'proxy, in the forwarded certificate header from a trusted proxy address. Checked ' +
        "against the profile's CAs, subject rules and pins.",
    } as unknown as NonNullable<typeof components.securitySchemes>[string],
  };
}

/** Builds the listener's OpenAPI document and serves it at `GET /openapi.json`. */
export function serveListenerOpenApi(app: INestApplication): OpenAPIObject {
  return serveOpenApiDocument(app, {
    title: 'Countersign listener',
    description:
      'Receives DocuSign Connect deliveries, verifies them in layers (mTLS, certificate-bound ' +
      'OAuth tokens, HMAC, Basic) as each profile requires, and enqueues them durably.',
    version: LISTENER_API_VERSION,
    configure,
    complete: addClientCertificateScheme,
  });
}
