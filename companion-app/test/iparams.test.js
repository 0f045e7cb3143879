'use strict';
// The install screen's checks, run in a sandbox with the platform's `app` and `utils`
// stand-ins and the real pingServer template.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { ScriptedRequest, APP_DIR } = require('../testing/templates');

const SCRIPT = fs.readFileSync(path.join(APP_DIR, 'config', 'assets', 'iparams.js'), 'utf8');
const KEY = 'cvh_Ab12Cd34.0123456789abcdef';

function screen(values, answers) {
  const request = new ScriptedRequest(answers, {});
  const hints = {};
  const sandbox = {
    URL,
    app: { initialized: async () => ({ request }) },
    utils: {
      get: (name) => values[name],
      set: (name, attributes) => {
        hints[name] = attributes.hint;
      },
    },
  };
  vm.runInNewContext(SCRIPT, sandbox);
  return { sandbox, request, hints };
}

test('a right URL and key: no error, and the integration is named', async () => {
  const values = { server_url: 'https://hub.example.com/', api_key: KEY };
  const { sandbox, request, hints } = screen(values, [{ status: 200, headers: {}, response: '{"integration":"Acme support"}' }]);
  assert.equal(await sandbox.checkApiKey(KEY), '');
  assert.equal(request.calls[0].method, 'GET');
  assert.equal(request.calls[0].host, 'hub.example.com');
  assert.equal(request.calls[0].path, '/api/v1/freshchat/ping');
  assert.equal(request.calls[0].headers.Authorization, `Bearer ${KEY}`);
  assert.match(hints.api_key, /Acme support/);
});

test('a wrong key is blamed on the key', async () => {
  const values = { server_url: 'https://hub.example.com', api_key: KEY };
  const { sandbox } = screen(values, [{ status: 401, headers: {}, response: '{"error":"wrong API key"}' }]);
  assert.match(await sandbox.checkApiKey(KEY), /refused this key/);
});

test('a wrong URL is blamed on the URL', async () => {
  const values = { server_url: 'https://www.example.com', api_key: KEY };
  const answers = [
    { status: 404, headers: {}, response: '<html>' },
    { status: 200, headers: {}, response: '<html>a portal page</html>' },
    { status: undefined, headers: {}, response: 'ENOTFOUND' },
  ];
  const { sandbox } = screen(values, answers);
  assert.match(await sandbox.checkServerUrl(values.server_url), /No Chat Volume Hub answers at www\.example\.com \(HTTP 404\)/);
  assert.match(await sandbox.checkServerUrl(values.server_url), /not as Chat Volume Hub/);
  assert.match(await sandbox.checkServerUrl(values.server_url), /Could not reach www\.example\.com/);
});

test('URL mistakes are caught before any request', async () => {
  const { sandbox, request } = screen({ api_key: KEY }, []);
  assert.match(await sandbox.checkServerUrl('http://hub.example.com'), /must start with https/);
  assert.match(await sandbox.checkServerUrl('https://hub.example.com/?x=1'), /without a query/);
  assert.match(await sandbox.checkServerUrl(''), /Enter the Chat Volume Hub URL/);
  assert.match(await sandbox.checkApiKey('  '), /Paste the companion-app key/);
  assert.equal(request.calls.length, 0);
});
