// Websites a knowledge base reads: one page, a sitemap or a crawl, resynced on a schedule (docs/knowledge.md).
export { WebSources, type WebSourcesOptions } from './web-sources.ts';
export { WebSourceStore } from './web-store.ts';
