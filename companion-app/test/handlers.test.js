'use strict';
// Each handler, run as the platform runs server.js, with the public payload shapes and a
// scripted request client: what is sent, how, and what never leaves the app.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadServer } = require('../testing/sandbox');
const { ScriptedRequest } = require('../testing/templates');

const fixture = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8'));
const ACCEPTED = { status: 202, headers: {}, response: '{"received":1}' };

function run(name, answers, payload = fixture(name)) {
  const request = new ScriptedRequest(answers, payload.iparams);
  const server = loadServer(request);
  return { request, server, result: server.handlers[`${name}Handler`](payload), payload };
}

for (const name of ['onConversationCreate', 'onConversationUpdate', 'onMessageCreate']) {
  test(`${name}: one POST to the events URL with the key in the header only`, async () => {
    const { request, server, result, payload } = run(name, [ACCEPTED]);
    assert.deepEqual(await result, { delivered: true, attempts: 1, status: 202, reason: null });
    assert.equal(request.calls.length, 1);
    const [call] = request.calls;
    assert.equal(call.protocol, 'https');
    assert.equal(call.method, 'POST');
    assert.equal(call.host, 'hub.example.com');
    assert.equal(call.path, '/api/v1/freshchat/events');
    assert.equal(call.headers.Authorization, `Bearer ${payload.iparams.api_key}`);
    assert.equal(call.headers['Content-Type'], 'application/json');
    const body = JSON.parse(call.body);
    assert.equal(body.event, name);
    assert.equal(body.timestamp, payload.timestamp);
    for (const secret of [payload.iparams.api_key, 'iparams', 'currentHost', '@', 'Camille', 'commande']) {
      assert.ok(!call.body.includes(secret), `${secret} must not be forwarded`);
    }
    assert.equal(server.log.lines.length, 0);
  });
}

test('onConversationCreate keeps the conversation fields the hub reads, and its group', async () => {
  const { request, result } = run('onConversationCreate', [ACCEPTED]);
  await result;
  assert.deepEqual(JSON.parse(request.calls[0].body), {
    event: 'onConversationCreate',
    timestamp: 1795165200123,
    account_id: '431087564219',
    domain: 'acme.freshchat.com',
    data: {
      conversation: {
        conversation_id: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
        status: 'new',
        assigned_group_id: '7f0e1d2c-3b4a-4c5d-8e9f-a0b1c2d3e4f5',
        created_time: '2026-11-20T09:00:00.123Z',
        updated_time: '2026-11-20T09:00:00.123Z',
      },
      associations: { group: { id: '7f0e1d2c-3b4a-4c5d-8e9f-a0b1c2d3e4f5', name: 'Customer Support' } },
    },
  });
});

test('onConversationUpdate keeps model_changes for status and group only', async () => {
  const { request, result } = run('onConversationUpdate', [ACCEPTED]);
  await result;
  const body = JSON.parse(request.calls[0].body);
  assert.deepEqual(body.data.changes, { model_changes: { status: ['assigned', 'resolved'] } });
  assert.equal(body.data.conversation.resolved_time, '2026-11-21T09:00:00.400Z');
  assert.equal(body.data.conversation.status, 'resolved');
  assert.ok(!('properties' in body.data.conversation));
});

test('onConversationUpdate: an unassignment keeps assigned_group_id null, not absent', async () => {
  const payload = fixture('onConversationUpdate');
  payload.data.changes.model_changes = { assigned_group_id: ['7f0e1d2c-3b4a-4c5d-8e9f-a0b1c2d3e4f5', null] };
  payload.data.conversation.assigned_group_id = null;
  const { request, result } = run('onConversationUpdate', [ACCEPTED], payload);
  await result;
  const body = JSON.parse(request.calls[0].body);
  assert.ok(Object.prototype.hasOwnProperty.call(body.data.conversation, 'assigned_group_id'));
  assert.equal(body.data.conversation.assigned_group_id, null);
  assert.deepEqual(body.data.changes.model_changes.assigned_group_id, ['7f0e1d2c-3b4a-4c5d-8e9f-a0b1c2d3e4f5', null]);
});

