'use strict';
/*
 * End-to-end driver: run the app's real handlers on a file of product events, against a
 * live Chat Volume Hub on loopback, the way the platform would invoke them.
 *
 *   node testing/deliver.js events.json
 *
 * events.json: {"iparams": {...}, "payloads": [event, ...]}. Each event gets the iparams
 * (as the platform adds them) and goes to the handler manifest.json names for it, a few
 * at a time. Prints one JSON line: {"delivered", "failed", "requests", "logs"}.
 */
const fs = require('node:fs');
const path = require('node:path');
const { loadServer } = require('./sandbox');
const { HttpRequest, APP_DIR } = require('./templates');

const CONCURRENCY = 4;

async function main(file) {
  const { iparams, payloads } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'manifest.json'), 'utf8'));
  const events = manifest.modules.chat_conversation.events;
  const request = new HttpRequest(iparams);
  const { handlers, log } = loadServer(request, { realTimers: true });
  let delivered = 0;
  let failed = 0;
  let next = 0;
  async function worker() {
    while (next < payloads.length) {
      const payload = { ...payloads[next], iparams };
      next += 1;
      const handler = handlers[events[payload.event].handler];
      const outcome = await handler(payload);
      if (outcome.delivered) delivered += 1;
      else failed += 1;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  process.stdout.write(JSON.stringify({ delivered, failed, requests: request.calls.length, logs: log.lines }) + '\n');
}

main(process.argv[2]).catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
