import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { parse } from 'yaml';

// The examples are configuration people copy. These checks pin the lines that carry the security
// of the proxy hop, so an edit that weakens one fails here even where no proxy binary runs.

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const LISTENER_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

function directive(conf: string, name: string): string[] {
  return [...conf.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, 'gm'))].map((m) => m[1].trim());
}

function bytesOf(size: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (match === null) throw new Error(`not an nginx size: ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase()]!;
  return Number(match[1]) * unit;
}

describe('examples/nginx/countersign-listener.conf', () => {
  let conf: string;

  beforeAll(async () => {
    conf = await readFile(resolve(EXAMPLES, 'nginx/countersign-listener.conf'), 'utf8');
  });

  it('requests a client certificate in every handshake and leaves trust to the listener', () => {
    expect(directive(conf, 'ssl_verify_client')).toEqual(['optional_no_ca']);
  });

  it('sets X-SSL-Client-Cert from the handshake, overwriting what a client sent', () => {
    expect(directive(conf, 'proxy_set_header')).toContain(
      'X-SSL-Client-Cert $ssl_client_escaped_cert',
    );
  });

  it('clears the other forwarded-certificate headers', () => {
    const set = directive(conf, 'proxy_set_header');

    for (const name of [
      'X-Forwarded-Client-Cert',
      'X-Amzn-Mtls-Clientcert',
      'Client-Cert',
      'Client-Cert-Chain',
    ]) {
      expect(set).toContain(`${name} ""`);
    }
  });

  it('overwrites X-Forwarded-For instead of appending to a client-sent one', () => {
    expect(directive(conf, 'proxy_set_header')).toContain('X-Forwarded-For $remote_addr');
  });

  it('lets bodies up to the listener limit through', () => {
    const [limit] = directive(conf, 'client_max_body_size');

    expect(bytesOf(limit)).toBeGreaterThan(LISTENER_BODY_LIMIT_BYTES);
  });

  it('buffers the request body before calling the listener and never retries a delivery', () => {
    expect(directive(conf, 'proxy_request_buffering')).toEqual(['on']);
    expect(directive(conf, 'proxy_next_upstream')).toEqual(['off']);
  });
});

interface EnvoyTlsContext {
  readonly require_client_certificate?: boolean;
  readonly common_tls_context: {
    readonly validation_context?: { readonly trust_chain_verification?: string };
  };
}

interface EnvoyConnectionManager {
  readonly forward_client_cert_details?: string;
  readonly set_current_client_cert_details?: Record<string, boolean>;
  readonly http_filters: ReadonlyArray<{
    readonly name: string;
    readonly typed_config: { readonly max_request_bytes?: number };
  }>;
}

interface EnvoyConfig {
  readonly static_resources: {
    readonly listeners: ReadonlyArray<{
      readonly filter_chains: ReadonlyArray<{
        readonly transport_socket: { readonly typed_config: EnvoyTlsContext };
        readonly filters: ReadonlyArray<{ readonly typed_config: EnvoyConnectionManager }>;
      }>;
    }>;
  };
}

describe('examples/envoy/countersign-listener.yaml', () => {
  let text: string;
  let hcm: EnvoyConnectionManager;
  let tls: EnvoyTlsContext;

  beforeAll(async () => {
    text = await readFile(resolve(EXAMPLES, 'envoy/countersign-listener.yaml'), 'utf8');
    const config = parse(text) as EnvoyConfig;
    const chain = config.static_resources.listeners[0].filter_chains[0];
    hcm = chain.filters[0].typed_config;
    tls = chain.transport_socket.typed_config;
  });

  it('replaces X-Forwarded-Client-Cert with the current connection only (SANITIZE_SET)', () => {
    expect(hcm.forward_client_cert_details).toBe('SANITIZE_SET');
    expect(hcm.set_current_client_cert_details).toMatchObject({ cert: true });
  });

  it('requests a client certificate without refusing untrusted ones', () => {
    expect(tls.require_client_certificate).toBe(false);
    expect(tls.common_tls_context.validation_context?.trust_chain_verification).toBe(
      'ACCEPT_UNTRUSTED',
    );
  });

  it('buffers bodies up to the listener limit', () => {
    const buffer = hcm.http_filters.find((filter) => filter.name === 'envoy.filters.http.buffer');

    expect(buffer?.typed_config.max_request_bytes).toBeGreaterThan(LISTENER_BODY_LIMIT_BYTES);
  });

  it('sets no retry policy on the Connect route', () => {
    expect(text).not.toMatch(/retry_policy/);
  });
});
