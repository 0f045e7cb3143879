'use strict';
// The files the marketplace reads agree with each other and with the code.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadServer } = require('../testing/sandbox');
const { APP_DIR, TEMPLATES } = require('../testing/templates');

const read = (...parts) => JSON.parse(fs.readFileSync(path.join(APP_DIR, ...parts), 'utf8'));

test('platform 3.0, the three chat_conversation events, each with a handler in server.js', () => {
  const manifest = read('manifest.json');
  assert.equal(manifest['platform-version'], '3.0');
  const events = manifest.modules.chat_conversation.events;
  assert.deepEqual(Object.keys(events).sort(), ['onConversationCreate', 'onConversationUpdate', 'onMessageCreate']);
  const { handlers } = loadServer({});
  for (const { handler } of Object.values(events)) assert.equal(typeof handlers[handler], 'function', handler);
});

test('every declared request template exists, and every template is declared', () => {
  const declared = Object.keys(read('manifest.json').modules.common.requests).sort();
  assert.deepEqual(declared, Object.keys(TEMPLATES).sort());
});

test('the key is a secure iparam and only the templates read it', () => {
  const iparams = read('config', 'iparams.json');
  assert.equal(iparams.api_key.secure, true);
  assert.equal(iparams.server_url.secure, undefined);
  const script = fs.readFileSync(path.join(APP_DIR, 'config', 'assets', 'iparams.js'), 'utf8');
  for (const field of Object.values(iparams)) {
    for (const { change } of field.events) assert.match(script, new RegExp(`function ${change}\\(`));
  }
  const server = fs.readFileSync(path.join(APP_DIR, 'server', 'server.js'), 'utf8');
  assert.ok(!server.includes('api_key'));
});
