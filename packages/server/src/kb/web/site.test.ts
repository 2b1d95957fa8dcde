import { describe, expect, it } from 'vitest';
import { forbidsIndexing, looksLikePage, normalizePageUrl, pageLinks, readSitemap, robotsRules } from './site.ts';

describe('robots.txt', () => {
  const robots = [
    'User-agent: *',
    'Disallow: /private/',
    'Allow: /private/faq',
    '',
    'User-agent: BadBot',
    'Disallow: /',
    '',
    'Sitemap: https://help.example.com/sitemap.xml',
  ].join('\n');

  it('follows the group for every crawler, the longest match winning', () => {
    const rules = robotsRules('https://help.example.com/robots.txt', { status: 200, text: robots });
    expect(rules.allows('https://help.example.com/returns')).toBe(true);
    expect(rules.allows('https://help.example.com/private/salaries')).toBe(false);
    expect(rules.allows('https://help.example.com/private/faq')).toBe(true);
    expect(rules.sitemaps).toEqual(['https://help.example.com/sitemap.xml']);
  });

  it('uses a group named for Warbler over the catch-all', () => {
    const rules = robotsRules('https://a.example/robots.txt', { status: 200, text: 'User-agent: *\nDisallow: /\n\nUser-agent: Warbler\nDisallow: /admin' });
    expect(rules.allows('https://a.example/help')).toBe(true);
    expect(rules.allows('https://a.example/admin/x')).toBe(false);
  });

  it('allows everything when there is no robots.txt, and nothing while the site fails', () => {
    expect(robotsRules('https://a.example/robots.txt', { status: 404, text: 'not found' }).allows('https://a.example/x')).toBe(true);
    expect(robotsRules('https://a.example/robots.txt', { status: 503, text: '' }).allows('https://a.example/x')).toBe(false);
    expect(robotsRules('https://a.example/robots.txt', undefined).allows('https://a.example/x')).toBe(false);
  });
});

describe('sitemaps', () => {
  it('lists the pages of a urlset and the sitemaps of an index', () => {
    const set = readSitemap(`<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc> https://a.example/one </loc><lastmod>2026-01-01</lastmod></url>
        <url><loc>https://a.example/退货</loc></url>
      </urlset>`);
    expect(set).toEqual({ pages: ['https://a.example/one', 'https://a.example/退货'], sitemaps: [] });
    const index = readSitemap('<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>');
    expect(index).toEqual({ pages: [], sitemaps: ['https://a.example/s1.xml'] });
  });
});

describe('page links', () => {
  it('keeps same-origin page links, resolved and without fragments; drops nofollow, other sites and other schemes', () => {
    const html = `<html><body>
      <a href="/returns#top">Returns</a>
      <a href="shipping">Shipping</a>
      <a href="https://other.example/x">Elsewhere</a>
      <a href="mailto:help@a.example">Mail</a>
      <a href="javascript:alert(1)">JS</a>
      <a href="/secret" rel="nofollow">Hidden</a>
      <a href="/returns">Returns again</a>
    </body></html>`;
    expect(pageLinks(html, 'https://a.example/help/')).toEqual(['https://a.example/returns', 'https://a.example/help/shipping']);
  });

  it('follows nothing from a page that says nofollow, and sees noindex', () => {
    const html = '<html><head><meta name="robots" content="noindex, nofollow"></head><body><a href="/x">x</a></body></html>';
    expect(pageLinks(html, 'https://a.example/')).toEqual([]);
    expect(forbidsIndexing(html)).toBe(true);
    expect(forbidsIndexing('<html><body>hello</body></html>')).toBe(false);
  });

  it('spells each page one way and skips what is not a page', () => {
    expect(normalizePageUrl('https://user:pw@a.example/x', 'https://a.example/')).toBeUndefined();
    expect(normalizePageUrl('ftp://a.example/x', 'https://a.example/')).toBeUndefined();
    expect(normalizePageUrl('  /a b#c ', 'https://a.example/')).toBe('https://a.example/a%20b');
    expect(looksLikePage('https://a.example/logo.PNG')).toBe(false);
    expect(looksLikePage('https://a.example/guide.html')).toBe(true);
  });
});
