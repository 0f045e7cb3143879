'use strict';
/*
 * Load server/server.js the way the platform does: a script that assigns `exports`, with
 * `$request` as a global. Its own `require` resolves the app's lib/ files. Timers and the
 * console are the test's, so waits are recorded instead of slept and logs can be read.
 */
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');
const { APP_DIR } = require('./templates');

const SERVER = path.join(APP_DIR, 'server', 'server.js');

class Log {
  constructor() {
    this.lines = [];
  }
  log(...args) {
    this.lines.push(['log', args.join(' ')]);
  }
  info(...args) {
    this.lines.push(['info', args.join(' ')]);
  }
  warn(...args) {
    this.lines.push(['warn', args.join(' ')]);
  }
  error(...args) {
    this.lines.push(['error', args.join(' ')]);
  }
  text() {
    return this.lines.map(([level, line]) => `${level}: ${line}`).join('\n');
  }
}

/** Returns {handlers, log, waits}; `realTimers` uses the real setTimeout (end to end). */
function loadServer(request, { realTimers = false } = {}) {
  const log = new Log();
  const waits = [];
  const fakeTimeout = (callback, ms) => {
    waits.push(ms);
    callback();
    return 0;
  };
  const sandbox = {
    require: createRequire(SERVER),
    exports: {},
    console: log,
    $request: request,
    setTimeout: realTimers ? setTimeout : fakeTimeout,
  };
  vm.runInNewContext(fs.readFileSync(SERVER, 'utf8'), sandbox, { filename: SERVER });
  return { handlers: sandbox.exports, log, waits };
}

module.exports = { loadServer, Log };
