// The npm `oidc-provider` (panva's certified OpenID Provider, major 9) as a client-credentials
// token server on 127.0.0.1, port 0. Prints its issuer `http://127.0.0.1:PORT` as the first
// stdout line; discovery is at {issuer}/.well-known/openid-configuration, the token endpoint at
// {issuer}/token. Logs go to stderr.
//
// Clients (fixed test values; they exist only inside this throwaway server):
//   basic-client          client_secret_basic  secret `basic-s3cret-value`
//   basic-special-client  client_secret_basic  secret `b4sic+s3cr/et=%&x`
//   post-client           client_secret_post   secret `p0st+s3cr/et=%&x`
// each with grant_types ["client_credentials"] and scopes `api:read api:write`.
//
// What makes oidc-provider issue client-credentials tokens (read from its lib/, v9):
//   - features.clientCredentials.enabled = true (off by default);
//   - the client must list `client_credentials` in grant_types;
//   - requested scopes must be in the client's `scope` and in the provider's `scopes`;
//   - features.resourceIndicators is on by default with `defaultResource` returning nothing,
//     so a request without `resource` gets an opaque access token; no resource server needed.
//
// oidc-provider itself accepts either Basic or body credentials for any client registered with
// client_secret_basic or client_secret_post (lib/shared/client_auth.js). So that a test can see
// which method a client chose from discovery, OIDC_AUTH_METHODS (comma list, default
// `client_secret_basic,client_secret_post`) sets both the advertised
// `token_endpoint_auth_methods_supported` and a small guard in front of /token that rejects
// (400 invalid_request) a mechanism that is not advertised. Clients whose method is not
// advertised are not registered. Every token request is logged on stderr as
// `token-request auth=basic|post`.
//
// Basic credentials are decoded as RFC 6749 §2.3.1 says (form-urldecoding of id and secret), so
// a client that skips the encoding step fails with the special-character secrets.

import http from 'node:http';

import { announce, exitWithParent, importPeer, peerVersion } from './lib/peers.mjs';

const { default: Provider } = await importPeer('oidc-provider');

const ALL_CLIENTS = [
  { client_id: 'basic-client', client_secret: 'basic-s3cret-value', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'basic-special-client', client_secret: 'b4sic+s3cr/et=%&x', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'post-client', client_secret: 'p0st+s3cr/et=%&x', token_endpoint_auth_method: 'client_secret_post' },
];

const methods = (process.env.OIDC_AUTH_METHODS ?? 'client_secret_basic,client_secret_post')
  .split(',').map((m) => m.trim()).filter(Boolean);

const clients = ALL_CLIENTS
  .filter((c) => methods.includes(c.token_endpoint_auth_method))
  .map((c) => ({
    ...c,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read api:write',
  }));

let provider;
const server = http.createServer((req, res) => {
  if (!provider) {
    res.statusCode = 503;
    res.end();
    return;
  }
  provider.callback()(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients,
    clientAuthMethods: methods,
    scopes: ['openid', 'api:read', 'api:write'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: false },
    },
    // Fixed, test-only cookie keys; this server signs no cookies that leave the machine.
    cookies: { keys: ['cctoken-interop-test-only'] },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
  provider.on('grant.error', (ctx, err) => console.error('oidc-provider grant.error:', err.message, err.error_description ?? ''));

  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const basic = /^basic /i.test(ctx.headers.authorization ?? '');
      console.error(`token-request auth=${basic ? 'basic' : 'post'}`);
      const method = basic ? 'client_secret_basic' : 'client_secret_post';
      if (!methods.includes(method)) {
        ctx.status = 400;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = {
          error: 'invalid_request',
          error_description: `${method} is not in token_endpoint_auth_methods_supported (${methods.join(' ')})`,
        };
        return;
      }
    }
    await next();
  });

  console.error(`oidc-provider ${peerVersion('oidc-provider')} on ${issuer}; clients: ${clients.map((c) => c.client_id).join(', ')}; auth methods: ${methods.join(' ')}`);
  announce(issuer);
});

exitWithParent(server);
