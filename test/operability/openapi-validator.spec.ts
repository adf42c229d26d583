import { validOpenApiDocument } from './support/openapi.js';

describe('the OpenAPI 3.1 check used by the document tests', () => {
  const minimal = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/x': { get: { responses: { '200': { description: 'ok' } } } } },
  };

  it('accepts a minimal valid document', () => {
    expect(validOpenApiDocument(JSON.stringify(minimal)).info.title).toBe('t');
  });

  it('refuses a document without info, a response without description, or an unknown scheme type', () => {
    const withoutInfo: Partial<typeof minimal> = structuredClone(minimal);
    delete withoutInfo.info;
    expect(() => validOpenApiDocument(JSON.stringify(withoutInfo))).toThrow(/not a valid/);

    const noDescription = structuredClone(minimal) as Record<string, unknown>;
    noDescription.paths = { '/x': { get: { responses: { '200': {} } } } };
    expect(() => validOpenApiDocument(JSON.stringify(noDescription))).toThrow(/not a valid/);

    const badScheme = {
      ...minimal,
      components: { securitySchemes: { s: { type: 'certificate' } } },
    };
    expect(() => validOpenApiDocument(JSON.stringify(badScheme))).toThrow(/not a valid/);
  });
});
