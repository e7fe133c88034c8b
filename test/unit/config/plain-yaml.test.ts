import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { readPlainYaml } from '../../../src/config/plain-yaml';
import { Problems } from '../../../src/config/problems';
import { fromYaml, type TreeNode } from '../../../src/config/tree';
import { FILE, yaml } from './helpers';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** The tree the YAML library gives, which the plain reader must match exactly. */
function libraryTree(text: string): TreeNode | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  expect(doc.errors, text).to.deep.equal([]);
  return fromYaml(doc, lines, new Problems(FILE));
}

/** Every ```yaml block of a Markdown file. */
function yamlBlocks(file: string): string[] {
  const md = fs.readFileSync(path.join(REPO, file), 'utf8');
  return [...md.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const COMMON = [
  fs.readFileSync(path.join(REPO, 'examples/demo/breakerbox.yaml'), 'utf8'),
  fs.readFileSync(path.join(__dirname, 'fixtures/server_config.yaml'), 'utf8'),
  '',
  '# only a comment\n\n',
  'circuit_breakers:\n',
  'circuit_breakers: # nothing here\n  # nor here\n',
  yaml('circuit_breakers:', '  monitoring:', '    port: 19467', '    host: 127.0.0.1', '    log_level: warn'),
  yaml('circuit_breakers:', '  file_system:', '    paths:', '    - "./data/**"', "    - './logs/*.log' # logs", '    operations: []'),
  yaml('  default_timeout: 500ms', '  database:', '    timeout: "2m"', '    failure_rate: 0.25', '    enabled: ~'),
  yaml(
    'circuit_breakers:',
    '  database:     { failure_threshold: 3, timeout: 30, operations: [connect, query] }',
    "  monitoring: {enabled: true, log_level: 'info'}   # comment",
    '  nats: {}',
    '  ws: []',
    '  x: [{b: 1, c: [d]}]',
  ),
  'a: -5\r\nb: +7\r\nc: .5\r\nd: 1.\r\ne: True\r\nf: FALSE\r\ng: Null\r\nh: 0.0.0.0\r\ni: 007\r\n',
  yaml(
    'app:',
    '  name: shop',
    '  tags: [a, b.c, "d e"]',
    'circuit_breakers:',
    '  nats:',
    '    operations:',
    '      - connect',
    '      - publish',
  ),
];

const BEYOND = [
  yaml('base: &b', '  timeout: 5', 'database:', '  <<: *b'),
  yaml('a: !!str 5'),
  yaml('a: |', '  text'),
  yaml('a: {b: 1, b: 2}'),
  yaml('a: {b: 1,}'),
  yaml('a: {b:1}'),
  yaml('a: { b: [c, d }'),
  yaml('a: "tab\\t"'),
  yaml('a: 1', 'a: 2'),
  'a:\t1\n',
  yaml('a: 0x10'),
  yaml('a: 1e3'),
  yaml('a: .inf'),
  yaml('a: two', '  lines'),
  yaml('---', 'a: 1'),
  yaml('a: [1, 2'),
  yaml('a: b: c'),
  yaml('a: [b:c]'),
  yaml('a: b:'),
  yaml('a: 12345678901234567890'),
  yaml('- a', '- b'),
  yaml("a: 'it''s'"),
];

describe('config files read without the YAML library', () => {
  it('reads the common files exactly as the YAML library does, lines included', () => {
    const docs = [...COMMON, ...yamlBlocks('README.md'), ...yamlBlocks('docs/configuration.md')];
    let read = 0;
    for (const text of docs) {
      const plain = readPlainYaml(text);
      if (plain === undefined) continue;
      read++;
      expect(plain, text).to.deep.equal(libraryTree(text));
    }
    expect(COMMON.map((t) => readPlainYaml(t) === undefined)).to.deep.equal(COMMON.map(() => false));
    expect(read).to.be.greaterThan(COMMON.length);
  });

  it('leaves everything beyond the common subset to the YAML library', () => {
    for (const text of BEYOND) expect(readPlainYaml(text), text).to.equal(undefined);
  });
});
