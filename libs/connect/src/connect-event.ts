/** Why a Connect delivery body could not be read as an event. */
export const CONNECT_PARSE_REASONS = [
  'body_empty',
  'body_unsupported_media_type',
  'body_malformed_json',
  'body_malformed_xml',
  'body_forbidden_dtd',
  'body_invalid_event',
] as const;

/** A stable code for a body that is not a readable Connect event. */
export type ConnectParseReason = (typeof CONNECT_PARSE_REASONS)[number];

/** A document whose PDF travelled with the delivery; the bytes themselves stay in the body. */
export interface ConnectDocumentRef {
  readonly documentId: string;
  readonly name: string;
  /** Size of the decoded PDF. */
  readonly sizeBytes: number;
}

/**
 * One Connect event, the same shape for JSON SIM and legacy XML deliveries. Every timestamp is
 * ISO 8601 in UTC (`Z`), keeping the fractional digits DocuSign sent.
 */
export interface ConnectEvent {
  readonly format: 'json' | 'xml';
  /** JSON SIM event name (`envelope-completed`); legacy XML statuses are mapped to these names. */
  readonly event: string;
  readonly apiVersion?: string;
  readonly uri?: string;
  readonly retryCount?: number;
  readonly configurationId?: number;
  readonly generatedAt?: string;
  readonly accountId?: string;
  readonly userId?: string;
  readonly envelopeId?: string;
  readonly recipientId?: string;
  readonly templateId?: string;
  /** Lowercase envelope status, e.g. `completed`. */
  readonly status?: string;
  /** The best "as of" time for ordering events of one envelope. */
  readonly statusChangedAt?: string;
  readonly subject?: string;
  readonly documents: readonly ConnectDocumentRef[];
  /** The JSON `data` object, or a rendering of the XML `EnvelopeStatus`; never PDF bytes. */
  readonly data: Record<string, unknown>;
}

/** The outcome of reading a delivery body; nothing in this library throws on bad input. */
export type ParseResult = { readonly ok: true; readonly event: ConnectEvent } | ParseRejection;

/** A body that is not a readable Connect event, with an operator-facing detail. */
export interface ParseRejection {
  readonly ok: false;
  readonly reason: ConnectParseReason;
  readonly detail: string;
}

/** A PDF carried in a delivery. */
export interface ConnectDocument {
  readonly documentId: string;
  readonly name: string;
  readonly pdf: Buffer;
}

/** The outcome of pulling the PDFs out of a delivery body. */
export type ParseResultDocs =
  { readonly ok: true; readonly documents: readonly ConnectDocument[] } | ParseRejection;
