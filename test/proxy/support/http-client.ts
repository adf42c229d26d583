import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

/** A port that was free a moment ago, for servers that cannot report an ephemeral one. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no TCP address'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

/** What a test needs from one answer. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: Record<string, unknown> | undefined;
}

/** One request; `tls` present means HTTPS (with `cert`/`key` when a client certificate is shown). */
export interface PostOptions {
  readonly port: number;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly method?: string;
  readonly localAddress?: string;
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one request on a fresh connection (no agent, no TLS session reuse) and reads the answer. */
export async function send(options: PostOptions): Promise<Answer> {
  const common = {
    host: '127.0.0.1',
    port: options.port,
    path: options.path,
    method: options.method ?? 'POST',
    localAddress: options.localAddress,
    agent: false as const,
    headers: { ...options.headers, 'content-length': String(options.body.length) },
  };
  return new Promise<Answer>((resolveAnswer, reject) => {
    const req = options.tls
      ? httpsRequest({
          ...common,
          servername: 'localhost',
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
        })
      : httpRequest(common);
    req.setTimeout(15_000, () =>
      req.destroy(new Error(`no answer within 15 s from ${options.port}`)),
    );
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolveAnswer({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: parseJson(text),
        });
      });
    });
    req.end(options.body);
  });
}
