/** Public API of the package outside n8n: the campaign engine (stores, trigger rules, ingest). */
export * from './src';
