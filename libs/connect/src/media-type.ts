/** The body formats Connect sends. */
export type DeliveryFormat = 'json' | 'xml';

const FORMAT_BY_MEDIA_TYPE: ReadonlyMap<string, DeliveryFormat> = new Map([
  ['application/json', 'json'],
  ['text/xml', 'xml'],
  ['application/xml', 'xml'],
]);

const UTF8_CHARSETS = new Set(['utf-8', 'utf8']);

/**
 * Reads a `Content-Type` header into the delivery format, or `undefined` when the media type is
 * not one Connect uses or the declared charset is not UTF-8.
 */
export function deliveryFormatOf(contentType: string | undefined): DeliveryFormat | undefined {
  if (contentType === undefined) return undefined;

  const [mediaType = '', ...parameters] = contentType.split(';');
  const format = FORMAT_BY_MEDIA_TYPE.get(mediaType.trim().toLowerCase());
  if (format === undefined) return undefined;

  for (const parameter of parameters) {
    const separator = parameter.indexOf('=');
    if (separator === -1) {
      if (parameter.trim() === '') continue;
      return undefined;
    }
    const name = parameter.slice(0, separator).trim().toLowerCase();
    const value = parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (name === 'charset' && !UTF8_CHARSETS.has(value)) return undefined;
  }
  return format;
}
