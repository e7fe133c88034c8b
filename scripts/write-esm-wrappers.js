'use strict';
// tsc emits CommonJS; these tiny .mjs files give ESM apps real named imports
// (`import { CircuitBreaker } from 'breakerbox'`) without a second build.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

function writeWrapper(base) {
  const cjs = require(path.join(dist, `${base}.js`));
  const names = Object.keys(cjs).filter((n) => n !== 'default' && n !== '__esModule');
  const lines = [`import cjs from './${base}.js';`];
  if (names.length > 0) lines.push(`export const { ${names.join(', ')} } = cjs;`);
  lines.push('export default cjs;', '');
  fs.writeFileSync(path.join(dist, `${base}.mjs`), lines.join('\n'));
}

writeWrapper('index');
