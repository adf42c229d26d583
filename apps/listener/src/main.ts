import 'reflect-metadata';
import { Logger } from '@nestjs/common';
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
  new Logger('Listener').log({
    msg: 'listening for Connect deliveries',
    mode: settings.env.LISTENER_MODE,
    host: settings.env.LISTENER_HOST,
    port: settings.env.LISTENER_PORT,
    profiles: [...settings.profiles.values()].map(({ name, checks }) => ({ name, checks })),
  });
}

await bootstrap();
