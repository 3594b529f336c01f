// openapi-plugin.ts: a Vite plugin that gives the console the API's own schemas
// (components.schemas of docs/openapi.yaml) as the virtual module "virtual:openapi-schemas", so
// the forms show and check exactly the ranges, lengths and choices the API enforces (issue 13
// item 5), and a field the API adds appears in the console without a second copy of its rules.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Plugin } from 'vite';

export const openapiPath = fileURLToPath(new URL('../docs/openapi.yaml', import.meta.url));
const id = 'virtual:openapi-schemas';

/** components.schemas of the API's reference, as a plain object. */
export function loadSchemas(path: string = openapiPath): Record<string, unknown> {
  const doc = parse(readFileSync(path, 'utf8')) as { components: { schemas: Record<string, unknown> } };
  return doc.components.schemas;
}

export function openapiSchemas(): Plugin {
  return {
    name: 'sg-openapi-schemas',
    resolveId(source) {
      return source === id ? '\0' + id : null;
    },
    load(resolved) {
      if (resolved !== '\0' + id) return null;
      this.addWatchFile(openapiPath);
      return `export default ${JSON.stringify(loadSchemas())};`;
    },
  };
}
