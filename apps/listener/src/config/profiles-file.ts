import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
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
} from 'class-validator';
import { CHECK_NAMES, type CheckName } from '@countersign/queue';
import { isSecretHash } from '@countersign/security';

/** A hash `verifySecret` can check; a malformed one would refuse every credential at run time. */
function IsSecretHash(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecretHash',
    validator: {
      validate: (value: unknown) => isSecretHash(value),
      // never echoes the value: the message names the field and the expected form only
      defaultMessage: () =>
        '$property must be a scrypt hash made by `npm run listener-cli -- hash-password`',
    },
  });
}

/** One allowed certificate subject: exactly one of the members is set. */
export class SubjectRuleSettings {
  @IsOptional()
  @IsString()
  @MinLength(1)
  subjectDn?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  sanDns?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  sanUri?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  sanIp?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  sanEmail?: string;
}

export class CertificateSettings {
  /** PEM bundle of the CAs this profile trusts, on top of the listener's client CA bundle. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  trustedCaFile?: string;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => SubjectRuleSettings)
  subjects?: SubjectRuleSettings[];

  /** x5t#S256 thumbprints; two at once let the sender's certificate rotate. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @Matches(/^[A-Za-z0-9_-]{43}$/, { each: true, message: '$property must hold x5t#S256 values' })
  pins?: string[];
}

export class TokenSettings {
  @IsString()
  @MinLength(1)
  issuer!: string;

  @IsString()
  @MinLength(1)
  audience!: string;

  @IsString()
  @MinLength(1)
  requiredScope!: string;

  @IsOptional()
  @Matches(/^https:\/\/\S+$/, { message: '$property must be an https:// URL' })
  jwksUri?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  jwksFile?: string;

  /** CA bundle for the JWKS endpoint's server certificate (e.g. a dev PKI). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  jwksCaFile?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(300)
  clockToleranceSeconds?: number;
}

export class HmacKeySettings {
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: '$property must be a short key name' })
  id!: string;

  /** Name of the environment variable that holds the key; the file never holds the key. */
  @Matches(/^[A-Z_][A-Z0-9_]*$/, { message: '$property must be an environment variable name' })
  secretEnv!: string;
}

export class HmacSettings {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => HmacKeySettings)
  keys!: HmacKeySettings[];
}

export class BasicSettings {
  @IsString()
  @MinLength(1)
  username!: string;

  /** A `scrypt$...` hash from libs/security `hashSecret`, never the password itself. */
  @IsSecretHash()
  passwordHash!: string;
}

/** One Connect configuration: the checks it requires and the settings of each. */
export class ProfileSettings {
  @IsArray()
  @ArrayMinSize(1, { message: 'checks must name at least one check' })
  @ArrayUnique()
  @IsIn(CHECK_NAMES, { each: true })
  checks!: CheckName[];

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => CertificateSettings)
  certificate?: CertificateSettings;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TokenSettings)
  token?: TokenSettings;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => HmacSettings)
  hmac?: HmacSettings;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BasicSettings)
  basic?: BasicSettings;
}

/** Profile names appear in the URL (`/connect/:profile`) and in metric labels. */
export const PROFILE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
