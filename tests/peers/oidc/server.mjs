// A real OAuth 2.1 / OpenID Connect authorization server for toolyard's tests: oidc-provider
// (pinned in package-lock.json, installed by .ci/setup next to this file) configured with two
// clients, two users and automated login and consent, so a test drives every flow with plain
// HTTP requests. See README.md here for the clients, users, grants and curl examples.
//
//     $TOOLYARD_NODE22 $TOOLYARD_OIDC_SERVER [--port N]
//
// Listens on 127.0.0.1 (port from --port, else OIDC_PORT, else 0 = a free port the kernel picks)
// and prints one line of JSON once listening:
//     {"issuer":"http://127.0.0.1:PORT","token_endpoint":...,"jwks_uri":...}
// Runs until SIGTERM, SIGINT or SIGHUP, or until its parent process exits. Environment:
//     OIDC_PORT                    port (default 0: a free one)
//     OIDC_CLIENT_SECRET           secret of the confidential client toolyard-ci
//                                  (default "toolyard-ci-secret")
//     OIDC_TOKEN_TTL               access and ID token lifetime in seconds (default 600)
//     OIDC_ACCESS_TOKEN_FORMAT     jwt (default) or opaque: format of access tokens issued for a
//                                  resource (opaque ones can be introspected, JWTs cannot)
//     OIDC_ACCESS_TOKEN_ALG        RS256 (default) or ES256: signing algorithm of JWT access tokens
//     OIDC_REDIRECT_URIS           extra redirect URIs for toolyard-ide, space-separated
//     DEBUG=oidc-provider:*        oidc-provider's own debug log on stderr
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import * as jose from 'jose';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
// oidc-provider's own in-memory store, passed explicitly: the same storage as its default, without
// the start-up warning meant for production set-ups (everything here lives as long as the process).
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
// Scopes a resource server (any resource indicator) accepts.
const RESOURCE_SCOPES = ['mcp:tools'];

function fail(message) {
  process.stderr.write(`oidc server: ${message}\n`);
  process.exit(1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1) {
    if (i + 1 >= process.argv.length) fail(`--${name} needs a value`);
    return process.argv[i + 1];
  }
  return process.env[`OIDC_${name.toUpperCase().replaceAll('-', '_')}`] ?? fallback;
}

