#!/usr/bin/env node
// PostGraphile 4 in front of naboom, in library mode: what test/graphile.sh
// starts, and a starting point for a deployment (see README "PostGraphile").
//
//   DATABASE_URL=postgres://authenticator:...@127.0.0.1/mydb \
//   JWT_SECRET=... PORT=5000 node tools/postgraphile/server.js
//
// The options are the CLI flags the README names:
//   includeExtensionResources  naboom_api belongs to the extension: without it
//                              the schema has no naboom function at all
//   dynamicJson                jsonb as JSON, not as a string
//   extendedErrors             errcode, detail (naboom.<key>: ...) and hint
//   subscriptions              the WebSocket endpoint, with naboomEvents
//   jwtSecret, pgDefaultRole   signed tokens (aud "postgraphile"), naboom_anon
//                              without one
// and pgSettings passes the HTTP request's headers as request.headers, as
// PostgREST does, so naboom's audit log records the client address
// (x-forwarded-for, see naboom.trusted_proxies), user agent and request id.
//
// The server listens on HOST (default 127.0.0.1) and PORT (0: any free
// port) and prints one line "listening on http://HOST:PORT/graphql" once it
// accepts requests.  SIGTERM and SIGINT stop it.
'use strict';

const http = require('http');
const { postgraphile, makePluginHook, enhanceHttpServerWithWebSockets } = require('postgraphile');
const { default: PgPubsub } = require('@graphile/pg-pubsub');
const { Pool } = require('pg');
const NaboomEventsPlugin = require('./naboom-events-plugin');

const databaseUrl = process.env.DATABASE_URL;
const jwtSecret = process.env.JWT_SECRET;
if (!databaseUrl || !jwtSecret) {
  console.error('server.js: set DATABASE_URL and JWT_SECRET');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);

// Only these headers go to the database: what naboom's audit reads, and
// nothing secret (the authorization header is the token itself).
const AUDIT_HEADERS = ['x-forwarded-for', 'user-agent', 'x-request-id'];

function requestHeaders(req) {
  const out = {};
  for (const name of AUDIT_HEADERS) {
    const v = req.headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  return JSON.stringify(out);
}

const pool = new Pool({ connectionString: databaseUrl, max: 10 });
pool.on('error', (e) => console.error('server.js: idle client error:', e.message));

const middleware = postgraphile(pool, 'naboom_api', {
  pluginHook: makePluginHook([PgPubsub]),
  appendPlugins: [NaboomEventsPlugin],
  includeExtensionResources: true,
  dynamicJson: true,
  extendedErrors: ['hint', 'detail', 'errcode'],
  subscriptions: true,
  jwtSecret,
  // pgDefaultRole cannot be combined with a pgSettings function: without a
  // token the role is naboom_anon; with one, the token's role claim (a token
  // without one runs as the authenticator, which may do nothing)
  // the schema is read once: restart after ALTER EXTENSION naboom UPDATE
  watchPg: false,
  ignoreRBAC: false,
  setofFunctionsContainNulls: false,
  disableQueryLog: true,
  enableQueryBatching: false,
  pgSettings: async (req) => {
    const settings = { 'request.headers': requestHeaders(req) };
    if (!/^Bearer\s/i.test(req.headers.authorization || '')) settings.role = 'naboom_anon';
    return settings;
  },
});

const server = http.createServer(middleware);
// Builds the schema (a naming clash or a bad smart comment fails here, not at
// the first request), and serves the WebSocket endpoint from the start.
enhanceHttpServerWithWebSockets(server, middleware)
  .then(() => new Promise((resolve) => server.listen(port, host, resolve)))
  .then(() => {
    const a = server.address();
    console.log(`listening on http://${a.address}:${a.port}/graphql`);
  })
  .catch((e) => {
    console.error('server.js: cannot start:', e && e.stack ? e.stack : e);
    process.exit(1);
  });

function stop(signal) {
  console.log(`stopping on ${signal}`);
  server.close();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
