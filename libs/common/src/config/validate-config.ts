import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';

/** Start-up stops with this when the configuration breaks a rule; the message names each setting. */
export class ConfigurationError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

function describeErrors(errors: readonly ValidationError[], path: string[] = []): string[] {
  const problems: string[] = [];
  for (const error of errors) {
    const here = [...path, error.property];
    for (const message of Object.values(error.constraints ?? {})) {
      // class-validator starts each message with the property name; name the full path instead
      const rule = message.startsWith(`${error.property} `)
        ? message.slice(error.property.length + 1)
        : message;
      problems.push(`${here.join('.')}: ${rule}`);
    }
    problems.push(...describeErrors(error.children ?? [], here));
  }
  return problems;
}

/**
 * Turns plain settings (the environment, or a parsed file) into a validated instance of `schema`.
 * Unknown keys are ignored for the environment and refused for files (`forbidUnknown`).
 */
export function validateConfig<T extends object>(
  schema: ClassConstructor<T>,
  plain: Record<string, unknown>,
  options: { source: string; forbidUnknown?: boolean },
): T {
  const instance = plainToInstance(schema, plain, {
    enableImplicitConversion: false,
    exposeDefaultValues: true,
  });
  const errors = validateSync(instance, {
    whitelist: options.forbidUnknown ?? false,
    forbidNonWhitelisted: options.forbidUnknown ?? false,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  if (errors.length > 0) {
    throw new ConfigurationError(options.source, describeErrors(errors));
  }
  return instance;
}
