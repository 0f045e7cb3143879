'use strict';
/*
 * Where the server is: the admin types one URL; request templates need a host and a path.
 *
 * Request templates take the host without scheme or path (an FQDN, optionally with a port),
 * so a server installed under a path prefix (https://example.com/hub) keeps that prefix
 * in the path. Only https is accepted: the template's protocol is https, and a key must
 * never travel in clear.
 */

const EVENTS_PATH = '/api/v1/freshchat/events';
const PING_PATH = '/api/v1/freshchat/ping';

class TargetError extends Error {}

function parseServerUrl(text) {
  const raw = typeof text === 'string' ? text.trim() : '';
  if (!raw) throw new TargetError('Enter the Chat Volume Hub URL shown on its integration page.');
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch (error) {
    throw new TargetError(`"${raw}" is not a URL. Copy it from the integration page.`);
  }
  if (url.protocol !== 'https:') {
    throw new TargetError('The URL must start with https:// (the key is never sent in clear).');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TargetError('Enter only the server address, without a query, fragment or login.');
  }
  // Pasting the events URL itself is a natural mistake: accept it.
  let basePath = url.pathname.replace(/\/+$/, '');
  for (const suffix of [EVENTS_PATH, PING_PATH]) {
    if (basePath.endsWith(suffix)) basePath = basePath.slice(0, -suffix.length);
  }
  return { host: url.host, basePath };
}

module.exports = { parseServerUrl, TargetError, EVENTS_PATH, PING_PATH };
