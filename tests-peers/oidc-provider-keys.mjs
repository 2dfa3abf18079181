// The npm `oidc-provider` (major 9) configured for client authentication with keys and
// certificates (SPEC §14): private_key_jwt, client_secret_jwt, tls_client_auth and
// self_signed_tls_client_auth, for `client_credentials`.
//
//   OIDC_KEYS_CLIENTS=clients.json [OIDC_TLS_CERT=srv.pem OIDC_TLS_KEY=srv-key.pem
//       OIDC_TLS_CA=ca.pem] node oidc-provider-keys.mjs
//
// clients.json is an array of oidc-provider client metadata written by the test at test time
// (keys and certificates are generated there, never committed): `client_id`,
// `token_endpoint_auth_method`, and `jwks` / `client_secret` / `tls_client_auth_subject_dn`.
// grant_types, response_types, redirect_uris and scope are filled in here.
//
// With OIDC_TLS_CERT/KEY the provider sits behind a Node HTTPS server that requests client
// certificates (`requestCert: true`, `rejectUnauthorized: false`: the provider decides, and
// discovery works without one), trusting OIDC_TLS_CA for tls_client_auth. features.mTLS gets
// the peer certificate from the TLS socket, `certificateAuthorized` from the socket's CA
// verdict, and matches `tls_client_auth_subject_dn` against the certificate's subject in
// RFC 4514 order; issued tokens are certificate-bound (`cnf.x5t#S256`). The mTLS aliases are
// published as the certification setup does, pointing at the same endpoints.
//
// Prints the issuer as the first stdout line. Every token request is logged on stderr as
// `token-request client_assertion=yes|no cert=yes|no`, and every refusal with oidc-provider's
// own `error_detail` (the reason its `invalid_client` answers do not carry).

import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

import { announce, exitWithParent, importPeer, peerVersion } from './lib/peers.mjs';

const { default: Provider } = await importPeer('oidc-provider');

const clients = JSON.parse(readFileSync(process.env.OIDC_KEYS_CLIENTS, 'utf8')).map((c) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'api:read',
  ...c,
}));

const tls = process.env.OIDC_TLS_CERT
  ? {
    cert: readFileSync(process.env.OIDC_TLS_CERT),
    key: readFileSync(process.env.OIDC_TLS_KEY),
    ca: process.env.OIDC_TLS_CA ? readFileSync(process.env.OIDC_TLS_CA) : undefined,
    requestCert: true,
    rejectUnauthorized: false,
  }
  : undefined;

let provider;
const handler = (req, res) => {
  if (!provider) {
    res.statusCode = 503;
    res.end();
    return;
  }
  provider.callback()(req, res);
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);

/** RFC 4514 form of Node's subject ("C=..\nO=..\nCN=.." in certificate order). */
function rfc4514(subject) {
  return subject.split('\n').reverse().join(',');
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const methods = ['private_key_jwt', 'client_secret_jwt'];
  if (tls) methods.push('tls_client_auth', 'self_signed_tls_client_auth');
  provider = new Provider(issuer, {
    clients,
    clientAuthMethods: methods,
    scopes: ['openid', 'api:read'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      mTLS: tls
        ? {
          enabled: true,
          tlsClientAuth: true,
          selfSignedTlsClientAuth: true,
          certificateBoundAccessTokens: true,
          getCertificate(ctx) {
            return ctx.req.socket.getPeerX509Certificate?.();
          },
          certificateAuthorized(ctx) {
            return ctx.req.socket.authorized === true;
          },
          certificateSubjectMatches(ctx, property, expected) {
            const cert = ctx.req.socket.getPeerX509Certificate?.();
            return property === 'tls_client_auth_subject_dn' && !!cert && rfc4514(cert.subject) === expected;
          },
        }
        : { enabled: false },
    },
    cookies: { keys: ['cctoken-interop-test-only'] },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
  provider.on('grant.error', (ctx, err) => console.error('oidc-provider grant.error:', err.message, err.error_description ?? '', err.error_detail ?? ''));
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const cert = tls ? !!ctx.req.socket.getPeerX509Certificate?.() : false;
      console.error(`token-request cert=${cert ? 'yes' : 'no'}`);
    }
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && tls && ctx.body) {
      const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
      body.mtls_endpoint_aliases = { token_endpoint: body.token_endpoint };
      ctx.body = body;
    }
  });
  console.error(`oidc-provider ${peerVersion('oidc-provider')} (keys) on ${issuer}; clients: ${clients.map((c) => `${c.client_id}:${c.token_endpoint_auth_method}`).join(', ')}`);
  announce(issuer);
});

exitWithParent(server);
