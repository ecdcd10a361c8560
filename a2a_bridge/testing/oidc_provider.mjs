// A real OpenID Provider for tests: `oidc-provider` issuing JWT access tokens by client credentials.
// Reads one JSON file (argv[2]): issuer, port, signing keys (JWKs, the first signs), clients, resources.
import fs from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ttlOf = Object.fromEntries(config.clients.map((c) => [c.client_id, c.token_ttl]));

const provider = new Provider(config.issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    ...(c.scope ? { scope: c.scope } : {}),
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: config.keys },
  scopes: config.scopes,
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
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

const server = provider.listen(config.port, '127.0.0.1', () => console.log(`listening ${config.issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
