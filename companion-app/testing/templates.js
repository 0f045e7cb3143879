'use strict';
/*
 * Stand-ins for the platform's request method, driven by the app's real config/requests.json.
 *
 * `render` fills a template the way the platform documents it (`<%= context.x %>`,
 * `<%= iparam.x %>`), so the tests exercise the very templates that ship in the zip.
 * `ScriptedRequest` answers from a list (no network); `HttpRequest` performs the request
 * against a live server on loopback (plain http there: https is the template's protocol,
 * and the only liberty the tests take).
 */
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const APP_DIR = path.resolve(__dirname, '..');
const TEMPLATES = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'config', 'requests.json'), 'utf8'));

function fill(text, scope) {
  return text.replace(/<%=\s*([a-z_]+)\.([a-z_]+)\s*%>/gi, (match, holder, name) => {
    const values = scope[holder];
    if (!values || !(name in values)) throw new Error(`template needs ${holder}.${name}`);
    return String(values[name]);
  });
}

function render(name, options, iparams) {
  const template = TEMPLATES[name];
  if (!template) throw new Error(`no request template named ${name}`);
  const scope = { context: (options && options.context) || {}, iparam: iparams || {} };
  const schema = template.schema;
  const headers = {};
  for (const [key, value] of Object.entries(schema.headers || {})) headers[key] = fill(value, scope);
  return {
    protocol: schema.protocol || 'https',
    method: schema.method,
    host: fill(schema.host, scope),
    path: fill(schema.path, scope),
    headers,
    body: options && options.body,
  };
}

class ScriptedRequest {
  /** `answers`: list of {status, headers, response} (or functions of the call) in order. */
  constructor(answers, iparams) {
    this.answers = answers.slice();
    this.iparams = iparams;
    this.calls = [];
  }

  async invokeTemplate(name, options) {
    const call = render(name, options, this.iparams);
    this.calls.push(call);
    let answer = this.answers.shift();
    if (typeof answer === 'function') answer = answer(call);
    if (!answer) throw new Error('the test did not expect another request');
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw answer;
  }
}

class HttpRequest {
  constructor(iparams, { timeoutMs = 5000 } = {}) {
    this.iparams = iparams;
    this.timeoutMs = timeoutMs;
    this.calls = [];
  }

  invokeTemplate(name, options) {
    const call = render(name, options, this.iparams);
    this.calls.push(call);
    const [hostname, port] = call.host.split(':');
    if (hostname !== '127.0.0.1' && hostname !== 'localhost') {
      return Promise.reject(new Error(`refusing to leave loopback for ${hostname}`));
    }
    return new Promise((resolve, reject) => {
      const request = http.request(
        { hostname, port: Number(port), method: call.method, path: call.path, headers: call.headers, timeout: this.timeoutMs },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const answer = { status: response.statusCode, headers: response.headers, response: Buffer.concat(chunks).toString('utf8') };
            if (answer.status >= 200 && answer.status < 300) resolve(answer);
            else reject(answer);
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error) => reject({ status: undefined, headers: {}, response: String(error.message) }));
      if (call.body !== undefined) request.write(call.body);
      request.end();
    });
  }
}

module.exports = { render, ScriptedRequest, HttpRequest, APP_DIR, TEMPLATES };
