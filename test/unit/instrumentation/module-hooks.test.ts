/**
 * The preload's own module hooks against real package files on disk: what a patch sees and
 * when, as require-in-the-middle and InstrumentationBase report it to the module definitions.
 */
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { moduleDefinition, moduleFile, type ModuleDefinition } from '../../../src/instrumentation/module-definition';
import { ModuleHooks } from '../../../src/instrumentation/module-hooks';

type Exports = Record<string, unknown>;

function writePackage(root: string, name: string, version: string, files: Record<string, string>): void {
  const dir = path.join(root, 'node_modules', name);
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version, main: 'lib/index.js' }));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
}

describe('preload module hooks (ModuleHooks)', () => {
  let root: string;
  let appRequire: NodeJS.Require;
  let hooks: ModuleHooks | null = null;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-hooks-'));
    writePackage(root, 'demo', '1.2.0', {
      'lib/index.js': "exports.tag = 'demo';\nexports.inner = require('./inner.js');\n",
      'lib/inner.js': 'exports.value = 1;\n',
      'lib/a.js': "exports.early = 1;\nrequire('./b.js');\nexports.late = 2;\n",
      'lib/b.js': "exports.sawA = Object.keys(require('./a.js'));\n",
    });
    writePackage(root, 'old', '0.5.0', { 'lib/index.js': "exports.tag = 'old';\n" });
    fs.writeFileSync(path.join(root, 'plain.js'), 'module.exports = 42;\n');
    fs.writeFileSync(path.join(root, 'other.js'), "module.exports = require('./plain.js') + 1;\n");
    appRequire = createRequire(path.join(root, 'app.js'));
  });

  afterEach(() => {
    hooks?.unhook();
    hooks = null;
    for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
    fs.rmSync(root, { recursive: true, force: true });
  });

  function start(definitions: ModuleDefinition[]): ModuleHooks {
    hooks = new ModuleHooks(definitions);
    return hooks;
  }

  it("patches a package's main module on require, with its version, and hands out what the patch returned from then on", () => {
    const seen: Array<{ keys: string[]; version?: string }> = [];
    const patched = { patched: true };
    start([
      moduleDefinition(
        'demo',
        ['>=1.0.0 <2'],
        (exports, version) => {
          seen.push({ keys: Object.keys(exports as Exports), version });
          return patched;
        },
        () => undefined,
      ),
    ]);
    expect(appRequire('demo')).to.equal(patched);
    expect(appRequire('demo')).to.equal(patched);
    expect(seen).to.deep.equal([{ keys: ['tag', 'inner'], version: '1.2.0' }]);
  });

  it('leaves a version outside the declared range unpatched', () => {
    let calls = 0;
    start([
      moduleDefinition(
        'old',
        ['>=1.0.0 <2'],
        (e) => {
          calls++;
          return e;
        },
        () => undefined,
      ),
    ]);
    expect((appRequire('old') as Exports).tag).to.equal('old');
    expect(calls).to.equal(0);
  });

  it('patches a file inside a package by its path when the package requires it, and only that file', () => {
    const files: string[] = [];
    start([
      moduleDefinition(
        'demo',
        ['*'],
        (e) => e,
        () => undefined,
        [
          moduleFile(
            'demo/lib/inner.js',
            ['>=1.0.0 <2'],
            (exports) => {
              files.push('inner');
              (exports as Exports).patched = true;
              return exports;
            },
            () => undefined,
          ),
        ],
      ),
    ]);
    const demo = appRequire('demo') as { inner: Exports };
    expect(demo.inner).to.deep.equal({ value: 1, patched: true });
    expect(files).to.deep.equal(['inner']);
  });

  it('patches a file in a require cycle once, when its own load has finished', () => {
    const seen: string[][] = [];
    start([
      moduleDefinition(
        'demo',
        ['*'],
        (e) => e,
        () => undefined,
        [
          moduleFile(
            'demo/lib/a.js',
            ['*'],
            (exports) => {
              seen.push(Object.keys(exports as Exports));
              return exports;
            },
            () => undefined,
          ),
        ],
      ),
    ]);
    const a = appRequire(path.join(root, 'node_modules', 'demo', 'lib', 'a.js')) as Exports;
    expect(a).to.deep.equal({ early: 1, late: 2 });
    expect(seen).to.deep.equal([['early', 'late']]);
    expect((appRequire(path.join(root, 'node_modules', 'demo', 'lib', 'b.js')) as Exports).sawA).to.deep.equal(['early']);
  });

  it('unpatches on disable, remembers what is required meanwhile, and patches it on enable', () => {
    const log: string[] = [];
    const h = start([
      moduleDefinition(
        'demo',
        ['*'],
        () => {
          log.push('patch');
          return undefined;
        },
        () => log.push('unpatch'),
      ),
    ]);
    h.disable();
    expect(h.isEnabled()).to.equal(false);
    appRequire('demo');
    expect(log).to.deep.equal([]);
    h.enable();
    expect(log).to.deep.equal(['patch']);
    h.disable();
    expect(log).to.deep.equal(['patch', 'unpatch']);
  });

  it('patches a copy loaded anew after its require.cache entry is deleted', () => {
    let calls = 0;
    start([
      moduleDefinition(
        'demo',
        ['*'],
        (e) => {
          calls++;
          return e;
        },
        () => undefined,
      ),
    ]);
    const first = appRequire('demo');
    delete require.cache[appRequire.resolve('demo')];
    const second = appRequire('demo');
    expect(second).to.not.equal(first);
    expect(calls).to.equal(2);
  });

  it('reports fs and fs/promises by any id, through require and process.getBuiltinModule', () => {
    const seen: string[] = [];
    start([
      moduleDefinition(
        'fs',
        ['*'],
        (e) => {
          seen.push('fs');
          return e;
        },
        () => undefined,
      ),
      moduleDefinition(
        'fs/promises',
        ['*'],
        (e) => {
          seen.push('fs/promises');
          return e;
        },
        () => undefined,
      ),
    ]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const realFs: unknown = require('node:fs');
    expect(appRequire('node:fs')).to.equal(realFs);
    appRequire('fs');
    appRequire('node:fs/promises');
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    if (getBuiltin) expect(getBuiltin('fs')).to.equal(realFs);
    // Once per loaded copy, whatever id asked for it.
    expect(seen).to.deep.equal(['fs', 'fs/promises']);
  });

  it("resolves the app's other requires once, as without hooks", () => {
    const internals = Module as unknown as { _resolveFilename: (...args: unknown[]) => string };
    const original = internals._resolveFilename;
    let calls = 0;
    internals._resolveFilename = function (this: unknown, ...args: unknown[]) {
      calls++;
      return original.apply(this, args);
    };
    let bare: number;
    try {
      expect(appRequire('./other.js')).to.equal(43);
      bare = calls;
      for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
      // Hooks first, counting after: building them loads import-in-the-middle.
      start([
        moduleDefinition(
          'demo',
          ['*'],
          (e) => e,
          () => undefined,
        ),
      ]);
      calls = 0;
      expect(appRequire('./other.js')).to.equal(43);
    } finally {
      internals._resolveFilename = original;
    }
    expect(bare).to.be.greaterThan(0);
    expect(calls).to.equal(bare);
  });

  it('puts require back when unhooked', () => {
    const before = (Module.prototype as { require: unknown }).require;
    const h = start([
      moduleDefinition(
        'demo',
        ['*'],
        (e) => e,
        () => undefined,
      ),
    ]);
    expect((Module.prototype as { require: unknown }).require).to.not.equal(before);
    h.unhook();
    hooks = null;
    expect((Module.prototype as { require: unknown }).require).to.equal(before);
  });
});
