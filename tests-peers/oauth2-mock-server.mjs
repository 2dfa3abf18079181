// The npm `oauth2-mock-server` (major 8) on 127.0.0.1, port 0, with a fresh RS256 key. Prints
// its issuer `http://127.0.0.1:PORT` as the first stdout line; discovery is at
// {issuer}/.well-known/openid-configuration, the token endpoint at {issuer}/token, tokens are
// RS256 JWTs signed with the key published at {issuer}/jwks. Logs go to stderr.
//
// Notes from its source (dist/, v8):
//   - started on 127.0.0.1 it names itself `http://localhost:PORT`; we set the issuer to
//     `http://127.0.0.1:PORT` so that clients never try ::1, where nothing listens;
//   - its discovery advertises `token_endpoint_auth_methods_supported: ["none"]` and its token
//     endpoint checks no client credentials at all, so a client that picks its method from
//     discovery must cope with a list that holds no secret-based method.
//
// So that a test proves that the secret really travelled, MOCK_CLIENT_ID and MOCK_CLIENT_SECRET
// (environment, never argv), when set, are checked on every token request through the
// server's own `beforeResponse` hook: Basic (decoded as RFC 6749 §2.3.1 says) or body
// credentials must match, else 401 invalid_client. Each token request is logged on stderr as
// `token-request auth=basic|post|none`.

import { announce, exitWithParent, importPeer, peerVersion } from './lib/peers.mjs';

const { OAuth2Server } = await importPeer('oauth2-mock-server');

const expectedId = process.env.MOCK_CLIENT_ID;
const expectedSecret = process.env.MOCK_CLIENT_SECRET;

function formDecode(s) {
  return decodeURIComponent(s.replace(/\+/g, '%20'));
}

function presentedCredentials(req) {
  const header = req.headers.authorization ?? '';
  const m = /^basic\s+(\S+)$/i.exec(header);
  if (m) {
    const raw = Buffer.from(m[1], 'base64').toString('utf8');
    const i = raw.indexOf(':');
    if (i < 0) return { method: 'basic' };
    try {
      return { method: 'basic', id: formDecode(raw.slice(0, i)), secret: formDecode(raw.slice(i + 1)) };
    } catch {
      return { method: 'basic', malformed: true };
    }
  }
  const body = req.body ?? {};
  if (body.client_secret !== undefined) {
    return { method: 'post', id: body.client_id, secret: body.client_secret };
  }
  return { method: 'none', id: body.client_id };
}

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

server.service.on('beforeResponse', (response, req) => {
  const creds = presentedCredentials(req);
  console.error(`token-request auth=${creds.method}`);
  if (expectedId === undefined || expectedSecret === undefined) return;
  if (creds.id !== expectedId || creds.secret !== expectedSecret) {
    response.statusCode = 401;
    response.body = {
      error: 'invalid_client',
      error_description: creds.malformed
        ? 'Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)'
        : 'client authentication failed',
    };
  }
});

await server.start(0, '127.0.0.1');
const { port } = server.address();
server.issuer.url = `http://127.0.0.1:${port}`;
console.error(`oauth2-mock-server ${peerVersion('oauth2-mock-server')} on ${server.issuer.url}${expectedId ? `; checking client ${expectedId}` : ''}`);
announce(server.issuer.url);

exitWithParent({ close: () => server.stop().catch(() => {}) });
