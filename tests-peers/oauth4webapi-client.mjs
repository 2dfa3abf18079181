// A client-credentials client built on the npm `oauth4webapi` (panva, major 3): discovery, then
// the grant, exactly through the library's public API, so that the emulator is checked against
// an independent, standards-strict client implementation (SPEC §11).
//
//   CLIENT_SECRET=... node oauth4webapi-client.mjs ISSUER CLIENT_ID [--auth basic|post]
//       [--discovery oidc|oauth2] [--scope "a b"]
//   node oauth4webapi-client.mjs ISSUER CLIENT_ID --auth private-key-jwt --key-file PEM
//       --key-alg ES256|EdDSA [--kid KID]
//   CLIENT_SECRET=... node oauth4webapi-client.mjs ISSUER CLIENT_ID --auth client-secret-jwt
//
// The secret comes only from the CLIENT_SECRET environment variable, never from argv. For
// private-key-jwt the PKCS#8 PEM key is imported with WebCrypto and handed to
// oauth4webapi's PrivateKeyJwt (it signs: aud = issuer, exp = now + 60 s, a fresh jti, header
// {alg, kid}); client-secret-jwt is its ClientSecretJwt (HS256).
// Discovery `oidc` (default) fetches {issuer}/.well-known/openid-configuration, `oauth2` the
// RFC 8414 {issuer}/.well-known/oauth-authorization-server; either way oauth4webapi checks that
// the metadata's `issuer` equals ISSUER. oauth4webapi refuses http:// endpoints unless each
// call gets the `allowInsecureRequests` symbol option (3.x), which we pass: the peers run on
// loopback without TLS.
// ClientSecretBasic form-urlencodes id and secret before base64 (RFC 6749 §2.3.1);
// ClientSecretPost sends them as body parameters.
//
// Prints one JSON line on success: issuer, token_endpoint, token_type, expires_in, scope,
// access_token_prefix (6 characters) and access_token_length; never the whole token. On failure
// prints the error on stderr (no secrets, no tokens) and exits 1.

import { importPeer, peerVersion } from './lib/peers.mjs';

const oauth = await importPeer('oauth4webapi');

function usage(msg) {
  console.error(`oauth4webapi-client: ${msg}`);
  console.error('usage: CLIENT_SECRET=... oauth4webapi-client.mjs ISSUER CLIENT_ID [--auth basic|post] [--discovery oidc|oauth2] [--scope S]');
  process.exit(2);
}

const positional = [];
const opts = { auth: 'basic', discovery: 'oidc', scope: undefined, 'key-file': undefined, 'key-alg': 'ES256', kid: undefined };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  if (['--auth', '--discovery', '--scope', '--key-file', '--key-alg', '--kid'].includes(a)) {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    opts[a.slice(2)] = argv[i + 1];
    i += 1;
  } else if (a.startsWith('--')) {
    usage(`unknown option ${a}`);
  } else {
    positional.push(a);
  }
}
if (positional.length !== 2) usage('ISSUER and CLIENT_ID are required');
const [issuerArg, clientId] = positional;
const secret = process.env.CLIENT_SECRET;
if (!secret && opts.auth !== 'private-key-jwt') usage('CLIENT_SECRET is not set');
if (!['basic', 'post', 'private-key-jwt', 'client-secret-jwt'].includes(opts.auth)) usage(`--auth must be basic, post, private-key-jwt or client-secret-jwt, not ${opts.auth}`);
if (opts.auth === 'private-key-jwt' && !opts['key-file']) usage('--auth private-key-jwt needs --key-file');

/** The PKCS#8 PEM private key as a WebCrypto key for `alg`. */
async function importKey(file, alg) {
  const { readFileSync } = await import('node:fs');
  const pem = readFileSync(file, 'utf8');
  const der = (await import('node:crypto')).createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  const algorithm = {
    ES256: { name: 'ECDSA', namedCurve: 'P-256' },
    ES384: { name: 'ECDSA', namedCurve: 'P-384' },
    EdDSA: { name: 'Ed25519' },
  }[alg];
  if (!algorithm) usage(`--key-alg must be ES256, ES384 or EdDSA, not ${alg}`);
  return crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}
if (!['oidc', 'oauth2'].includes(opts.discovery)) usage(`--discovery must be oidc or oauth2, not ${opts.discovery}`);

const insecure = { [oauth.allowInsecureRequests]: true };

try {
  const issuer = new URL(issuerArg);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: opts.discovery, ...insecure }),
  );
  const client = { client_id: clientId };
  let clientAuth;
  if (opts.auth === 'post') {
    clientAuth = oauth.ClientSecretPost(secret);
  } else if (opts.auth === 'client-secret-jwt') {
    clientAuth = oauth.ClientSecretJwt(secret);
  } else if (opts.auth === 'private-key-jwt') {
    const key = await importKey(opts['key-file'], opts['key-alg']);
    clientAuth = oauth.PrivateKeyJwt(opts.kid ? { key, kid: opts.kid } : key);
  } else {
    clientAuth = oauth.ClientSecretBasic(secret);
  }
  const parameters = new URLSearchParams();
  if (opts.scope) parameters.set('scope', opts.scope);
  const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, insecure);
  const result = await oauth.processClientCredentialsResponse(as, client, response);
  process.stdout.write(`${JSON.stringify({
    peer: `oauth4webapi ${peerVersion('oauth4webapi')}`,
    issuer: as.issuer,
    token_endpoint: as.token_endpoint,
    token_type: result.token_type,
    expires_in: result.expires_in,
    scope: result.scope,
    access_token_prefix: result.access_token.slice(0, 6),
    access_token_length: result.access_token.length,
  })}\n`);
} catch (err) {
  // ResponseBodyError carries the server's RFC 6749 §5.2 error; never print `cause`, which
  // may hold a response body.
  const detail = {
    name: err?.name,
    code: err?.code,
    message: err?.message,
    status: err?.status,
    error: err?.error,
    error_description: err?.error_description,
  };
  // A 401 with `WWW-Authenticate` (RFC 6749 §5.2 asks for one when the client used Basic) is
  // raised as WWWAuthenticateChallengeError before the body is read: report the challenge
  // schemes, then the RFC error code from the still unread body.
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    detail.challenges = (err.cause ?? []).map((c) => c.scheme);
    try {
      const body = await err.response.json();
      detail.error = body?.error;
      detail.error_description = body?.error_description;
    } catch {
      detail.error = 'unreadable body';
    }
  }
  console.error(`oauth4webapi-client: FAILED ${JSON.stringify(detail)}`);
  process.exit(1);
}
