// decorators of the configuration schemas read design-time metadata while modules load
import 'reflect-metadata';

import { ConfigurationError } from '@countersign/common';

import { createAuthServer } from './app.js';
import { loadAuthServerConfig } from './config/auth-server.config.js';

async function main(): Promise<void> {
  try {
    const config = loadAuthServerConfig(process.env);
    const app = await createAuthServer(config);
    // listen() runs the start-up hooks, which read the keys directory
    await app.listen(config.port, config.host);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

await main();
