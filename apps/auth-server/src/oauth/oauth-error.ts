import type { RejectionReason } from '@countersign/security';

import type { FormRefusal } from './form-parameters.js';

/** RFC 6749 §5.2, RFC 8707 §2, RFC 7009 §2.2.1 error codes this server answers with. */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'temporarily_unavailable',
  'server_error',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

/** The real reason a request was refused: logged and counted, never sent to the client. */
export type RefusalReason =
  | RejectionReason
  | FormRefusal
  | 'method_not_allowed'
  | 'credentials_in_query'
  | 'multiple_auth_methods'
  | 'client_id_missing'
  | 'client_id_mismatch'
  | 'authorization_scheme_unsupported'
  | 'client_unknown'
  | 'client_credentials_missing'
  | 'client_auth_method_mismatch'
  | 'client_secret_mismatch'
  | 'grant_type_missing'
  | 'grant_type_unsupported'
  | 'client_grant_not_allowed'
  | 'scope_not_allowed'
  | 'resource_not_allowed'
  | 'bound_token_without_certificate'
  | 'token_missing'
  | 'token_foreign_client'
  | 'rate_limited'
  | 'rate_limit_unavailable'
  | 'revocation_unavailable'
  | 'internal_error';

const GENERIC_DESCRIPTIONS: Record<OAuthErrorCode, string> = {
  invalid_request: 'the request is missing a parameter, repeats one, or is malformed',
  invalid_client: 'client authentication failed',
  invalid_grant: 'the grant cannot be used as presented',
  unauthorized_client: 'the client may not use this grant type',
  unsupported_grant_type: 'the grant type is not supported',
  invalid_scope: 'the requested scope is invalid or not allowed',
  invalid_target: 'the requested resource is invalid or not allowed',
  temporarily_unavailable: 'the server cannot answer now; try again later',
  server_error: 'the server could not complete the request',
};

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 400,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 503,
  server_error: 500,
};

/**
 * A refused OAuth request. The client sees only `error` and a generic description; `reason`
 * (the real cause) goes to the log and the metrics.
 */
export class OAuthError extends Error {
  /** When the client used the Authorization header, invalid_client is 401 with a challenge. */
  usedAuthorizationHeader = false;
  clientId?: string;
  retryAfterSeconds?: number;
  status: number;

  constructor(
    readonly error: OAuthErrorCode,
    readonly reason: RefusalReason,
    options: { status?: number; clientId?: string; retryAfterSeconds?: number } = {},
  ) {
    super(`${error}: ${reason}`);
    this.name = 'OAuthError';
    this.status = options.status ?? STATUS[error];
    this.clientId = options.clientId;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get description(): string {
    return GENERIC_DESCRIPTIONS[this.error];
  }
}
