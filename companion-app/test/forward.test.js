'use strict';
// The retry loop alone, with a clock the test moves: the platform's time limit is kept.
const test = require('node:test');
const assert = require('node:assert/strict');
const { forward, retryAfterMs, BUDGET_MS } = require('../server/lib/forward');
const { Log } = require('../testing/sandbox');

const ENVELOPE = { event: 'onConversationUpdate', timestamp: 1, data: { conversation: { conversation_id: 'c-1' } } };
const TARGET = { host: 'hub.example.com', basePath: '' };

function harness(answers) {
  let clock = 1_000_000;
  const waits = [];
  const calls = [];
  const deps = {
    request: {
      async invokeTemplate(name, options) {
        calls.push({ name, options });
        const answer = answers.shift();
        if (answer.status >= 200 && answer.status < 300) return answer;
        throw answer;
      },
    },
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 1,
    log: new Log(),
  };
  return { deps, waits, calls };
}

test('a Retry-After longer than the time left is not waited for', async () => {
  const { deps, waits, calls } = harness([{ status: 429, headers: { 'retry-after': '60' }, response: '' }]);
  const outcome = await forward(ENVELOPE, TARGET, deps);
  assert.equal(outcome.delivered, false);
  assert.equal(calls.length, 1);
  assert.deepEqual(waits, []);
  assert.match(deps.log.text(), /next try would pass the time limit: HTTP 429/);
});

test('retries stop before the budget is spent', async () => {
  const answers = Array.from({ length: 5 }, () => ({ status: 429, headers: { 'Retry-After': '6' }, response: '' }));
  const { deps, waits, calls } = harness(answers);
  const outcome = await forward(ENVELOPE, TARGET, deps);
  assert.equal(outcome.delivered, false);
  assert.deepEqual(waits, [6000, 6000]);
  assert.equal(calls.length, 3);
  assert.ok(waits.reduce((a, b) => a + b, 0) < BUDGET_MS);
});

test('the template gets host and path as context and the envelope as body', async () => {
  const { deps, calls } = harness([{ status: 202, headers: {}, response: '{}' }]);
  await forward(ENVELOPE, { host: 'example.com:8443', basePath: '/hub' }, deps);
  assert.equal(calls[0].name, 'postEvent');
  assert.deepEqual(calls[0].options.context, { host: 'example.com:8443', path: '/hub/api/v1/freshchat/events' });
  assert.deepEqual(JSON.parse(calls[0].options.body), ENVELOPE);
});

test('Retry-After as seconds, as an HTTP date, or unreadable', () => {
  const now = Date.parse('2026-11-20T10:00:00Z');
  assert.equal(retryAfterMs({ 'Retry-After': '3' }, now), 3000);
  assert.equal(retryAfterMs({ 'retry-after': 'Fri, 20 Nov 2026 10:00:05 GMT' }, now), 5000);
  assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), null);
  assert.equal(retryAfterMs({}, now), null);
});

test('400 and 413 are not retried', async () => {
  for (const status of [400, 413]) {
    const { deps, calls } = harness([{ status, headers: {}, response: '{"error":"bad fields"}' }]);
    const outcome = await forward(ENVELOPE, TARGET, deps);
    assert.equal(outcome.delivered, false);
    assert.equal(calls.length, 1);
  }
});