test('onMessageCreate sends the conversation reference found under data.message, no text', async () => {
  const { request, result } = run('onMessageCreate', [ACCEPTED]);
  await result;
  assert.deepEqual(JSON.parse(request.calls[0].body).data, {
    message: { conversation_id: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', created_time: '2026-11-20T09:01:00.789Z' },
  });
});

test('a server under a path prefix keeps its prefix; the pasted events URL is accepted', async () => {
  for (const url of ['https://example.com/hub/', 'https://example.com/hub/api/v1/freshchat/events']) {
    const payload = fixture('onConversationCreate');
    payload.iparams.server_url = url;
    const { request, result } = run('onConversationCreate', [ACCEPTED], payload);
    await result;
    assert.equal(request.calls[0].host, 'example.com');
    assert.equal(request.calls[0].path, '/hub/api/v1/freshchat/events');
  }
});

test('an http:// server URL is refused without sending anything, and the log says why', async () => {
  const payload = fixture('onConversationCreate');
  payload.iparams.server_url = 'http://hub.example.com';
  const { request, server, result } = run('onConversationCreate', [], payload);
  const outcome = await result;
  assert.equal(outcome.delivered, false);
  assert.equal(request.calls.length, 0);
  assert.match(server.log.text(), /must start with https/);
});

test('429 with Retry-After waits that long, then delivers', async () => {
  const limited = { status: 429, headers: { 'Retry-After': '2' }, response: '{"error":"rate limit exceeded"}' };
  const { request, server, result } = run('onConversationUpdate', [limited, ACCEPTED]);
  assert.deepEqual(await result, { delivered: true, attempts: 2, status: 202, reason: null });
  assert.deepEqual(server.waits, [2000]);
  assert.equal(request.calls.length, 2);
  assert.equal(request.calls[0].body, request.calls[1].body);
  assert.match(server.log.text(), /HTTP 429: rate limit exceeded; retrying in 2000 ms/);
});

test('5xx and timeouts are retried with growing waits', async () => {
  const answers = [
    { status: 503, headers: {}, response: 'busy' },
    { status: undefined, headers: {}, response: 'Timeout error' },
    { status: 500, headers: {}, response: '' },
    ACCEPTED,
  ];
  const { server, result } = run('onConversationCreate', answers);
  const outcome = await result;
  assert.equal(outcome.delivered, true);
  assert.equal(outcome.attempts, 4);
  assert.equal(server.waits.length, 3);
  assert.ok(server.waits[0] >= 250 && server.waits[0] <= 500, `first wait ${server.waits[0]}`);
  assert.ok(server.waits[2] >= 1000 && server.waits[2] <= 2000, `third wait ${server.waits[2]}`);
});

test('401 is given up at once and logged without the key', async () => {
  const refused = { status: 401, headers: {}, response: '{"error":"wrong API key"}' };
  const { request, server, result, payload } = run('onConversationCreate', [refused]);
  const outcome = await result;
  assert.equal(outcome.delivered, false);
  assert.equal(outcome.status, 401);
  assert.equal(request.calls.length, 1);
  assert.deepEqual(server.waits, []);
  const text = server.log.text();
  assert.match(text, /onConversationCreate for conversation 0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9 refused, not retried: HTTP 401: wrong API key/);
  assert.ok(!text.includes(payload.iparams.api_key));
  assert.ok(!text.includes('SECRET'));
});

test('a server that keeps failing is given up after the last attempt', async () => {
  const failing = Array.from({ length: 5 }, () => ({ status: 502, headers: {}, response: 'bad gateway' }));
  const { request, server, result } = run('onMessageCreate', failing);
  const outcome = await result;
  assert.equal(outcome.delivered, false);
  assert.equal(request.calls.length, 5);
  assert.match(server.log.text(), /gave up on onMessageCreate .* after 5 attempts: HTTP 502: bad gateway/);
});
