import { accept, reject, type Verdict } from './verdict.js';

/** Options for reading a Basic header. */
export interface BasicAuthorizationOptions {
  /** Form-urlencoded-decode each part after the split (OAuth client_secret_basic, RFC 6749 App. B). */
  formUrlDecode?: boolean;
}

const BASIC_HEADER = /^basic[ ]+([^ ]*)[ ]*$/i;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BAD_PERCENT_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const MAX_HEADER_LENGTH = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads `Authorization: Basic`: strict base64, UTF-8, split at the FIRST colon. */
export function parseBasicAuthorization(
  header: string | undefined,
  opts: BasicAuthorizationOptions = {},
): Verdict<{ username: string; password: string }> {
  if (typeof header !== 'string' || header.trim() === '') {
    return reject('basic_missing');
  }
  if (header.length > MAX_HEADER_LENGTH) {
    return reject('basic_malformed', 'header too long');
  }
  const match = BASIC_HEADER.exec(header.trim());
  if (match === null) {
    return /^basic(?: |$)/i.test(header.trim())
      ? reject('basic_malformed', 'no credentials after the scheme')
      : reject('basic_missing', 'not the Basic scheme');
  }

  const token = match[1];
  if (token.length === 0 || !STRICT_BASE64.test(token)) {
    return reject('basic_malformed', 'credentials are not base64');
  }
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return reject('basic_malformed', 'credentials are not UTF-8');
  }

  const colon = decoded.indexOf(':');
  if (colon < 0) {
    return reject('basic_malformed', 'no colon between user and password');
  }
  let username = decoded.slice(0, colon);
  let password = decoded.slice(colon + 1);

  if (opts.formUrlDecode) {
    const user = formUrlDecode(username);
    const secret = formUrlDecode(password);
    if (user === undefined || secret === undefined) {
      return reject('basic_malformed', 'invalid percent-encoding');
    }
    username = user;
    password = secret;
  }

  if (username.length === 0) {
    return reject('basic_malformed', 'empty user');
  }
  return accept({ username, password });
}

/** application/x-www-form-urlencoded decoding of one value: `+` is a space, then `%XX` as UTF-8. */
export function formUrlDecode(value: string): string | undefined {
  const spaced = value.replace(/\+/g, ' ');
  if (BAD_PERCENT_ESCAPE.test(spaced)) {
    return undefined;
  }
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}
