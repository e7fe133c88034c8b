'use strict';
// tsc emits CommonJS; these small .mjs files give ES-module apps real named imports
// (`import { CircuitBreaker } from 'breakerbox'`) and an `--import` entry point.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

function writeIndexWrapper() {
  const cjs = require(path.join(dist, 'index.js'));
  const names = Object.keys(cjs).filter((n) => n !== 'default' && n !== '__esModule');
  const lines = ["import cjs from './index.js';", `export const { ${names.join(', ')} } = cjs;`, 'export default cjs;', ''];
  fs.writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n'));
}

// For `node --import breakerbox/register`: registers import-in-the-middle's loader hook
// (limited to the modules we guard) from here, so no --experimental-loader flag is needed,
// then starts breakerbox through the CommonJS entry so both faces share one registry.
function writeRegisterWrapper() {
  const text = `import { register, createRequire } from 'node:module';

const GUARDED = ['pg', 'pg-pool', 'nats', 'ws', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises'];
register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: GUARDED } });
createRequire(import.meta.url)('./register.js');
`;
  fs.writeFileSync(path.join(dist, 'register.mjs'), text);
}

writeIndexWrapper();
writeRegisterWrapper();
