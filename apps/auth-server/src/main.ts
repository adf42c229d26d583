// decorators of the configuration schemas read design-time metadata while modules load
import 'reflect-metadata';

import { ConfigurationError } from '@countersign/common';

import { createAuthServer } from './app.js';
import { loadAuthServerConfig } from './config/auth-server.config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAuthServerConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createAuthServer(config);
  await app.listen(config.port, config.host);
}

await main();
