// schemas.ts: the API's schemas as the console uses them (one instance, from the build).
import all from 'virtual:openapi-schemas';
import { Schemas, type Schema } from './schema';

export const schemas = new Schemas(all as Record<string, Schema>);
