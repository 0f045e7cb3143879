'use strict';
/*
 * The trimmed envelope: only what Chat Volume Hub reads from a product event.
 *
 * A Freshchat product event carries the app's installation parameters (including the
 * companion-app key), the actor's name and email, and for messages their text. None of
 * that may leave the app: the server stores what it receives, and it needs none of it.
 * Keys are copied only when present, because on the server a present-but-null
 * `assigned_group_id` means "no group" while an absent one means "not said".
 */

const CONVERSATION_FIELDS = [
  'conversation_id',
  'status',
  'assigned_group_id',
  'created_time',
  'updated_time',
  'resolved_time',
  'reopened_time',
  'is_spam',
  'is_deleted',
];
// onMessageCreate puts its conversation reference under data.message.
const MESSAGE_FIELDS = ['conversation_id', 'created_time'];
const MODEL_CHANGE_FIELDS = ['status', 'assigned_group_id'];
const ACCOUNT_FIELDS = ['account_id', 'domain'];

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pick(source, fields) {
  const out = {};
  if (!isObject(source)) return out;
  for (const name of fields) {
    if (Object.prototype.hasOwnProperty.call(source, name)) out[name] = source[name];
  }
  return out;
}

function trimEnvelope(payload) {
  const data = isObject(payload && payload.data) ? payload.data : {};
  const trimmed = { event: payload && payload.event, timestamp: payload && payload.timestamp };
  // The hub pins an integration to one Freshchat account with these two.
  for (const name of ACCOUNT_FIELDS) {
    if (payload && Object.prototype.hasOwnProperty.call(payload, name)) trimmed[name] = payload[name];
  }
  const out = {};
  if (isObject(data.conversation)) out.conversation = pick(data.conversation, CONVERSATION_FIELDS);
  if (isObject(data.message)) out.message = pick(data.message, MESSAGE_FIELDS);
  const modelChanges = isObject(data.changes) ? data.changes.model_changes : undefined;
  if (isObject(modelChanges)) {
    const kept = pick(modelChanges, MODEL_CHANGE_FIELDS);
    if (Object.keys(kept).length) out.changes = { model_changes: kept };
  }
  const group = isObject(data.associations) ? data.associations.group : undefined;
  if (isObject(group)) out.associations = { group: pick(group, ['id', 'name']) };
  trimmed.data = out;
  return trimmed;
}

/** The conversation an event is about, for log lines (never names or texts). */
function conversationIdOf(envelope) {
  const data = (envelope && envelope.data) || {};
  const holder = data.conversation || data.message || {};
  return typeof holder.conversation_id === 'string' ? holder.conversation_id : 'unknown';
}

module.exports = { trimEnvelope, conversationIdOf, CONVERSATION_FIELDS, MESSAGE_FIELDS };
