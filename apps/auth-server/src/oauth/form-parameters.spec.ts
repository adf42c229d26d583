import fc from 'fast-check';

import { FormParameters } from './form-parameters.js';

const FORM = 'application/x-www-form-urlencoded';

function parse(body: string, ...contentType: [string | undefined] | []) {
  const type = contentType.length === 0 ? FORM : contentType[0];
  return FormParameters.parse(type, Buffer.from(body, 'latin1'));
}

describe('FormParameters', () => {
  it('decodes `+` as a space and %XX escapes as UTF-8 octets', () => {
    const parsed = parse('scope=a+b&client_secret=%25%2B%3A%C3%A9');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.form.get('scope')).toBe('a b');
    expect(parsed.form.get('client_secret')).toBe('%+:é');
  });

  it('refuses a repeated parameter', () => {
    expect(parse('grant_type=client_credentials&grant_type=client_credentials')).toEqual({
      ok: false,
      refusal: 'form_parameter_repeated',
    });
  });

  it('refuses a repeated parameter even when one of the values is empty', () => {
    expect(parse('grant_type=&grant_type=client_credentials')).toMatchObject({
      refusal: 'form_parameter_repeated',
    });
  });

  it('lets resource repeat (RFC 8707) and returns every value', () => {
    const parsed = parse('resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb');
    expect(parsed.ok && parsed.form.getAll('resource')).toEqual(['https://a', 'https://b']);
  });

  it('treats an empty value as absent', () => {
    const parsed = parse('scope=&grant_type=client_credentials');
    expect(parsed.ok && parsed.form.get('scope')).toBeUndefined();
    expect(parsed.ok && parsed.form.has('scope')).toBe(false);
  });

  it.each([
    ['a JSON body', 'application/json'],
    ['no content type', undefined],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['a non-UTF-8 charset', `${FORM}; charset=iso-8859-1`],
  ])('refuses %s', (_label, contentType) => {
    expect(parse('grant_type=client_credentials', contentType)).toEqual({
      ok: false,
      refusal: 'form_content_type',
    });
  });

  it('accepts the media type with a UTF-8 charset, in any case', () => {
    expect(parse('a=b', 'Application/X-WWW-Form-Urlencoded; charset="UTF-8"').ok).toBe(true);
  });

  it.each([
    ['a truncated escape', 'a=%4'],
    ['a non-hex escape', 'a=%zz'],
    ['escapes that are not UTF-8', 'a=%C3%28'],
  ])('refuses %s as malformed', (_label, body) => {
    expect(parse(body)).toEqual({ ok: false, refusal: 'form_malformed' });
  });

  it('never turns bracketed names into objects', () => {
    const parsed = parse('a[b]=c');
    expect(parsed.ok && parsed.form.get('a[b]')).toBe('c');
    expect(parsed.ok && parsed.form.get('a')).toBeUndefined();
  });

  it('answers every byte string with a result, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = FormParameters.parse(FORM, Buffer.from(bytes));
        return typeof result.ok === 'boolean';
      }),
    );
  });

  it('round-trips any name and value encoded as Appendix B says', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (name, value) => {
        const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
        const parsed = parse(Buffer.from(`${encode(name)}=${encode(value)}`).toString('latin1'));
        return parsed.ok && parsed.form.get(name) === value;
      }),
    );
  });
});
