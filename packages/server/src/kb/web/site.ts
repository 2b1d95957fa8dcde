// Reading a website's structure: its robots.txt, its sitemaps and the links
// of a page. Pure functions over text the crawler fetched, so each rule is
// tested without a network.
import { parseHTML } from 'linkedom';
import robotsModule from 'robots-parser';

// The package is CommonJS whose export is the function itself; its types describe an ES default export instead.
const robotsParser = robotsModule as unknown as typeof robotsModule.default;

/** The name the crawler goes by in robots.txt groups (a `User-agent: Warbler` group applies; else `*`). */
export const CRAWLER_AGENT = 'Warbler';

export interface RobotsRules {
  allows(url: string): boolean;
  sitemaps: string[];
  /** The pause the site asks for between requests (Crawl-delay), in ms; 0 when it asks for none. */
  delayMs: number;
}

/**
 * The rules of a site's robots.txt, as Google reads them: a missing file (4xx) allows everything; a server error
 * (5xx) or no answer disallows everything for this run, since the site may be saying "stay away" in the only way
 * it can right now.
 */
export function robotsRules(robotsUrl: string, answer: { status: number; text: string } | undefined): RobotsRules {
  if (!answer || answer.status >= 500) return { allows: () => false, sitemaps: [], delayMs: 0 };
  if (answer.status >= 400 || answer.status < 200) return { allows: () => true, sitemaps: [], delayMs: 0 };
  const robots = robotsParser(robotsUrl, answer.text);
  return {
    // undefined: the URL is on another host than the robots.txt; the crawler never asks for those.
    allows: (url) => robots.isAllowed(url, CRAWLER_AGENT) !== false,
    sitemaps: robots.getSitemaps(),
    delayMs: Math.max(0, Number(robots.getCrawlDelay(CRAWLER_AGENT) ?? 0) * 1000) || 0,
  };
}

/** The page addresses (`<urlset>`) and the nested sitemaps (`<sitemapindex>`) a sitemap lists. */
export function readSitemap(xml: string): { pages: string[]; sitemaps: string[] } {
  const { document } = parseHTML(`<html><body>${xml.replace(/<\?xml[^>]*\?>/i, '')}</body></html>`);
  const locs = (parent: string) => [...document.querySelectorAll(`${parent} > loc`)].map((el) => el.textContent?.trim() ?? '').filter(Boolean);
  return { pages: locs('url'), sitemaps: locs('sitemap') };
}

/**
 * The links of an HTML page that a crawl may follow: absolute, http(s), the fragment dropped, on the page's own
 * origin, and not marked `rel="nofollow"`. A page that says `<meta name="robots" content="nofollow">` gives none.
 */
export function pageLinks(html: string, pageUrl: string): string[] {
  const { document } = parseHTML(html);
  const robots = document.querySelector('meta[name="robots" i]')?.getAttribute('content')?.toLowerCase() ?? '';
  if (/\b(nofollow|none)\b/.test(robots)) return [];
  const base = (() => {
    const href = document.querySelector('base[href]')?.getAttribute('href');
    try {
      return href ? new URL(href, pageUrl) : new URL(pageUrl);
    } catch {
      return new URL(pageUrl);
    }
  })();
  const origin = new URL(pageUrl).origin;
  const out = new Set<string>();
  for (const a of document.querySelectorAll('a[href]')) {
    if (/\bnofollow\b/i.test(a.getAttribute('rel') ?? '')) continue;
    const link = normalizePageUrl(a.getAttribute('href') ?? '', base);
    if (link && new URL(link).origin === origin) out.add(link);
  }
  return [...out];
}

/** Whether a page asks not to be indexed (`<meta name="robots" content="noindex">`). */
export function forbidsIndexing(html: string): boolean {
  const { document } = parseHTML(html);
  return /\b(noindex|none)\b/.test(document.querySelector('meta[name="robots" i]')?.getAttribute('content')?.toLowerCase() ?? '');
}

/** One spelling per page: absolute, http(s) only, no fragment, no credentials. Undefined for what is not a page address. */
export function normalizePageUrl(href: string, base: URL | string): string | undefined {
  let url: URL;
  try {
    url = new URL(href.trim(), base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  url.hash = '';
  return url.href;
}

/** Links to files a knowledge base does not read from the web (images, media, archives) are not worth fetching. */
export function looksLikePage(url: string): boolean {
  return !/\.(png|jpe?g|gif|webp|svg|ico|bmp|mp4|webm|mov|mp3|wav|ogg|zip|gz|tgz|rar|7z|exe|dmg|woff2?|ttf|css|js)$/i.test(new URL(url).pathname);
}
