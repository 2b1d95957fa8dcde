import { z } from 'zod';

// Shapes shared by every REST room's routes (decision 0032).

/**
 * A 204 answer: no body. Declared so /openapi.json says the route answers 204
 * and the contract test sees it declared. z.undefined (not z.null) so the
 * handler's `reply.status(204).send()` typechecks; the OpenAPI transform
 * writes it as type null.
 */
export const NoContent = z.undefined().describe('No content (204): the response has no body.');
