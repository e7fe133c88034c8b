import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';

describe('config discovery', () => {
  let dir: string;
  const write = (name: string, threshold: number) => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `circuit_breakers:\n  database:\n    failure_threshold: ${threshold}\n`);
    return file;
  };
  const threshold = (c: ReturnType<typeof loadConfig>) => c.breakers[0].options.failureThreshold;

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-config-')));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads opts.path first, over BREAKERBOX_CONFIG and ./breakerbox.yaml', () => {
    const explicit = write('explicit.yaml', 1);
    const named = write('named.yaml', 2);
    write('breakerbox.yaml', 3);
    const c = loadConfig({ path: explicit, env: { BREAKERBOX_CONFIG: named }, cwd: dir });
    expect(threshold(c)).to.equal(1);
    expect(c.source).to.equal(explicit);
  });

  it('resolves a relative opts.path against cwd', () => {
    write('conf/app.yaml', 4);
    const c = loadConfig({ path: 'conf/app.yaml', env: {}, cwd: dir });
    expect(c.source).to.equal(path.join(dir, 'conf/app.yaml'));
  });

  it('reads BREAKERBOX_CONFIG over ./breakerbox.yaml', () => {
    const named = write('named.yaml', 2);
    write('breakerbox.yaml', 3);
    const c = loadConfig({ env: { BREAKERBOX_CONFIG: named }, cwd: dir });
    expect(threshold(c)).to.equal(2);
    expect(c.source).to.equal(named);
  });

  it('resolves a relative BREAKERBOX_CONFIG against cwd', () => {
    write('etc/bb.yaml', 6);
    expect(loadConfig({ env: { BREAKERBOX_CONFIG: 'etc/bb.yaml' }, cwd: dir }).source).to.equal(path.join(dir, 'etc/bb.yaml'));
  });

  it('fails naming BREAKERBOX_CONFIG and the path when that file is missing, without falling back', () => {
    write('breakerbox.yaml', 3);
    const missing = path.join(dir, 'nope.yaml');
    let err: unknown;
    try {
      loadConfig({ env: { BREAKERBOX_CONFIG: missing }, cwd: dir });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).to.equal('EBREAKERBOXCONFIG');
    expect(e.message).to.include('BREAKERBOX_CONFIG').and.include(missing);
    expect(e.problems).to.have.length(1);
    expect(e.problems[0]).to.deep.include({ path: 'BREAKERBOX_CONFIG', value: missing, file: null });
  });

  it('treats an empty BREAKERBOX_CONFIG as unset', () => {
    write('breakerbox.yaml', 3);
    expect(threshold(loadConfig({ env: { BREAKERBOX_CONFIG: '' }, cwd: dir }))).to.equal(3);
  });

  it('reads ./breakerbox.yaml from the working directory', () => {
    const local = write('breakerbox.yaml', 3);
    const c = loadConfig({ env: {}, cwd: dir });
    expect(threshold(c)).to.equal(3);
    expect(c.source).to.equal(local);
  });

  it('falls back to the built-in defaults when there is no file', () => {
    const c = loadConfig({ env: {}, cwd: dir });
    expect(c.source).to.equal(null);
    expect(c.breakers.map((b) => b.name)).to.deep.equal(['database', 'nats', 'websocket', 'file_system']);
    expect(c.breakers[3].paths).to.deep.equal([path.join(dir, 'data/**')]);
  });

  it('fails when opts.path does not exist', () => {
    const missing = path.join(dir, 'missing.yaml');
    expect(() => loadConfig({ path: missing, env: {}, cwd: dir })).to.throw(
      ConfigError,
      new RegExp(`${missing}: cannot read the configuration file \\(ENOENT\\)`),
    );
  });

  it('fails when ./breakerbox.yaml cannot be read rather than silently using defaults', () => {
    fs.mkdirSync(path.join(dir, 'breakerbox.yaml'));
    expect(() => loadConfig({ env: {}, cwd: dir })).to.throw(ConfigError, /EISDIR/);
  });

  it('reports the problems of an invalid file with its absolute path', () => {
    const file = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(file, 'database:\n  timeout: -3\n');
    try {
      loadConfig({ env: {}, cwd: dir });
      expect.fail('should have thrown');
    } catch (err) {
      const e = err as ConfigError;
      expect(e.file).to.equal(file);
      expect(e.message.split('\n')).to.deep.equal([
        `breakerbox: invalid configuration in ${file} (1 problem):`,
        `${file}:2: database.timeout: got -3, expected a duration greater than 0 (seconds as a number or a string like "500ms", "30s", "2m")`,
      ]);
    }
  });
});
