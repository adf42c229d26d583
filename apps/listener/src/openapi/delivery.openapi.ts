import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import { CONNECT_PARSE_REASONS } from '@countersign/connect';
import { REJECTION_REASONS } from '@countersign/security';
import {
  LISTENER_REJECTION_REASONS,
  type DeliveryRejectionReason,
} from '../rejection/delivery-rejection.js';
import { rejectionAnswer } from '../rejection/rejection-answer.js';

/** Security scheme names in the listener's OpenAPI document. */
export const DELIVERY_SCHEMES = {
  mutualTls: 'connect_certificate',
  bearer: 'connect_bearer_token',
  basic: 'connect_basic',
  hmac: 'connect_hmac',
} as const;

/** How many `X-DocuSign-Signature-N` headers the document lists (Connect sends up to 100). */
const DOCUMENTED_SIGNATURE_HEADERS = 3;

const EVERY_REASON: readonly DeliveryRejectionReason[] = [
  ...REJECTION_REASONS,
  ...CONNECT_PARSE_REASONS,
  ...LISTENER_REJECTION_REASONS,
];

/** The reason codes answered with `status`, read from the rejection filter's own mapping. */
export function reasonsAnsweredWith(status: number): DeliveryRejectionReason[] {
  return EVERY_REASON.filter((reason) => rejectionAnswer(reason).status === status);
}

function refusal(status: number, description: string, headers: Record<string, string> = {}) {
  const schema: SchemaObject = {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', enum: reasonsAnsweredWith(status), description: 'Reason code' },
      message: { type: 'string', description: 'Generic; never names a secret' },
    },
  };
  return ApiResponse({
    status,
    description,
    schema,
    headers: Object.fromEntries(
      Object.entries({ 'Cache-Control': 'Always `no-store`', ...headers }).map(([name, text]) => [
        name,
        { description: text, schema: { type: 'string' } },
      ]),
    ),
  });
}

/**
 * OpenAPI description of `POST /connect/{profile}`: which credentials a profile may require, and
 * every answer with the reason codes behind it.
 */
export function ApiConnectDelivery(): MethodDecorator {
  const signatureHeaders = Array.from({ length: DOCUMENTED_SIGNATURE_HEADERS }, (_, i) =>
    ApiHeader({
      name: `X-DocuSign-Signature-${i + 1}`,
      required: false,
      description:
        "Base64 HMAC-SHA256 of the exact body under one of the account's Connect keys. Any one " +
        'matching a key of the profile passes; up to 100 are read. Required when the profile ' +
        'checks `hmac`.',
    }),
  );
  return applyDecorators(
    ApiTags('connect'),
    ApiOperation({
      summary: 'Receive one DocuSign Connect delivery',
      description:
        'The profile named in the path decides which checks run, always in this order: client ' +
        'certificate (mtls), bearer token (oauth), Basic credentials (basic), token bound to the ' +
        'certificate (bound-token), then the HMAC over the body (hmac). A 200 is sent only once ' +
        'Redis holds the job; a redelivery of the same event within the dedupe window answers ' +
        '`duplicate` and is not enqueued again. An unreadable body is kept in quarantine and ' +
        'answered 400.',
    }),
    ApiParam({
      name: 'profile',
      description: 'A profile of the profiles file (lowercase letters, digits, `_`, `-`)',
      schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
    }),
    ...signatureHeaders,
    ApiSecurity(DELIVERY_SCHEMES.hmac),
    ApiSecurity({ [DELIVERY_SCHEMES.basic]: [], [DELIVERY_SCHEMES.hmac]: [] }),
    ApiSecurity({ [DELIVERY_SCHEMES.bearer]: [] }),
    ApiSecurity({ [DELIVERY_SCHEMES.bearer]: [], [DELIVERY_SCHEMES.hmac]: [] }),
    ApiSecurity({ [DELIVERY_SCHEMES.mutualTls]: [], [DELIVERY_SCHEMES.bearer]: [] }),
    ApiSecurity({
      [DELIVERY_SCHEMES.mutualTls]: [],
      [DELIVERY_SCHEMES.bearer]: [],
      [DELIVERY_SCHEMES.hmac]: [],
    }),
    ApiConsumes('application/json', 'application/xml', 'text/xml'),
    ApiBody({
      required: true,
      description:
        'The Connect event exactly as DocuSign sent it (JSON or XML, UTF-8); the HMAC covers ' +
        'these bytes. Bodies over LISTENER_BODY_LIMIT_BYTES are refused with 413.',
      schema: { type: 'string', format: 'binary' },
    }),
    ApiProduces('application/json'),
    ApiResponse({
      status: 200,
      description: 'Stored in Redis (`enqueued`) or already stored earlier (`duplicate`)',
      schema: {
        type: 'object',
        required: ['status', 'deliveryId'],
        properties: {
          status: { type: 'string', enum: ['enqueued', 'duplicate'] },
          deliveryId: {
            type: 'string',
            description: 'This HTTP delivery; every log line about it carries the same id',
          },
        },
      },
    }),
    refusal(400, 'Unreadable body (kept in quarantine) or a body that did not arrive whole'),
    refusal(401, 'A certificate, token, Basic credential or HMAC was refused', {
      'WWW-Authenticate':
        'On token and Basic refusals: `Bearer realm="countersign"[, error="invalid_token"]` or ' +
        '`Basic realm="countersign", charset="UTF-8"`',
    }),
    refusal(403, "The token lacks the profile's required scope", {
      'WWW-Authenticate': '`Bearer realm="countersign", error="insufficient_scope"`',
    }),
    refusal(404, 'No profile of that name'),
    refusal(413, 'The body is larger than LISTENER_BODY_LIMIT_BYTES', {
      Connection: '`close`',
    }),
    refusal(415, 'Not a Connect media type (application/json, application/xml, text/xml; UTF-8)'),
    refusal(
      503,
      'Redis, the payload store, the token keys or the revocation list cannot be ' +
        'reached; Connect retries later',
      { 'Retry-After': 'Seconds to wait before retrying' },
    ),
  );
}
