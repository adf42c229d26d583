import type { DeliveryRejectionReason } from './delivery-rejection.js';

/** The realm in every `WWW-Authenticate` challenge the listener sends. */
export const REALM = 'countersign';

/** How a rejection is answered over HTTP. The message is generic: it never names a secret. */
export interface RejectionAnswer {
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

const BEARER_INVALID = `Bearer realm="${REALM}", error="invalid_token"`;
const RETRY_AFTER_SECONDS = '5';

/** Maps a reason code to its status, challenge and generic message. */
export function rejectionAnswer(reason: DeliveryRejectionReason): RejectionAnswer {
  if (reason === 'profile_unknown') {
    return { status: 404, message: 'no such Connect profile', headers: {} };
  }
  if (reason === 'token_missing') {
    return {
      status: 401,
      message: 'an access token is required',
      headers: { 'WWW-Authenticate': `Bearer realm="${REALM}"` },
    };
  }
  if (reason === 'token_scope_insufficient') {
    return {
      status: 403,
      message: 'the access token lacks the required scope',
      headers: { 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope"` },
    };
  }
  if (reason === 'token_jwks_unavailable' || reason === 'revocation_unavailable') {
    return {
      status: 503,
      message: 'the access token cannot be checked right now',
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    };
  }
  if (reason.startsWith('token_')) {
    return {
      status: 401,
      message: 'the access token was not accepted',
      headers: { 'WWW-Authenticate': BEARER_INVALID },
    };
  }
  if (reason.startsWith('basic_')) {
    return {
      status: 401,
      message: 'the credentials were not accepted',
      headers: { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` },
    };
  }
  if (
    reason.startsWith('certificate_') ||
    reason.startsWith('forwarded_') ||
    reason === 'distinguished_name_malformed'
  ) {
    return { status: 401, message: 'the client certificate was not accepted', headers: {} };
  }
  if (reason.startsWith('hmac_')) {
    return { status: 401, message: 'the delivery signature was not accepted', headers: {} };
  }
  if (reason === 'body_too_large') {
    return {
      status: 413,
      message: 'the delivery is larger than this listener accepts',
      headers: { Connection: 'close' },
    };
  }
  if (reason === 'body_unsupported_media_type') {
    return { status: 415, message: 'the content type is not a Connect format', headers: {} };
  }
  if (reason === 'queue_unavailable') {
    return {
      status: 503,
      message: 'the delivery could not be stored; retry later',
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    };
  }
  if (reason === 'body_incomplete') {
    return { status: 400, message: 'the request body was not received completely', headers: {} };
  }
  // the remaining reasons are unreadable bodies: kept in quarantine, answered 400
  return { status: 400, message: 'the delivery body is not a readable Connect event', headers: {} };
}
