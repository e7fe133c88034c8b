'use strict';
// A build starts from an empty dist/, so files of moved or deleted sources are never published.
require('node:fs').rmSync(require('node:path').join(__dirname, '..', 'dist'), { recursive: true, force: true });
