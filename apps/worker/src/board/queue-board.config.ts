import { ConfigurationError, validateConfig } from '@countersign/common';
import { IsOptional, Matches } from 'class-validator';

/** Who may open the queue board: one user and the scrypt hash of its password. */
export interface QueueBoardConfig {
  readonly username: string;
  readonly passwordHash: string;
}

const SCRYPT_HASH = /^scrypt\$[1-9]\d*\$[1-9]\d*\$[1-9]\d*\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/;

/** The board's two variables; both set enables it, neither leaves it off. */
export class QueueBoardEnvironment {
  // a colon would be read as the end of the user name in a Basic header
  @IsOptional()
  @Matches(/^[^:\s]{1,128}$/, {
    message: 'WORKER_BOARD_USERNAME must be 1-128 characters without spaces or colons',
  })
  WORKER_BOARD_USERNAME?: string;

  @IsOptional()
  @Matches(SCRYPT_HASH, {
    message:
      'WORKER_BOARD_PASSWORD_HASH must be a scrypt hash made by `npm run listener-cli -- hash-password`',
  })
  WORKER_BOARD_PASSWORD_HASH?: string;
}

/**
 * Reads the board's credentials from the (already blank-filtered) environment: undefined when
 * neither variable is set; a ConfigurationError when only one is, or a value is malformed.
 */
export function loadQueueBoardConfig(
  env: Record<string, string | undefined>,
): QueueBoardConfig | undefined {
  const valid = validateConfig(QueueBoardEnvironment, env, { source: 'environment' });
  const { WORKER_BOARD_USERNAME: username, WORKER_BOARD_PASSWORD_HASH: passwordHash } = valid;
  if (username === undefined && passwordHash === undefined) return undefined;
  if (username === undefined || passwordHash === undefined) {
    throw new ConfigurationError('environment', [
      'WORKER_BOARD_USERNAME and WORKER_BOARD_PASSWORD_HASH must be set together (or neither)',
    ]);
  }
  return { username, passwordHash };
}
