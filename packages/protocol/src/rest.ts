import { z } from 'zod';

// Shapes shared by every REST room's routes (decision 0032).

/**
 * A 204 answer: no body. Declared so /openapi.json says the route answers 204
 * and the contract test sees it declared. Handlers answer
 * `reply.status(204).send(null)` (Fastify sends no body with a 204).
 */
export const NoContent = z.null().describe('No content (204): the response has no body.');
