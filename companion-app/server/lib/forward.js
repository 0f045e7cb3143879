'use strict';
/*
 * Deliver one trimmed envelope to Chat Volume Hub, retrying what is worth retrying.
 *
 * The platform stops a serverless handler after 20 seconds by default, so every retry
 * has to fit inside BUDGET_MS from the start of the event: a wait that would end after
 * it is not started, and the event is given up (the server's pull sync brings the chat
 * anyway; the push only makes it arrive sooner).
 *
 *   2xx                        delivered
 *   429                        wait Retry-After (seconds or HTTP date), else back off
 *   408, 5xx, no status        back off exponentially with jitter (timeouts, resets)
 *   other 4xx (401, 400, 413)  give up at once: repeating the same request cannot help
 *
 * `$request.invokeTemplate` resolves for 2xx and rejects with an object carrying
 * `status`, `headers` and `response` otherwise. Log lines name the event, the
 * conversation, the status and the server's own sentence, never the key or iparams.
 */

const { conversationIdOf } = require('./envelope');

const TEMPLATE = 'postEvent';
const BUDGET_MS = 15000; // of the platform's 20 s, leaving room for the last attempt
const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 4000;
const MESSAGE_MAX = 200;

function header(headers, name) {
  if (!headers || typeof headers !== 'object') return undefined;
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) {
      const value = headers[key];
      return Array.isArray(value) ? value[0] : value;
    }
  }
  return undefined;
}

/** Retry-After as milliseconds from `nowMs`, or null when absent or unreadable. */
function retryAfterMs(headers, nowMs) {
  const value = header(headers, 'retry-after');
  if (value === undefined || value === null || String(value).trim() === '') return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function classify(status) {
  if (typeof status !== 'number' || status === 0) return 'retry'; // timeout, reset, DNS
  if (status === 429) return 'rate';
  if (status === 408 || status >= 500) return 'retry';
  return 'fatal';
}

function backoffMs(attempt, random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function serverSentence(error) {
  const body = error && error.response;
  let text = '';
  if (typeof body === 'string') {
    try {
      const decoded = JSON.parse(body);
      text = decoded && typeof decoded.error === 'string' ? decoded.error : body;
    } catch (parseError) {
      text = body;
    }
  } else if (body && typeof body.error === 'string') {
    text = body.error;
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, MESSAGE_MAX);
}

function describe(error) {
  const status = error && error.status;
  const sentence = serverSentence(error);
  const what = typeof status === 'number' && status ? `HTTP ${status}` : 'no answer (timeout or connection error)';
  return sentence ? `${what}: ${sentence}` : what;
}

/**
 * Send `envelope` to the server at `target` ({host, basePath}); resolves to
 * {delivered, attempts, status, reason}. Never throws: a failed forward must not make
 * the platform report the app as broken for an event the pull sync will bring anyway.
 */
async function forward(envelope, target, deps) {
  const { request, sleep, now = Date.now, random = Math.random, log = console } = deps;
  const started = now();
  const deadline = started + BUDGET_MS;
  const label = `${envelope.event} for conversation ${conversationIdOf(envelope)}`;
  const body = JSON.stringify(envelope);
  let last = { status: undefined, reason: 'not sent' };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    try {
      const result = await request.invokeTemplate(TEMPLATE, {
        context: { host: target.host, path: `${target.basePath}/api/v1/freshchat/events` },
        body,
      });
      return { delivered: true, attempts: attempt, status: result && result.status, reason: null };
    } catch (error) {
      const status = error && error.status;
      last = { status, reason: describe(error) };
      const kind = classify(status);
      if (kind === 'fatal') {
        log.error(`chat-volume-hub: ${label} refused, not retried: ${last.reason}`);
        return { delivered: false, attempts: attempt, ...last };
      }
      const hinted = kind === 'rate' ? retryAfterMs(error.headers, now()) : null;
      const wait = hinted !== null ? hinted : backoffMs(attempt, random);
      if (attempt === MAX_ATTEMPTS || now() + wait >= deadline) {
        const why = attempt === MAX_ATTEMPTS ? `${attempt} attempts` : `${attempt} attempt(s); next try would pass the time limit`;
        log.error(`chat-volume-hub: gave up on ${label} after ${why}: ${last.reason}`);
        return { delivered: false, attempts: attempt, ...last };
      }
      log.warn(`chat-volume-hub: ${label}: ${last.reason}; retrying in ${wait} ms`);
      await sleep(wait);
    }
  }
  return { delivered: false, attempts: MAX_ATTEMPTS, ...last };
}

module.exports = { forward, retryAfterMs, classify, BUDGET_MS, MAX_ATTEMPTS, TEMPLATE };
