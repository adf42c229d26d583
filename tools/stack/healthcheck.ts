import { readFileSync } from 'node:fs';

import { statusOf } from './app-process.js';
import { Agent } from 'node:https';

/**
 * Container health check: `node healthcheck.js <url> [ca-bundle.pem]` exits 0 when the URL
 * answers 200 (an https URL is verified against the bundle), 1 otherwise.
 */
const [url, caFile] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node healthcheck.js <url> [ca-bundle.pem]\n');
  process.exit(2);
}
const agent = caFile ? new Agent({ ca: readFileSync(caFile), keepAlive: false }) : undefined;
const status = await statusOf(url, agent);
agent?.destroy();
process.exit(status === 200 ? 0 : 1);
