/** Why a form body was refused; every case answers `invalid_request`. */
export type FormRefusal =
  'form_content_type' | 'form_malformed' | 'form_parameter_repeated' | 'form_too_large';

/** Parameters that may appear more than once (RFC 8707 `resource`). */
const REPEATABLE = new Set(['resource']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A strictly parsed application/x-www-form-urlencoded body (RFC 6749 §3.2, Appendix B). */
export class FormParameters {
  private constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  /**
   * Parses a body: only `application/x-www-form-urlencoded` (charset, if given, must be UTF-8);
   * `+` is a space, `%XX` escapes must be complete and decode to UTF-8; a repeated parameter
   * (other than `resource`) is refused; an empty value counts as absent.
   */
  static parse(
    contentType: string | undefined,
    body: Buffer,
  ): { ok: true; form: FormParameters } | { ok: false; refusal: FormRefusal } {
    if (!isFormContentType(contentType)) {
      return { ok: false, refusal: 'form_content_type' };
    }

    const values = new Map<string, string[]>();
    const text = body.toString('latin1');
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals));
      const value = decodeFormComponent(equals === -1 ? '' : pair.slice(equals + 1));
      if (name === undefined || value === undefined) {
        return { ok: false, refusal: 'form_malformed' };
      }
      const seen = values.get(name);
      if (seen !== undefined && !REPEATABLE.has(name)) {
        return { ok: false, refusal: 'form_parameter_repeated' };
      }
      values.set(name, [...(seen ?? []), value]);
    }
    return { ok: true, form: new FormParameters(values) };
  }

  /** The value of a single-valued parameter; empty counts as absent (RFC 6749 §3.2). */
  get(name: string): string | undefined {
    const value = this.values.get(name)?.[0];
    return value === '' ? undefined : value;
  }

  /** Every non-empty value of a repeatable parameter. */
  getAll(name: string): string[] {
    return (this.values.get(name) ?? []).filter((value) => value !== '');
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim());
  if (mediaType.toLowerCase() !== 'application/x-www-form-urlencoded') return false;
  return parameters.every((parameter) => {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim().toLowerCase());
    return name !== 'charset' || value.replace(/"/g, '') === 'utf-8';
  });
}

// application/x-www-form-urlencoded decoding: `+` is a space, then strict %XX over UTF-8 octets
function decodeFormComponent(encoded: string): string | undefined {
  const bytes: number[] = [];
  for (let index = 0; index < encoded.length; index += 1) {
    const char = encoded[index];
    if (char === '+') {
      bytes.push(0x20);
    } else if (char === '%') {
      const hex = encoded.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(encoded.charCodeAt(index));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}
