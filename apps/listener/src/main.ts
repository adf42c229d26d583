import 'reflect-metadata';
import { ConfigurationError } from '@countersign/common';
import { loadListenerSettings } from './config/listener-settings.js';
import { createListenerApp } from './listener.app.js';

async function bootstrap(): Promise<void> {
  let settings;
  try {
    settings = loadListenerSettings(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`listener: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const app = await createListenerApp(settings);
  app.enableShutdownHooks();
  await app.listen(settings.env.LISTENER_PORT, settings.env.LISTENER_HOST);
}

await bootstrap();
