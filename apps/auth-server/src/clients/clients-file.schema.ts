import { isSecretHash } from '@countersign/security';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export const TLS_SUBJECT_FIELDS = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;

// RFC 6749 §3.3 scope-token characters, space separated, no empty tokens
export const SCOPE_LIST = /^[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/**
 * A whole encoded scrypt hash that `verifySecret` can check. A malformed one would refuse every
 * secret of the client later; the message names the client, never the value.
 */
function IsSecretHash(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecretHash',
    validator: {
      validate: (value: unknown) => isSecretHash(value),
      defaultMessage: (args?: ValidationArguments) => {
        const clientId = (args?.object as { client_id?: unknown } | undefined)?.client_id;
        return (
          `must be a hash made by \`clients add\` for client ${JSON.stringify(clientId) ?? '?'} ` +
          '(scrypt$N$r$p$salt$hash, salt of 16+ bytes, parameters within bounds)'
        );
      },
    },
  });
}

/** A JWK Set as registered for self_signed_tls_client_auth; each key carries `x5c`. */
export class RegisteredJwks {
  @IsArray()
  @ArrayMinSize(1)
  @IsObject({ each: true })
  keys!: Record<string, unknown>[];
}

/** One client entry of the clients file (RFC 7591 metadata names). */
export class ClientEntry {
  // printable characters only; ids with `%`, `+`, `:` are allowed (RFC 6749 App. B encoding)
  @IsString()
  @Matches(/^\P{Cc}{1,200}$/u, { message: 'must be 1-200 printable characters' })
  client_id!: string;

  @IsIn(CLIENT_AUTH_METHODS)
  token_endpoint_auth_method!: ClientAuthMethod;

  @IsOptional()
  @IsSecretHash()
  client_secret_hash?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  tls_client_auth_subject_dn?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  tls_client_auth_san_dns?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  tls_client_auth_san_uri?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  tls_client_auth_san_ip?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  tls_client_auth_san_email?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => RegisteredJwks)
  jwks?: RegisteredJwks;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  grant_types?: string[];

  @IsString()
  @Matches(SCOPE_LIST, { message: 'must be space-separated scope tokens' })
  scope!: string;

  @IsString()
  @Matches(/^https?:\/\/[^\s#]+$/, { message: 'must be an http(s) URL without fragment' })
  audience!: string;

  @IsOptional()
  @IsInt()
  @Min(30)
  @Max(3600)
  token_ttl_seconds?: number;

  @IsBoolean()
  tls_client_certificate_bound_access_tokens = false;
}

/** The clients file: `{ "clients": [ ... ] }`. */
export class ClientsFile {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ClientEntry)
  clients!: ClientEntry[];
}
