import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

/** The TLS identity the simulator presents, and the CA bundle it trusts for the servers. */
export interface ClientTlsIdentity {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly ca: string | Buffer;
}

/** One HTTP answer, body read in full. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A keep-alive HTTPS agent presenting `identity` (when it has a certificate) on every connection. */
export function createClientAgent(identity: ClientTlsIdentity): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: 8,
    cert: identity.cert,
    key: identity.key,
    ca: identity.ca,
    minVersion: 'TLSv1.2',
  });
}

/**
 * Sends one HTTPS request. With `expectContinue` the body waits for the server's `100 Continue`
 * (as Connect does for large bodies); a final answer sent instead of 100 ends the exchange.
 */
export function sendHttps(
  url: string,
  options: {
    readonly agent: Agent;
    readonly method: 'GET' | 'POST';
    readonly headers?: Record<string, string>;
    readonly body?: Buffer;
    readonly expectContinue?: boolean;
    readonly timeoutMs: number;
  },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) {
      headers['content-length'] = String(options.body.length);
      if (options.expectContinue) {
        headers.expect = '100-continue';
      }
    }

    const req = request(url, { agent: options.agent, method: options.method, headers });
    req.setTimeout(options.timeoutMs, () => {
      const message = `no answer from ${new URL(url).host} within ${options.timeoutMs} ms`;
      req.destroy(Object.assign(new Error(message), { code: 'ETIMEDOUT' }));
    });
    let continued = false;
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (options.expectContinue && !continued) {
          // the server answered without asking for the body: this connection cannot be reused
          req.destroy();
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });

    if (options.body === undefined) {
      req.end();
    } else if (options.expectContinue) {
      req.on('continue', () => {
        continued = true;
        req.end(options.body);
      });
    } else {
      req.end(options.body);
    }
  });
}
