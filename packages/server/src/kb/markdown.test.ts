import { describe, expect, it } from 'vitest';
import { firstHeading, markdownSections, stripFrontMatter, textSections } from './markdown.ts';

describe('stripFrontMatter', () => {
  it('removes YAML front matter and keeps its title', () => {
    const { body, title } = stripFrontMatter('---\ntitle: "Quick start"\ntags: [a]\n---\n# Hello\r\n');
    expect(title).toBe('Quick start');
    expect(body).toBe('# Hello\n');
  });

  it('leaves a document without front matter alone', () => {
    expect(stripFrontMatter('Intro\n\n---\n\nMore')).toEqual({ body: 'Intro\n\n---\n\nMore' });
  });
});

describe('markdownSections', () => {
  it('gives each section its heading path', () => {
    const md = [
      'Preamble.',
      '# Quick start',
      'Welcome.',
      '## Install',
      'Run it.',
      '### On Linux',
      'apt.',
      '## Configure ##',
      'Edit **the** [file](x.md).',
      '# Reference',
      'Ref.',
    ].join('\n');
    expect(markdownSections(md).map((s) => [s.headingPath.join(' › '), s.blocks.map((b) => b.text).join('|')])).toEqual([
      ['', 'Preamble.'],
      ['Quick start', 'Welcome.'],
      ['Quick start › Install', 'Run it.'],
      ['Quick start › Install › On Linux', 'apt.'],
      ['Quick start › Configure', 'Edit **the** [file](x.md).'],
      ['Reference', 'Ref.'],
    ]);
  });

  it('reads setext headings and strips inline markup from heading text', () => {
    const sections = markdownSections('Guide\n=====\n\nIntro.\n\nThe `serve` *command*\n---\n\nBody.');
    expect(sections.map((s) => s.headingPath)).toEqual([['Guide'], ['Guide', 'The serve command']]);
  });

  it('keeps a code fence as one block and ignores # lines inside it', () => {
    const md = '# Setup\n\n```sh\n# install\n\nnpm i\n```\n\nDone.';
    const [section] = markdownSections(md);
    expect(section!.blocks).toEqual([
      { text: '```sh\n# install\n\nnpm i\n```', fence: { open: '```sh', close: '```', body: '# install\n\nnpm i' } },
      { text: 'Done.' },
    ]);
  });

  it('runs an unclosed fence to the end of the document', () => {
    const [section] = markdownSections('~~~\ncode\n# not a heading');
    expect(section!.blocks).toHaveLength(1);
    expect(section!.blocks[0]!.fence).toEqual({ open: '~~~', close: '~~~', body: 'code\n# not a heading' });
  });

  it('drops headings with no text under them but keeps them in the path', () => {
    expect(markdownSections('# A\n## B\nText').map((s) => s.headingPath)).toEqual([['A', 'B']]);
  });

  it('finds the first heading', () => {
    expect(firstHeading('Intro\n\n# Title\n\ntext')).toBe('Title');
    expect(firstHeading('no headings')).toBeUndefined();
  });
});

describe('textSections', () => {
  it('splits plain text into paragraphs with no headings', () => {
    expect(textSections('# not a heading\n\nsecond\r\n\r\n')).toEqual([
      { headingPath: [], blocks: [{ text: '# not a heading' }, { text: 'second' }] },
    ]);
  });
});
