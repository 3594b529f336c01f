// env.d.ts: types of the virtual module openapi-plugin.ts provides.
declare module 'virtual:openapi-schemas' {
  const schemas: Record<string, unknown>;
  export default schemas;
}
