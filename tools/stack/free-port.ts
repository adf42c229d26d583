import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (`preferred` when it still is). */
export async function freePort(preferred = 0): Promise<number> {
  try {
    return await listenAndClose(preferred);
  } catch {
    return listenAndClose(0);
  }
}

function listenAndClose(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}
