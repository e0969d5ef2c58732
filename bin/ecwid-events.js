#!/usr/bin/env node
// package.json "bin" entry: runs the TypeScript CLI through tsx (CommonJS, like the project).
'use strict';
require('tsx/cjs');
require('./ecwid-events.ts');
