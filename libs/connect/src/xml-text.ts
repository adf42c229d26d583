const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

const REFERENCE = /&([^;&\s]*);?/g;

/**
 * Decodes the five predefined XML entities and character references in one pass (so `&amp;lt;`
 * stays `&lt;`). Anything else (a named entity would need a DTD, which is refused) gives
 * `undefined`.
 */
export function decodeXmlText(text: string): string | undefined {
  let malformed = false;
  const decoded = text.replace(REFERENCE, (whole: string, name: string) => {
    const character = whole.endsWith(';') ? resolveReference(name) : undefined;
    if (character === undefined) malformed = true;
    return character ?? whole;
  });
  return malformed ? undefined : decoded;
}

function resolveReference(name: string): string | undefined {
  if (name.startsWith('#')) return characterReference(name.slice(1));
  return Object.hasOwn(PREDEFINED_ENTITIES, name) ? PREDEFINED_ENTITIES[name] : undefined;
}

function characterReference(reference: string): string | undefined {
  const codePoint = /^x[0-9A-Fa-f]{1,6}$/.test(reference)
    ? parseInt(reference.slice(1), 16)
    : /^[0-9]{1,7}$/.test(reference)
      ? parseInt(reference, 10)
      : NaN;
  if (!isXmlCharacter(codePoint)) return undefined;
  return String.fromCodePoint(codePoint);
}

function isXmlCharacter(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}
