import { expect } from 'chai';
import { parseConfig, type BreakerboxConfig } from '../../../src/config';
import { HOST_FILE_FAST_PATH_CHARS } from '../../../src/config/section-text';
import { FILE, problemsOf } from './helpers';

/**
 * An app's own server_config.yaml, by default of about 2 MB (some 50,000 keys of its own),
 * with the `circuit_breakers:` section somewhere in the middle, as `section` lines.
 */
function hostFile(
  section: string[],
  opts: { before?: string[]; after?: string[]; keys?: number } = {},
): { text: string; sectionLine: number } {
  const half = (opts.keys ?? 50_000) / 2;
  const lines = ['# server configuration', 'server:', '  name: game-server', ...(opts.before ?? []), 'players:'];
  for (let i = 0; i < half; i++) lines.push(`  player_${i}: { level: ${i % 90}, guild: "guild ${i % 500}" }`);
  const sectionLine = lines.length + 1;
  lines.push(...section, 'items:');
  for (let i = 0; i < half; i++) lines.push(`  item_${i}: sword of ${i}`);
  lines.push(...(opts.after ?? []));
  return { text: `${lines.join('\n')}\n`, sectionLine };
}

const SECTION = ['circuit_breakers:', '  database:', '    failure_threshold: 3', '    timeout: 30', '  nats:', '    failure_threshold: 2'];

function load(text: string): BreakerboxConfig {
  return parseConfig(text, FILE, { env: {}, cwd: '/srv/app' });
}

/** The failure thresholds the file gave its database and nats breakers (other modules keep built-in ones). */
function thresholds(config: BreakerboxConfig): [string, number | undefined][] {
  return ['database', 'nats'].map((name) => [name, config.breakers.find((b) => b.name === name)?.options.failureThreshold]);
}

/**
 * Where the section cannot be cut out exactly (an alias may point outside it, a second
 * section, several documents) the whole file is parsed, which the YAML library does at
 * about 100 µs a line: these cases use a smaller file, still past the size where only the
 * section is read.
 */
function smallerHostFile(section: string[], opts: { before?: string[]; after?: string[] } = {}): { text: string; sectionLine: number } {
  const file = hostFile(section, { ...opts, keys: 2_000 });
  expect(file.text.length).to.be.greaterThan(HOST_FILE_FAST_PATH_CHARS);
  return file;
}

describe('config: a large host file with the section inside', function () {
  // Generous: the point is that it loads (it used to take minutes), not how fast.
  this.timeout(60_000);

  it('is a file of about 2 MB', () => {
    const { text } = hostFile(SECTION);
    expect(text.length).to.be.within(1_800_000, 2_600_000);
  });

  it('loads the section from it', () => {
    expect(thresholds(load(hostFile(SECTION).text))).to.deep.equal([
      ['database', 3],
      ['nats', 2],
    ]);
  });

  it('reports a repeated key inside the section, at its line in the file', () => {
    const { text, sectionLine } = hostFile([...SECTION, '  database:', '    failure_threshold: 4']);
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.message])).to.deep.equal([
      [
        sectionLine + 6,
        `${FILE}:${sectionLine + 6}: YAML syntax error: Map keys must be unique (circuit_breakers.database appears more than once)`,
      ],
    ]);
  });

  it('reports other problems of the section at their lines in the file', () => {
    const { text, sectionLine } = hostFile(['circuit_breakers:', '  database:', '    failure_threshold: -1']);
    const [p] = problemsOf(text);
    expect(p.line).to.equal(sectionLine + 2);
    expect(p.path).to.equal('circuit_breakers.database.failure_threshold');
  });

  it('leaves keys the app repeats outside the section to the app', () => {
    const { text } = hostFile(SECTION, { before: ['  name: repeated'] });
    expect(thresholds(load(text))).to.deep.equal([
      ['database', 3],
      ['nats', 2],
    ]);
  });

  it('reads a section that refers to an anchor elsewhere in the file, and still reports repeated keys in it', () => {
    const withAlias = ['circuit_breakers:', '  database:', '    failure_threshold: *threshold', '    timeout: 30'];
    const { text } = smallerHostFile(withAlias, { before: ['  breaker_threshold: &threshold 7'] });
    expect(load(text).breakers.find((b) => b.name === 'database')?.options.failureThreshold).to.equal(7);

    const repeated = smallerHostFile([...withAlias, '    timeout: 31'], { before: ['  breaker_threshold: &threshold 7'] });
    const problems = problemsOf(repeated.text);
    expect(problems.map((p) => p.line)).to.deep.equal([repeated.sectionLine + 4]);
    expect(problems[0].message).to.contain('circuit_breakers.database.timeout appears more than once');
  });

  it('reports a second circuit_breakers section', () => {
    const { text } = smallerHostFile(SECTION, { after: ['circuit_breakers:', '  websocket:', '    failure_threshold: 1'] });
    const problems = problemsOf(text);
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.contain('circuit_breakers appears more than once');
  });

  it('still refuses a file of several documents', () => {
    const { text } = smallerHostFile(SECTION, { after: ['---', 'other: document'] });
    expect(problemsOf(text)[0].message).to.contain('more than one YAML document');
  });

  it('reads a file that opens with a document start line', () => {
    const { text } = hostFile(SECTION);
    expect(thresholds(load(`---\n${text}`))).to.deep.equal([
      ['database', 3],
      ['nats', 2],
    ]);
  });

  it('refuses a section written as a list at column 0, as it would in a small file', () => {
    const { text } = smallerHostFile(['circuit_breakers:', '- database']);
    const problems = problemsOf(text);
    expect(problems).to.have.length(1);
    expect(problems[0].path).to.equal('circuit_breakers');
  });

  it('reads a document written as one flow mapping over many lines as a whole', () => {
    const keys = Array.from({ length: 3_000 }, (_, i) => `app_key_${i}: "some value of the app number ${i}",`);
    const text = ['{', ...keys, 'circuit_breakers: {database: {failure_threshold: 4}},', 'last: 1', '}', ''].join('\n');
    expect(text.length).to.be.greaterThan(HOST_FILE_FAST_PATH_CHARS);
    expect(load(text).breakers.find((b) => b.name === 'database')?.options.failureThreshold).to.equal(4);
  });
});
