/*
 * Install-screen checks (the `change` callbacks named in config/iparams.json).
 *
 * Each callback resolves to an empty string when the value is fine and to a sentence for
 * the admin otherwise. Both fields are checked together against the hub's
 * GET /api/v1/freshchat/ping through the `pingServer` request template, so a wrong URL
 * and a wrong key get different messages. The key is passed to the template as context
 * because a secure iparam is not readable before the app is installed.
 */
/* global app, utils */

var PING_PATH = '/api/v1/freshchat/ping';
var EVENTS_PATH = '/api/v1/freshchat/events';
var clientPromise = null;

function getClient() {
  if (!clientPromise) clientPromise = app.initialized();
  return clientPromise;
}

function serverTarget(text) {
  var raw = typeof text === 'string' ? text.trim() : '';
  if (!raw) return { error: 'Enter the Chat Volume Hub URL shown on its integration page.' };
  var url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : 'https://' + raw);
  } catch (e) {
    return { error: '"' + raw + '" is not a URL. Copy it from the integration page.' };
  }
  if (url.protocol !== 'https:') {
    return { error: 'The URL must start with https:// (the key is never sent in clear).' };
  }
  if (url.username || url.password || url.search || url.hash) {
    return { error: 'Enter only the server address, without a query, fragment or login.' };
  }
  var basePath = url.pathname.replace(/\/+$/, '');
  [EVENTS_PATH, PING_PATH].forEach(function (suffix) {
    if (basePath.slice(-suffix.length) === suffix) basePath = basePath.slice(0, -suffix.length);
  });
  return { host: url.host, basePath: basePath };
}

function integrationName(response) {
  try {
    var body = typeof response === 'string' ? JSON.parse(response) : response;
    return body && typeof body.integration === 'string' ? body.integration : null;
  } catch (e) {
    return null;
  }
}

function verdict(target, error) {
  var status = error && error.status;
  if (status === 401) {
    return 'Chat Volume Hub refused this key. Generate a companion-app key on the integration page and paste all of it.';
  }
  if (status === 404 || status === 405) {
    return 'No Chat Volume Hub answers at ' + target.host + target.basePath + ' (HTTP ' + status + '). Check the URL on the integration page.';
  }
  if (typeof status !== 'number' || status === 0) {
    return 'Could not reach ' + target.host + '. The hub must be reachable from the internet over HTTPS.';
  }
  return 'Chat Volume Hub answered HTTP ' + status + '. Try again in a minute; if it persists, check the server.';
}

async function checkBoth() {
  var target = serverTarget(utils.get('server_url'));
  if (target.error) return { field: 'server_url', message: target.error };
  var key = (utils.get('api_key') || '').trim();
  if (!key) return { field: 'api_key', message: '' }; // not typed yet: nothing to say
  var client = await getClient();
  try {
    var result = await client.request.invokeTemplate('pingServer', {
      context: { host: target.host, path: target.basePath + PING_PATH, api_key: key },
    });
    var name = integrationName(result && result.response);
    if (!name) {
      return { field: 'server_url', message: 'This URL answered, but not as Chat Volume Hub. Check the address on the integration page.' };
    }
    utils.set('api_key', { hint: 'Connected to the integration “' + name + '”.' });
    return { field: null, message: '' };
  } catch (error) {
    var status = error && error.status;
    return { field: status === 401 ? 'api_key' : 'server_url', message: verdict(target, error) };
  }
}

async function checkServerUrl(newValue) {
  var target = serverTarget(newValue);
  if (target.error) return target.error;
  var outcome = await checkBoth();
  return outcome.field === 'server_url' ? outcome.message : '';
}

async function checkApiKey(newValue) {
  if (!(newValue || '').trim()) return 'Paste the companion-app key generated on the integration page.';
  var outcome = await checkBoth();
  return outcome.field === 'api_key' || outcome.field === 'server_url' ? outcome.message : '';
}