const portText = option('port', '0');
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${JSON.stringify(portText)}`);
const clientSecret = process.env.OIDC_CLIENT_SECRET || 'toolyard-ci-secret';
const ttl = Number(process.env.OIDC_TOKEN_TTL ?? '600');
if (!Number.isInteger(ttl) || ttl <= 0) fail(`bad OIDC_TOKEN_TTL ${JSON.stringify(process.env.OIDC_TOKEN_TTL)}`);
const accessTokenFormat = process.env.OIDC_ACCESS_TOKEN_FORMAT || 'jwt';
if (!['jwt', 'opaque'].includes(accessTokenFormat)) {
  fail(`bad OIDC_ACCESS_TOKEN_FORMAT ${JSON.stringify(accessTokenFormat)} (jwt or opaque)`);
}
const accessTokenAlg = process.env.OIDC_ACCESS_TOKEN_ALG || 'RS256';
if (!['RS256', 'ES256'].includes(accessTokenAlg)) {
  fail(`bad OIDC_ACCESS_TOKEN_ALG ${JSON.stringify(accessTokenAlg)} (RS256 or ES256)`);
}
const extraRedirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(/\s+/).filter(Boolean);

// --- users -----------------------------------------------------------------------------------
const USERS = {
  alice: { name: 'Alice Example', email: 'alice@example.test' },
  bob: { name: 'Bob Example', email: 'bob@example.test' },
};
const DEFAULT_USER = 'alice';

async function findAccount(_ctx, id) {
  const user = USERS[id];
  if (!user) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        name: user.name,
        preferred_username: id,
        email: user.email,
        email_verified: true,
      };
    },
  };
}

// --- signing keys, fresh on every start ------------------------------------------------------
function signingKey(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}
const keys = [
  signingKey('rsa', { modulusLength: 2048 }, 'RS256', `rs256-${randomBytes(4).toString('hex')}`),
  signingKey('ec', { namedCurve: 'P-256' }, 'ES256', `es256-${randomBytes(4).toString('hex')}`),
];
const publicKeys = jose.createLocalJWKSet({
  keys: keys.map(({ kty, n, e, crv, x, y, alg, use, kid }) => ({ kty, n, e, crv, x, y, alg, use, kid })),
});

// --- resource servers: any absolute URI (or logical audience) is one -------------------------
function resourceServerInfo(audience) {
  return {
    scope: RESOURCE_SCOPES.join(' '),
    audience,
    accessTokenTTL: ttl,
    accessTokenFormat,
    jwt: { sign: { alg: accessTokenAlg } },
  };
}

// Automated consent: the client is granted what it asked for, within the scopes it is
// registered for and the resource servers accept.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const { accountId } = oidc.session;
  if (!accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId });
  }
  const oidcScopes = [...oidc.requestParamOIDCScopes];
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  const requested = [...oidc.requestParamScopes];
  for (const [indicator, server] of Object.entries(oidc.resourceServers)) {
    const scopes = requested.filter((s) => server.scopes.has(s));
    if (scopes.length) grant.addResourceScope(indicator, scopes.join(' '));
  }
  await grant.save();
  return grant;
}

// Log in again when the authorization request names another user than the session's; no
// consent prompt just because the client is native (consent is automated).
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');
policy.get('login').checks.add(new interactionPolicy.Check(
  'other_user_requested',
  'the request names another user than the signed-in one',
  (ctx) => {
    const { oidc } = ctx;
    const wanted = oidc.params.login_hint ?? oidc.params.user;
    return Boolean(wanted && oidc.session.accountId && wanted !== oidc.session.accountId);
  },
));

// Token exchange: the actor (the exchanging client) goes into an `act` claim (RFC 8693 4.1).
const actors = new WeakMap();

const configuration = {
  clients: [
    {
      client_id: 'toolyard-ci',
      client_secret: clientSecret,
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'mcp:tools',
    },
    {
      client_id: 'toolyard-ide',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // Native client: any port on these loopback URIs is accepted (RFC 8252 7.3).
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback', ...extraRedirectUris],
      scope: 'openid offline_access profile email mcp:tools',
    },
  ],
  adapter: createMemoryAdapter(),
  jwks: { keys },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // mcp:tools is also a resource server scope: with a resource it goes into that resource's
  // token, without one into an opaque token with no audience.
  scopes: ['openid', 'offline_access', 'profile', 'email', 'mcp:tools'],
  responseTypes: ['code'],
  extraParams: ['user'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      // A refresh or code exchange without `resource` gets a token for the granted one.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => resourceServerInfo(indicator),
    },
  },
  interactions: {
    policy,
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  loadExistingGrant,
  // Refresh tokens for every code flow of a client allowed the grant (offline_access not needed).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  extraTokenClaims: async (_ctx, token) => actors.get(token),
  ttl: {
    AccessToken: ttl,
    ClientCredentials: ttl,
    IdToken: ttl,
    AuthorizationCode: 120,
    RefreshToken: 86400,
    Grant: 86400,
    Session: 86400,
    Interaction: 600,
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  renderError: async (ctx, out) => {
    ctx.type = 'application/json';
    ctx.body = out;
  },
};

// --- the subject token of a token exchange ---------------------------------------------------
// Returns { sub, scopes: Set, act } for a valid access token this server issued (a JWT access
// token checked against our keys, or an opaque one looked up), else throws invalid_request (the
// error RFC 8693 2.2.2 prescribes for an invalid subject token).
async function readSubjectToken(provider, token, tokenType) {
  let header;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    header = undefined;
  }
  if (header) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, publicKeys, {
        issuer: provider.issuer,
      });
      if (tokenType === ACCESS_TOKEN_TYPE && protectedHeader.typ !== 'at+jwt') {
        throw new Error('not an access token');
      }
      return {
        sub: payload.sub,
        scopes: new Set(String(payload.scope ?? '').split(' ').filter(Boolean)),
        act: payload.act,
      };
    } catch (err) {
      throw new errors.InvalidRequest(`subject_token is not valid: ${err.message}`);
    }
  }
  const found = (await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token));
  if (!found?.isValid) throw new errors.InvalidRequest('subject_token is not valid or has expired');
  return {
    sub: found.accountId ?? found.clientId,
    scopes: found.scopes,
    act: found.extra?.act,
  };
}

function tokenExchangeHandler(provider) {
  return async function tokenExchange(ctx) {
    const { params, client } = ctx.oidc;
    for (const name of ['subject_token', 'subject_token_type']) {
      if (!params[name]) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
    }
    const known = [ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE];
    if (!known.includes(params.subject_token_type)) {
      throw new errors.InvalidRequest(`unsupported subject_token_type (use ${known.join(' or ')})`);
    }
    if (params.requested_token_type && !known.includes(params.requested_token_type)) {
      throw new errors.InvalidRequest(`unsupported requested_token_type (use ${known.join(' or ')})`);
    }
    if (params.actor_token) throw new errors.InvalidRequest('actor_token is not supported');
    if (params.resource && params.audience && params.resource !== params.audience) {
      throw new errors.InvalidTarget('audience and resource name different targets');
    }
    const target = params.resource ?? params.audience;
    if (!target) throw new errors.InvalidTarget('token exchange needs an audience or a resource');
    if (params.resource && !URL.canParse(params.resource)) {
      throw new errors.InvalidTarget('resource must be an absolute URI');
    }

    const subject = await readSubjectToken(provider, params.subject_token, params.subject_token_type);
    let scopes;
    if (params.scope) {
      scopes = params.scope.split(' ').filter(Boolean);
      const refused = scopes.filter((s) => !subject.scopes.has(s) || !RESOURCE_SCOPES.includes(s));
      if (refused.length) {
        throw new errors.InvalidScope('requested scope is not granted to the subject token', refused.join(' '));
      }
    } else {
      scopes = [...subject.scopes].filter((s) => RESOURCE_SCOPES.includes(s));
    }
    const scope = scopes.join(' ') || undefined;

    const grant = new provider.Grant({ clientId: client.clientId, accountId: subject.sub });
    if (scope) grant.addResourceScope(target, scope);
    const grantId = await grant.save();

    const token = new provider.AccessToken({
      accountId: subject.sub,
      client,
      grantId,
      gty: 'token_exchange',
      scope,
      resourceServer: new provider.ResourceServer(target, resourceServerInfo(target)),
    });
    actors.set(token, {
      act: subject.act ? { sub: client.clientId, act: subject.act } : { sub: client.clientId },
    });
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();

    ctx.body = {
      access_token: value,
      issued_token_type:
        params.requested_token_type === JWT_TOKEN_TYPE && accessTokenFormat === 'jwt'
          ? JWT_TOKEN_TYPE
          : ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope,
    };
  };
}

// --- interactions: login and consent answered without a browser ------------------------------
// GET /interaction/:uid (with the cookies /auth set) completes the pending prompt and redirects
// back to the authorization endpoint. The user comes from login_hint or `user` on the
// authorization request (default alice); an unknown user ends the flow with access_denied.
function interactions(provider) {
  return async function interaction(ctx, next) {
    if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      ctx.status = 400;
      ctx.type = 'application/json';
      ctx.body = {
        error: 'invalid_request',
        error_description: `no interaction here (${err.message}): send the cookies the authorization endpoint set`,
      };
      return undefined;
    }
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      const user = params.login_hint ?? params.user ?? DEFAULT_USER;
      if (USERS[user] && session?.accountId && session.accountId !== user) {
        // Another user signs in with the same cookies: end the old session here (a browser
        // would be shown a logout confirmation form), so the flow goes on without one.
        const old = await provider.Session.findByUid(session.uid);
        if (old) await old.destroy();
        delete details.session;
        await details.save(details.exp - Math.floor(Date.now() / 1000));
      }
      result = USERS[user]
        ? { login: { accountId: user } }
        : { error: 'access_denied', error_description: `unknown user ${JSON.stringify(user)} (alice or bob)` };
    } else if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

// --- start -----------------------------------------------------------------------------------
// Listen first (port 0 works), then build the provider for the issuer URL with the real port.
let handle = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handle(req, res));
server.on('error', (err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (err) {
    fail(`bad provider configuration: ${err.stack}`);
  }
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchangeHandler(provider),
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
      'requested_token_type', 'audience', 'resource', 'scope'],
  );
  provider.use(interactions(provider));
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc server: ${err.stack}\n`));
  handle = provider.callback();
  process.stdout.write(`${JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/token/introspection`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/me`,
  })}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, stop);
// A test binary that died without stopping us: its child is re-parented, so stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500).unref();
