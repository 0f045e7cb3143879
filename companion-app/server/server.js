// Chat Volume Hub companion app: forwards Freshchat conversation events to the hub.
//
// Each handler trims the event to the fields the hub reads (never iparams, names or
// message texts) and posts it through the `postEvent` request template, which adds the
// companion-app key (a secure iparam) in the Authorization header.
const { trimEnvelope } = require('./lib/envelope');
const { forward } = require('./lib/forward');
const { parseServerUrl } = require('./lib/target');

function wait(ms) {
  // The platform documents that older sandboxes lack timers; without one, retry at once.
  if (typeof setTimeout !== 'function') return Promise.resolve();
  return new Promise(function (resolve) {
    setTimeout(resolve, ms);
  });
}

async function handle(payload) {
  const envelope = trimEnvelope(payload);
  let target;
  try {
    target = parseServerUrl(payload && payload.iparams && payload.iparams.server_url);
  } catch (error) {
    console.error(`chat-volume-hub: ${envelope.event} not forwarded: ${error.message}`);
    return { delivered: false, attempts: 0, status: undefined, reason: error.message };
  }
  return forward(envelope, target, { request: $request, sleep: wait, log: console });
}

exports = {
  onConversationCreateHandler: async function (payload) {
    return handle(payload);
  },
  onConversationUpdateHandler: async function (payload) {
    return handle(payload);
  },
  onMessageCreateHandler: async function (payload) {
    return handle(payload);
  },
};
