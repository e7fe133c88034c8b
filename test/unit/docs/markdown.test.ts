import { expect } from 'chai';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { defaultConfig } from '../../../src/config';

const REPO = path.resolve(__dirname, '..', '..', '..');
const SKIP = new Set(['node_modules', 'dist', 'dist-bench', '.git']);
/** The demo's chaos kinds, in the order the switch cycles through them. */
const { CHAOS_KINDS } = createRequire(__filename)(path.join(REPO, 'examples', 'demo', 'chaos.js')) as { CHAOS_KINDS: string[] };

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...markdownFiles(p));
    else if (e.name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** Inline links and images, outside code fences and code spans. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const links: string[] = [];
  for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    links.push(target);
  }
  return links;
}

describe('docs: Markdown files', () => {
  const files = markdownFiles(REPO);

  it("finds the repository's Markdown files", () => {
    expect(files.map((f) => path.relative(REPO, f))).to.include.members(['README.md', 'CHANGELOG.md', 'examples/demo/README.md']);
  });

  for (const file of files) {
    const rel = path.relative(REPO, file);
    it(`${rel}: every relative link resolves to a file in the repository`, () => {
      const broken = relativeLinks(fs.readFileSync(file, 'utf8')).filter(
        (link) => !fs.existsSync(path.resolve(path.dirname(file), decodeURIComponent(link.split('#')[0]))),
      );
      expect(broken, `broken links in ${rel}`).to.deep.equal([]);
    });

    it(`${rel}: cites no DESIGN document, which is not shipped in the repository`, () => {
      expect(fs.readFileSync(file, 'utf8')).to.not.match(/\bDESIGN(\.md| section)/);
    });
  }

  it('README "Break something" has a row for every chaos kind and says when each breaker opens under `npm start` (the built-in defaults)', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Break something'), readme.indexOf('### What to look at'));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((r) => /^\| `([^`]+)`/.exec(r)?.[1])).to.deep.equal(CHAOS_KINDS);
    const builtIn = defaultConfig({ env: {} });
    // The breaker's name followed by a colon starts its "breaker opens" cell.
    const row = (name: string): string => rows.find((r) => r.includes(`\`${name}\`:`)) ?? '';
    const options = (name: string) => builtIn.breakers.find((x) => x.name === name)?.options;
    for (const name of ['database', 'file_system']) {
      expect(row(name)).to.include(
        `npm start: after ${options(name)?.failureThreshold} failures in a row, open ${(options(name)?.resetTimeoutMs ?? 0) / 1000} s`,
      );
    }
    // nats opens on failed reconnect attempts, not on failed calls in a row.
    expect(row('nats')).to.include(`open ${(options('nats')?.resetTimeoutMs ?? 0) / 1000} s`);
  });
});
