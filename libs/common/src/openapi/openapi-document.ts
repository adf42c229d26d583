import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Where every Countersign app serves its OpenAPI document. */
export const OPENAPI_DOCUMENT_PATH = '/openapi.json';

export interface OpenApiDocumentOptions {
  readonly title: string;
  readonly description: string;
  readonly version: string;
  /** Adds the app's security schemes, tags and servers. */
  readonly configure?: (builder: DocumentBuilder) => DocumentBuilder;
  /** Last changes to the built document, for what decorators cannot express. */
  readonly complete?: (document: OpenAPIObject) => void;
}

const METRICS_OPERATION = {
  tags: ['operations'],
  summary: 'Prometheus metrics of this app',
  description: 'Text exposition format 0.0.4; every series carries the `app` label.',
  responses: {
    '200': {
      description: 'The current value of every series',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
};

/**
 * Builds the app's OpenAPI 3.1 document from its controllers once and serves it, unchanged, as
 * `GET /openapi.json`. Call it after the app is created and before `listen`, so the route sits
 * in front of the framework's not-found handler; it adds no UI and touches no other route.
 */
export function serveOpenApiDocument(
  app: INestApplication,
  options: OpenApiDocumentOptions,
): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle(options.title)
    .setDescription(options.description)
    .setVersion(options.version)
    .addTag('operations', 'Liveness, readiness and metrics');
  const document = SwaggerModule.createDocument(
    app,
    (options.configure?.(builder) ?? builder).build(),
  );

  // the metrics controller lives in this lib and carries no OpenAPI decorators of its own
  if (document.paths['/metrics']?.get !== undefined) {
    document.paths['/metrics'].get = { ...document.paths['/metrics'].get, ...METRICS_OPERATION };
  }
  options.complete?.(document);

  SwaggerModule.setup(OPENAPI_DOCUMENT_PATH, app, document, {
    ui: false,
    raw: ['json'],
    jsonDocumentUrl: OPENAPI_DOCUMENT_PATH,
  });
  return document;
}
