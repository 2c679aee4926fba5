/**
 * The documentation stays usable and true to the code: a README a newcomer reads in minutes,
 * links that lead somewhere, no references to internal tracking, a changelog at the package's
 * version, and a deploy outputs list that names exactly the outputs the stack defines.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CONFIG_KEYS, CONSTRUCT_ONLY_KEYS } from '../../lib/config';

const ROOT = path.join(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** README.md and every docs/*.md, as paths relative to the repository root. */
const DOCUMENTS = ['README.md', ...readdirSync(DOCS).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];

/** The document without its fenced code blocks (their lines blanked, so line numbers hold). */
function withoutFences(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s*(```|~~~)/.exec(line)?.[1];
      if (marker && (fence === undefined || fence === marker)) {
        fence = fence === undefined ? marker : undefined;
        return '';
      }
      return fence === undefined ? line : '';
    })
    .join('\n');
}

/** Prose only: no fenced code, no inline code, no link targets, no bare URLs. */
function prose(markdown: string): string {
  return withoutFences(markdown)
    .replace(/`[^`\n]*`/g, ' ')
    .replace(/\]\([^)\s]*\)/g, '] ')
    .replace(/\bhttps?:\/\/\S+/g, ' ');
}

/** GitHub's anchor for a heading: lower-cased, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown document's headings, numbered as GitHub numbers repeated ones. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const heading = /^#{1,6} +(.+?) *#*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Relative links `[text](target)` outside code: the target, and the line it is on. */
function relativeLinks(markdown: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  withoutFences(markdown)
    .split('\n')
    .forEach((line, index) => {
      for (const match of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:...
        links.push({ target, line: index + 1 });
      }
    });
  return links;
}

describe('README.md', () => {
  it('is under 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThan(300);
  });

  it('links to every document in docs/', () => {
    const linked = new Set(relativeLinks(read('README.md')).map((link) => path.normalize(link.target.split('#')[0]!)));
    for (const document of DOCUMENTS.filter((file) => file.startsWith('docs/'))) expect([...linked]).toContain(path.normalize(document));
  });
});

describe.each(DOCUMENTS)('%s', (document) => {
  const markdown = read(document);

  it('has relative links only to files that exist, and to headings that exist', () => {
    const broken: string[] = [];
    for (const { target, line } of relativeLinks(markdown)) {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? path.join(ROOT, document) : path.resolve(path.dirname(path.join(ROOT, document)), decodeURIComponent(file));
      if (!existsSync(resolved)) {
        broken.push(`line ${line}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`line ${line}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('refers to no issue numbers or internal notes', () => {
    const text = prose(markdown);
    const found = [...text.matchAll(/#\d+\b|\bissues? \d+|\bthe issue\b/gi)].map((match) => match[0]);
    expect(found).toEqual([]);
  });
});

describe('the changelog', () => {
  it('starts with the version of package.json', () => {
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    const first = /^## +v?(\d+\.\d+\.\d+\S*)/m.exec(read('docs/CHANGELOG.md'))?.[1];
    expect(first).toBe(version);
  });
});

describe('docs/configuration.md', () => {
  const configuration = read('docs/configuration.md');
  // Your own domain and the Ticket Center stylesheet are documented on a page of their own.
  const customDomain = existsSync(path.join(DOCS, 'custom-domain.md')) ? read('docs/custom-domain.md') : '';

  it.each([...Object.keys(CONFIG_KEYS), ...CONSTRUCT_ONLY_KEYS])('documents %s', (key) => {
    expect(`${configuration}\n${customDomain}`).toContain(`\`${key}\``);
  });
});

describe('docs/deploy.md', () => {
  it('lists exactly the outputs lib/crisp-bridge-stack.ts defines', () => {
    const stack = read('lib/crisp-bridge-stack.ts');
    const defined = [...stack.matchAll(/new CfnOutput\(this, '(\w+)'/g)].map((match) => match[1]!);
    expect(defined.length).toBeGreaterThan(0);

    const deploy = withoutFences(read('docs/deploy.md'));
    const start = deploy.search(/^## Outputs$/m);
    expect(start).toBeGreaterThanOrEqual(0);
    const section = deploy.slice(start).split(/\n## /)[0]!;
    // The first cell of each row of the outputs table.
    const listed = section
      .split('\n')
      .map((line) => /^\| *`(\w+)` *\|/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);

    expect([...listed].sort()).toEqual([...new Set(defined)].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });
});
