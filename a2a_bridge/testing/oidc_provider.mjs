// A real OpenID Provider for tests: `oidc-provider` issuing JWT access tokens by client credentials,
// and ID tokens to login clients (authorization code flow through its development sign-in pages).
// Reads one JSON file (argv[2]): issuer, port, signing keys (JWKs, the first signs), clients, resources.
import fs from 'node:fs';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ttlOf = Object.fromEntries(config.clients.map((c) => [c.client_id, c.token_ttl]));
const logins = config.clients.some((c) => c.redirect_uri);

const client = (c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  ...(c.redirect_uri
    ? { grant_types: ['authorization_code'], redirect_uris: [c.redirect_uri], response_types: ['code'] }
    : { grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }),
  ...(c.scope ? { scope: c.scope } : {}),
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(config.issuer, {
  clients: config.clients.map(client),
  jwks: { keys: config.keys },
  scopes: logins ? ['openid', ...config.scopes] : config.scopes,
  formats: {
    customizers: {
      // An audience may get tokens typed as providers that predate RFC 9068 type them: "JWT", or no typ.
      jwt: (ctx, token, jwt) => {
        const server = config.resources[jwt.payload.aud];
        if (server && server.typ !== 'at+jwt') jwt.header = { typ: server.typ ?? undefined };
      },
    },
  },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: logins },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.default_resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        const server = config.resources[resource];
        if (!server) throw new errors.InvalidTarget();
        return {
          scope: server.scope,
          audience: resource,
          accessTokenTTL: ttlOf[client.clientId] ?? server.token_ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: config.keys[0].alg } },
        };
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// An issuer with a path (https://sts.example/{tenant}/) serves its endpoints under that path.
const mount = new URL(config.issuer).pathname.replace(/\/$/, '');
const app = provider.callback();
const server = http.createServer((req, res) => {
  if (mount) {
    if (!req.url.startsWith(`${mount}/`)) {
      res.writeHead(404).end();
      return;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(mount.length);
  }
  app(req, res);
});
server.listen(config.port, '127.0.0.1', () => console.log(`listening ${config.issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
