import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** One Connect message to post: exact body bytes and the content type Connect sends with it. */
export interface Delivery {
  /** File name or generated event label, used in the outcome lines. */
  readonly name: string;
  readonly body: Buffer;
  readonly contentType: string;
}

export const JSON_CONTENT_TYPE = 'application/json';
export const XML_CONTENT_TYPE = 'text/xml; charset=utf-8';

/** Every `.json` and `.xml` file of `dir`, sorted by name, bytes exactly as stored. */
export async function loadFixtureDeliveries(dir: string): Promise<Delivery[]> {
  const names = (await readdir(dir)).filter((name) => ['.json', '.xml'].includes(extname(name)));
  names.sort();
  const deliveries: Delivery[] = [];
  for (const name of names) {
    deliveries.push({
      name,
      body: await readFile(join(dir, name)),
      contentType: extname(name) === '.xml' ? XML_CONTENT_TYPE : JSON_CONTENT_TYPE,
    });
  }
  return deliveries;
}

const TEMPLATE_ENVELOPE_ID = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';

/**
 * `count` distinct events built from a fixture template (`envelope-sent.json` or `.xml` in
 * `fixturesDir`): each gets its own envelope id and generation time, so each is a new delivery.
 */
export async function generateDeliveries(options: {
  readonly fixturesDir: string;
  readonly count: number;
  readonly format: 'json' | 'xml';
  readonly now?: Date;
}): Promise<Delivery[]> {
  const template = await readFile(
    join(options.fixturesDir, `envelope-sent.${options.format}`),
    'utf8',
  );
  const start = (options.now ?? new Date()).getTime();
  const deliveries: Delivery[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const envelopeId = randomUUID();
    const generatedAt = new Date(start + index).toISOString();
    let body = template.split(TEMPLATE_ENVELOPE_ID).join(envelopeId);
    body =
      options.format === 'json'
        ? body.replace(/"generatedDateTime":"[^"]*"/, `"generatedDateTime":"${generatedAt}"`)
        : body.replace(
            /<TimeGenerated>[^<]*<\/TimeGenerated>/,
            // legacy XML times have no offset; TimeZoneOffset in the template says how to read them
            `<TimeGenerated>${localTime(generatedAt, body)}</TimeGenerated>`,
          );
    deliveries.push({
      name: `generated-${index + 1}.${options.format} (${envelopeId})`,
      body: Buffer.from(body, 'utf8'),
      contentType: options.format === 'json' ? JSON_CONTENT_TYPE : XML_CONTENT_TYPE,
    });
  }
  return deliveries;
}

function localTime(isoUtc: string, xml: string): string {
  const offsetHours = Number(/<TimeZoneOffset>(-?\d+)<\/TimeZoneOffset>/.exec(xml)?.[1] ?? '0');
  return new Date(Date.parse(isoUtc) + offsetHours * 3_600_000).toISOString().replace('Z', '');
}
