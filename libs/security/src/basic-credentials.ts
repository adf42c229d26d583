import { createHash, timingSafeEqual } from 'node:crypto';

import { verifySecret } from './secret-hash.js';
import { accept, reject, type Verdict } from './verdict.js';

/** Checks presented Basic credentials against the configured user and scrypt password hash. */
export async function verifyBasicCredentials(
  presented: { username: string; password: string },
  expected: { username: string; passwordHash: string },
): Promise<Verdict<{ username: string }>> {
  // both checks always run, so a wrong user name costs the same as a wrong password
  const usernameMatches = timingSafeEqual(digest(presented.username), digest(expected.username));
  const passwordMatches = await verifySecret(presented.password, expected.passwordHash);

  if (usernameMatches && passwordMatches) {
    return accept({ username: expected.username });
  }
  return reject('basic_invalid_credentials');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(String(value), 'utf8').digest();
}
