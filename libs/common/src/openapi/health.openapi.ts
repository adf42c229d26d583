import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';

/** OpenAPI description of `GET /health/live`. */
export function ApiLiveness(): MethodDecorator {
  return applyDecorators(
    ApiTags('operations'),
    ApiOperation({
      summary: 'Liveness',
      description: 'Answers 200 while the process serves HTTP; it checks nothing else.',
    }),
    ApiResponse({
      status: 200,
      description: 'The process is alive',
      schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
    }),
  );
}

/** OpenAPI description of `GET /health/ready`; `checks` names what the app's readiness covers. */
export function ApiReadiness(checks: string): MethodDecorator {
  const body: SchemaObject = {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string' } },
    additionalProperties: true,
  };
  return applyDecorators(
    ApiTags('operations'),
    ApiOperation({
      summary: 'Readiness',
      description: `Answers 200 only when ${checks}; never cached. Redis is given a short timeout.`,
    }),
    ApiResponse({ status: 200, description: 'Ready to take traffic', schema: body }),
    ApiResponse({ status: 503, description: 'Not ready: a dependency is down', schema: body }),
  );
}
