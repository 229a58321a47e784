#!/usr/bin/env node
// test/graphile.js: naboom through a real PostGraphile 4, as an integrator
// uses it: GraphQL over HTTP with signed JWTs for several people, and the
// naboomEvents subscription over a real WebSocket.  Run by test/graphile.sh,
// which installs PostGraphile, starts it and sets:
//   GRAPHILE_URL        http://127.0.0.1:PORT/graphql
//   JWT_SECRET          the server's secret (tokens carry aud "postgraphile")
//   NABOOM_GRAPHILE_DB  the database (naboom installed afresh); PGHOST,
//                       PGPORT, PGUSER, PGPASSWORD name a superuser, used only
//                       to publish the event stream (no background writer
//                       serves this database) and to read the audit log
//
// It checks the generated schema's names; sets up a community through the
// API (the service, an admin, residents, a verified member, a responder);
// tells a whole incident story (report and resubmit, verify, dispatch, en
// route, on scene, resolve with a note, close), a refused transition with
// its errcode, detail and hint, bad input, a panic, nearestResponders,
// incidentsNear, myAlerts, exportMyData, every list and picker; that the
// audit log has the client address, user agent and request id of the HTTP
// request; and that over the WebSocket a responder receives a panic's event
// while a resident of the same community receives the public events before
// and after it, but not the panic's.
//
// Output is TAP: "1..N" first, one "ok N - ..." / "not ok N - ..." per
// check ("#" lines explain a failure), and "# graphile: N passed, N failed"
// last.  Exit status 0 iff every check passed.  Checks never reached (a
// crash, the overall time limit) are reported as failed.
'use strict';

const path = require('path');
const { createRequire } = require('module');
const need = createRequire(path.join(__dirname, '..', 'tools', 'postgraphile', 'package.json'));
const jwt = need('jsonwebtoken');
const WebSocket = need('ws');
const { Client } = need('pg');

const PLAN = 46;
const URL = process.env.GRAPHILE_URL;
const SECRET = process.env.JWT_SECRET;
const DB = process.env.NABOOM_GRAPHILE_DB || 'naboom_graphile';
const TIME_LIMIT_MS = 120000;

// ---------------------------------------------------------------- TAP
let n = 0, passed = 0, failed = 0;
function check(desc, cond, diag) {
  n += 1;
  if (cond) { passed += 1; console.log(`ok ${n} - ${desc}`); return true; }
  failed += 1;
  console.log(`not ok ${n} - ${desc}`);
  if (diag !== undefined) {
    const text = typeof diag === 'string' ? diag : JSON.stringify(diag, null, 1);
    for (const line of String(text).split('\n').slice(0, 40)) console.log(`#   ${line}`);
  }
  return false;
}
function finish(why) {
  while (n < PLAN) check(`not run: ${why}`, false);
  if (n > PLAN) console.log(`# ${n} checks, the plan said ${PLAN}`);
  console.log(`# graphile: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && n === PLAN ? 0 : 1);
}
console.log(`1..${PLAN}`);
setTimeout(() => finish(`the time limit (${TIME_LIMIT_MS / 1000} s) was reached`), TIME_LIMIT_MS).unref();

// ---------------------------------------------------------------- helpers
const RUN = `${Date.now().toString(36)}${process.pid}`;
const SLUG = `gq-${RUN}`;
const who = {
  admin: `gq-admin-${RUN}`,
  res1: `gq-res1-${RUN}`,
  res2: `gq-res2-${RUN}`,
  ver: `gq-ver-${RUN}`,
  resp: `gq-resp-${RUN}`,
};
function token(sub, role = 'naboom_user', aud = 'postgraphile') {
  const claims = { role, aud };
  if (sub) claims.sub = sub;
  return jwt.sign(claims, SECRET, { expiresIn: '10m' });
}
const tok = Object.fromEntries(Object.entries(who).map(([k, sub]) => [k, token(sub)]));
tok.service = token(null, 'naboom_service');

// gql(TOKEN, QUERY, VARIABLES, HEADERS): one POST; {status, body}
async function gql(bearer, query, variables = {}, headers = {}) {
  const h = { 'content-type': 'application/json', accept: 'application/json', ...headers };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  const r = await fetch(URL, { method: 'POST', headers: h, body: JSON.stringify({ query, variables }) });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch (e) { body = { unparsed: text }; }
  return { status: r.status, body };
}
const ok200 = (r) => r.status === 200 && r.body && r.body.data && !r.body.errors;
const firstError = (r) => (r.body && r.body.errors && r.body.errors[0]) || {};
// pgError(R): the PostgreSQL fields of the first error.  With extendedErrors
// PostGraphile 4 puts errcode, detail and hint on the error itself and again
// in extensions.exception; both must be there and agree.
function pgError(r) {
  const e = firstError(r);
  const x = (e.extensions && e.extensions.exception) || {};
  const same = ['errcode', 'detail', 'hint'].every((k) => e[k] === x[k]);
  return same ? { errcode: e.errcode, detail: e.detail, hint: e.hint, message: e.message } : {};
}
const REF = /^NB-[0-9A-Z]{4}-[0-9A-Z]{4}$/;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

const INCIDENT = 'reference status kind priority isPublic assignee statusNote version duplicateCandidates';
function transition(bearer, reference, status, note) {
  return gql(bearer, `mutation($reference: String!, $status: String!, $note: String) {
    transitionIncident(input: {reference: $reference, status: $status, note: $note}) { incident { ${INCIDENT} } } }`,
  { reference, status, note });
}

// A graphql-transport-ws client (the protocol of graphql-ws, which
// PostGraphile 4.14 speaks beside the older subscriptions-transport-ws).
function subscriber(name, bearer) {
  const s = { name, frames: [], events: [], errors: [], acked: false, closed: false };
  s.ready = new Promise((resolve) => {
    const ws = new WebSocket(URL.replace(/^http/, 'ws'), 'graphql-transport-ws');
    s.ws = ws;
    ws.on('open', () => ws.send(JSON.stringify({
      type: 'connection_init', payload: bearer ? { authorization: `Bearer ${bearer}` } : {},
    })));
    ws.on('message', (data) => {
      const text = data.toString();
      s.frames.push(text);
      const m = JSON.parse(text);
      if (m.type === 'connection_ack') {
        s.acked = true;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: {
          query: 'subscription { naboomEvents { event { id topic community reference at payload } } }' } }));
        resolve();
      } else if (m.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (m.type === 'next') {
        if (m.payload.errors) s.errors.push(...m.payload.errors);
        const e = m.payload.data && m.payload.data.naboomEvents;
        if (e) s.events.push(e.event);
      } else if (m.type === 'error') {
        s.errors.push(...(Array.isArray(m.payload) ? m.payload : [m.payload]));
      }
    });
    ws.on('error', (e) => { s.errors.push({ message: `socket: ${e.message}` }); resolve(); });
    ws.on('close', () => { s.closed = true; resolve(); });
  });
  return s;
}
async function until(cond, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (cond()) return true; await sleep(100); }
  return cond();
}

// ---------------------------------------------------------------- the test
async function main() {
  if (!URL || !SECRET) { check('GRAPHILE_URL and JWT_SECRET are set (run test/graphile.sh)', false); finish('no server'); }
  const su = new Client({ database: DB });
  await su.connect();
  const publish = () => su.query('SELECT naboom.publish_events()');

  // ------------------------------------------------------------ schema
  const intro = await gql(null, `{ __schema {
      queryType { fields { name } } mutationType { fields { name } }
      subscriptionType { name fields { name } } types { name kind } } }`);
  const sch = intro.body.data && intro.body.data.__schema;
  if (!check('introspection answers (anonymous)', ok200(intro) && sch, intro.body)) finish('no schema');
  const q = new Set(sch.queryType.fields.map((f) => f.name));
  const mu = new Set(sch.mutationType.fields.map((f) => f.name));
  const types = new Set(sch.types.map((t) => t.name));
  const lists = ['incidentQueueList', 'communityIncidentsList', 'myIncidentsList', 'myAssignmentsList',
    'membersList', 'incidentChangesList', 'eventsSinceList', 'myAlertsList', 'nearestRespondersList',
    'incidentsNearList', 'duplicateCandidatesList', 'mySubscriptionsList', 'communitiesList',
    'categoriesList', 'areasList', 'statusesList', 'myMembershipsList', 'incidentAuditList',
    'communityAuditList', 'slaReportList', 'retentionPoliciesList'];
  const singles = ['getIncident', 'exportMyData', 'health', 'unreadAlertCount', 'communityMapGeojson', 'communityMapSvg'];
  const missingQ = [...lists, ...singles].filter((f) => !q.has(f));
  check('schema: every naboom reader is a query field, each SETOF function a plain list (xxxList)',
    missingQ.length === 0, { missing: missingQ, query: [...q] });
  const writers = ['reportIncident', 'raisePanic', 'transitionIncident', 'assignIncident', 'acknowledgeIncident',
    'addNote', 'createCommunity', 'upsertArea', 'upsertCategory', 'joinCommunity', 'setMemberRole',
    'updatePosition', 'subscribe', 'subscribeArea', 'unsubscribe', 'markAlertsSeen', 'exportMyData',
    'eraseMyData', 'leaveCommunity', 'updateMyProfile', 'deleteNote', 'placeLegalHold', 'liftLegalHold', 'setRetention'];
  const missingM = writers.filter((f) => f !== 'exportMyData' && !mu.has(f));
  check('schema: every naboom writer is a mutation', missingM.length === 0, { missing: missingM });
  const subType = sch.subscriptionType;
  check('schema: the root Subscription type has naboomEvents; the alert area type is AlertSubscription, the export MyDataExport',
    subType && subType.name === 'Subscription' && subType.fields.some((f) => f.name === 'naboomEvents') &&
    types.has('AlertSubscription') && types.has('MyDataExport') && !types.has('MyDatum'),
  { subscriptionType: subType, alertSubscription: types.has('AlertSubscription'), myDataExport: types.has('MyDataExport') });
  const ugly = sch.types.map((t) => t.name).filter((t) => !t.startsWith('__') &&
    (!/^[A-Z][A-Za-z0-9]*$/.test(t) || /Datum$|Connection$|Edge$|^Subscriptions?(Connection|Edge)?$/.test(t) && t !== 'Subscription'));
  const uglyFields = [...q, ...mu].filter((f) => !/^[a-z][A-Za-z0-9]*$/.test(f) || /Datum/.test(f));
  check('schema: every type and field name is clean (PascalCase / camelCase, no Datum, no Relay connections)',
    ugly.length === 0 && uglyFields.length === 0, { ugly, uglyFields });

  // ------------------------------------------------------------ set-up
  const boundary = JSON.stringify({ type: 'Polygon', coordinates: [[[28.0, -24.8], [28.4, -24.8], [28.4, -24.4], [28.0, -24.4], [28.0, -24.8]]] });
  let r = await gql(tok.service, `mutation($slug: String!, $boundary: String!, $admin: String!) {
    createCommunity(input: {slug: $slug, name: "Graphile Town", boundary: $boundary, adminRef: $admin, adminName: "Gq Admin"}) {
      community { slug name timeZone boundary } } }`, { slug: SLUG, boundary, admin: who.admin });
  const comm = ok200(r) && r.body.data.createCommunity.community;
  check('createCommunity as the service (a token with role naboom_service and no sub); the boundary comes back as a JSON object',
    comm && comm.slug === SLUG && comm.boundary && typeof comm.boundary === 'object' && comm.boundary.type, r.body);
  if (!comm) finish('no community');

  r = await gql(tok.admin, `mutation($c: String!) {
    a: upsertCategory(input: {community: $c, code: "fire", nameEn: "Veld fire", nameAf: "Veldbrand", defaultPriority: "high"}) { category { code defaultPriority } }
    b: upsertArea(input: {community: $c, code: "north", name: "North", boundary: "{\\"type\\":\\"Polygon\\",\\"coordinates\\":[[[28.0,-24.6],[28.4,-24.6],[28.4,-24.4],[28.0,-24.4],[28.0,-24.6]]]}"}) { area { code nameEn } } }`,
  { c: SLUG });
  check('upsertCategory and upsertArea by the admin', ok200(r) && r.body.data.a.category.code === 'fire' &&
    r.body.data.b.area.code === 'north', r.body);

  const joined = [];
  for (const k of ['res1', 'res2', 'ver', 'resp']) {
    r = await gql(tok[k], `mutation($c: String!, $n: String!) { joinCommunity(input: {community: $c, displayName: $n}) { member { userRef role } } }`,
      { c: SLUG, n: `Gq ${k}` });
    joined.push(ok200(r) ? r.body.data.joinCommunity.member : r.body);
  }
  r = await gql(tok.admin, `mutation($c: String!, $v: String!, $p: String!) {
    v: setMemberRole(input: {community: $c, userRef: $v, role: "verified"}) { member { role } }
    p: setMemberRole(input: {community: $c, userRef: $p, role: "responder"}) { member { role } } }`,
  { c: SLUG, v: who.ver, p: who.resp });
  check('four people join as residents (each with their own token); the admin makes one verified and one a responder',
    joined.every((m) => m.role === 'resident') && joined.map((m) => m.userRef).join() === [who.res1, who.res2, who.ver, who.resp].join() &&
    ok200(r) && r.body.data.v.member.role === 'verified' && r.body.data.p.member.role === 'responder', { joined, roles: r.body });

  r = await gql(tok.resp, 'mutation { updatePosition(input: {lat: -24.51, lon: 28.21, onDuty: true, accuracyM: 10}) { position { onDuty } } }');
  const r2 = await gql(tok.res2, `mutation($c: String!) { subscribe(input: {community: $c, lat: -24.5, lon: 28.2, radiusM: 5000, label: "home"}) {
    alertSubscription { id label radiusM } } }`, { c: SLUG });
  check('the responder goes on duty (updatePosition); a resident subscribes to alerts around home (subscribe answers an AlertSubscription)',
    ok200(r) && ok200(r2) && r2.body.data.subscribe.alertSubscription.label === 'home', { position: r.body, subscribe: r2.body });

  // ------------------------------------------------------------ subscribers
  await publish();
  const mark = Number((await su.query('SELECT coalesce(max(seq), 0) AS m FROM naboom.event')).rows[0].m);
  const subResp = subscriber('responder', tok.resp);
  const subRes2 = subscriber('resident', tok.res2);
  const subAnon = subscriber('anonymous', null);
  await Promise.all([subResp.ready, subRes2.ready, subAnon.ready]);
  await until(() => subAnon.errors.length > 0, 5000);
  check('WebSocket: a responder and a resident of the community connect (graphql-transport-ws, the token in connection_init) and subscribe to naboomEvents',
    subResp.acked && subRes2.acked && !subResp.closed && !subRes2.closed && subResp.errors.length === 0 && subRes2.errors.length === 0,
    { responder: subResp.frames.concat(subResp.errors), resident: subRes2.frames.concat(subRes2.errors) });
  check('WebSocket: an anonymous subscription is refused (42501: the public may not call events_since) and ends',
    subAnon.errors.some((e) => e.errcode === '42501' && /events_since/.test(e.message)) && subAnon.events.length === 0 &&
    subAnon.frames.some((f) => JSON.parse(f).type === 'complete'),
    subAnon.frames.concat(subAnon.errors));
  // the server's LISTEN (one connection for every subscription) is in place
  for (let i = 0; i < 50; i += 1) {
    const l = await su.query(`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND query ~* '^LISTEN "?naboom_events"?'`);
    if (l.rows[0].n > 0) break;
    await sleep(100);
  }

  // ------------------------------------------------------------ the story
  const REQ_ID = `gq-req-${RUN}`;
  const report = (bearer, vars, headers) => gql(bearer, `mutation($c: String!, $ref: String, $lat: Float!, $lon: Float!, $d: String!, $pub: Boolean) {
    reportIncident(input: {community: $c, category: "fire", lat: $lat, lon: $lon, description: $d, isPublic: $pub, clientRef: $ref}) {
      incident { ${INCIDENT} } } }`, vars, headers);
  r = await report(tok.res1, { c: SLUG, ref: `dev-${RUN}-1`, lat: -24.50, lon: 28.20, d: 'Smoke behind the co-op', pub: true },
    { 'user-agent': 'naboom-graphile-test/1.0', 'x-request-id': REQ_ID, 'x-forwarded-for': '198.51.100.7' });
  const inc = ok200(r) && r.body.data.reportIncident.incident;
  check('reportIncident: a public report, status reported, duplicateCandidates a JSON array (dynamicJson)',
    inc && REF.test(inc.reference) && inc.status === 'reported' && inc.isPublic === true && Array.isArray(inc.duplicateCandidates), r.body);
  const REF1 = inc ? inc.reference : 'none';
  r = await report(tok.res1, { c: SLUG, ref: `dev-${RUN}-1`, lat: -24.50, lon: 28.20, d: 'Smoke behind the co-op', pub: true });
  check('reportIncident resubmitted with the same clientRef answers the same incident',
    ok200(r) && r.body.data.reportIncident.incident.reference === REF1 && r.body.data.reportIncident.incident.version === inc.version, r.body);

  const audit = await su.query(`SELECT client_addr AS addr, user_agent, request_id, actor FROM naboom.audit_log
    WHERE request_id = $1 AND table_name = 'naboom.incident' AND action = 'INSERT'`, [REQ_ID]).catch((e) => ({ rows: [], error: e.message }));
  check('audit: the report\'s INSERT carries the HTTP request\'s x-forwarded-for, user-agent and x-request-id (pgSettings request.headers) and the person',
    audit.rows.length === 1 && audit.rows[0].addr === '198.51.100.7' && audit.rows[0].user_agent === 'naboom-graphile-test/1.0' &&
    audit.rows[0].actor === who.res1, audit);

  r = await transition(tok.ver, REF1, 'verified');
  check('transitionIncident: the verified member verifies it', ok200(r) && r.body.data.transitionIncident.incident.status === 'verified', r.body);
  r = await transition(tok.resp, REF1, 'dispatched');
  check('transitionIncident: the responder dispatches it, assigning themself',
    ok200(r) && r.body.data.transitionIncident.incident.status === 'dispatched' && r.body.data.transitionIncident.incident.assignee === who.resp, r.body);

  r = await transition(tok.res1, REF1, 'closed');
  const ext = pgError(r);
  check('a refused transition (the reporter closing a dispatched incident): errors[0] has errcode PT409, the detail naboom.invalid_transition and the hint (also in extensions.exception)',
    r.status === 200 && ext.errcode === 'PT409' && /^naboom\.invalid_transition: /.test(ext.detail || '') &&
    ext.hint === 'Choose one of the allowed next statuses.' && /cannot move from dispatched to closed/.test(ext.message || '') &&
    (!r.body.data || r.body.data.transitionIncident === null), r.body);

  r = await transition(tok.resp, REF1, 'en_route');
  const r3 = await transition(tok.resp, REF1, 'on_scene');
  check('transitionIncident: en route, then on scene', ok200(r) && r.body.data.transitionIncident.incident.status === 'en_route' &&
    ok200(r3) && r3.body.data.transitionIncident.incident.status === 'on_scene', { enRoute: r.body, onScene: r3.body });
  r = await transition(tok.resp, REF1, 'resolved', 'Fire out, two hectares burnt');
  check('transitionIncident: resolved with a note', ok200(r) && r.body.data.transitionIncident.incident.status === 'resolved' &&
    r.body.data.transitionIncident.incident.statusNote === 'Fire out, two hectares burnt', r.body);
  r = await transition(tok.res1, REF1, 'closed');
  check('transitionIncident: the reporter closes it', ok200(r) && r.body.data.transitionIncident.incident.status === 'closed', r.body);
  r = await gql(tok.res1, 'query($r: String!) { getIncident(reference: $r) { status closedAt resolvedAt timeline } }', { r: REF1 });
  const tl = ok200(r) && r.body.data.getIncident.timeline;
  check('getIncident: closed, with its timeline as a JSON array (reported, verified, dispatched, en route, on scene, resolved, closed)',
    Array.isArray(tl) && tl.length >= 7 && r.body.data.getIncident.closedAt && r.body.data.getIncident.resolvedAt, r.body);

  r = await gql(tok.res1, `mutation($c: String!) { reportIncident(input: {community: $c, category: "fire", lat: -20.0, lon: 20.0, description: "far away"}) { incident { reference } } }`, { c: SLUG });
  check('bad input: a report outside the community: errcode 22023, detail naboom.outside_community, a hint',
    pgError(r).errcode === '22023' && /^naboom\.outside_community: /.test(pgError(r).detail || '') && pgError(r).hint, r.body);
  r = await gql(null, `mutation($c: String!) { reportIncident(input: {community: $c, category: "fire", lat: -24.5, lon: 28.2, description: "anon"}) { incident { reference } } }`, { c: SLUG });
  check('the public (no token, naboom_anon) may not report: 42501, no incident',
    r.status === 200 && pgError(r).errcode === '42501' && r.body.data.reportIncident === null, r.body);
  r = await gql(token(who.res1, 'naboom_user', 'someone-else'), '{ statusesList { status } }');
  check('a token without aud "postgraphile" is refused (HTTP 403 or 401)', [401, 403].includes(r.status), { status: r.status, body: r.body });

  // the panic, between two public reports the resident's subscription will see
  r = await gql(tok.res1, `mutation($c: String!) { raisePanic(input: {community: $c, lat: -24.505, lon: 28.205, note: "Intruder at the back door"}) {
    incident { reference kind priority isPublic status } } }`, { c: SLUG });
  const panic = ok200(r) && r.body.data.raisePanic.incident;
  check('raisePanic: a private, critical panic', panic && panic.kind === 'panic' && panic.priority === 'critical' && panic.isPublic === false, r.body);
  const PANIC = panic ? panic.reference : 'none';
  r = await report(tok.res1, { c: SLUG, ref: `dev-${RUN}-2`, lat: -24.49, lon: 28.19, d: 'Second fire by the silo', pub: true });
  const REF2 = ok200(r) ? r.body.data.reportIncident.incident.reference : 'none';
  r = await transition(tok.resp, REF2, 'dispatched');
  check('a second public report, dispatched to the responder', REF.test(REF2) && ok200(r) &&
    r.body.data.transitionIncident.incident.status === 'dispatched', r.body);

  r = await gql(tok.admin, 'query($r: String!) { nearestRespondersList(reference: $r, maxCount: 5) { userRef distanceM isAssignee } }', { r: PANIC });
  const near = ok200(r) && r.body.data.nearestRespondersList;
  check('nearestRespondersList for the panic (the admin): the on-duty responder, with a distance in metres',
    near && near.length >= 1 && near[0].userRef === who.resp && near[0].distanceM > 0 && near[0].distanceM < 2000, r.body);

  r = await gql(null, '{ incidentsNearList(lat: -24.5, lon: 28.2, radiusM: 3000) { reference distanceM isMine } }');
  const nearby = ok200(r) ? r.body.data.incidentsNearList.map((i) => i.reference) : [];
  check('incidentsNearList for the public: the live public report, not the panic, not the closed one',
    ok200(r) && nearby.includes(REF2) && !nearby.includes(PANIC) && !nearby.includes(REF1), r.body);

  r = await gql(tok.res2, 'query { myAlertsList(afterId: "0") { id reference reason seenAt distanceM subscriptionId } }');
  const alerts = ok200(r) ? r.body.data.myAlertsList : [];
  check('myAlertsList: the subscriber was alerted of both public reports near home (unread), not of the panic',
    ok200(r) && alerts.some((a) => a.reference === REF1 && a.seenAt === null) && alerts.some((a) => a.reference === REF2) &&
    !alerts.some((a) => a.reference === PANIC), r.body);

  r = await gql(tok.res1, 'query { exportMyData { userRef exportedAt data } }');
  const ex = ok200(r) && r.body.data.exportMyData;
  check('exportMyData (type MyDataExport): the caller\'s document, data a JSON object naming the reports',
    ex && ex.userRef === who.res1 && ex.data && typeof ex.data === 'object' && JSON.stringify(ex.data).includes(REF1), r.body);

  // ------------------------------------------------------------ lists
  await publish(); // incidentChangesList follows the stream's published positions
  r = await gql(tok.admin, 'query($c: String!) { incidentQueueList(community: $c) { reference priority status overdue cursor } }', { c: SLUG });
  const queue = ok200(r) ? r.body.data.incidentQueueList : [];
  check('incidentQueueList (the admin): the live incidents, the critical panic first, each with a cursor',
    queue.length === 2 && queue[0].reference === PANIC && queue[1].reference === REF2 && queue.every((i) => i.cursor), r.body);
  r = await gql(tok.admin, `query($c: String!, $a: String) { p1: incidentQueueList(community: $c, maxCount: 1) { reference cursor }
    p2: incidentQueueList(community: $c, maxCount: 1, after: $a) { reference } }`, { c: SLUG, a: queue[0] && queue[0].cursor });
  check('incidentQueueList pages: maxCount 1, then after the first page\'s cursor the next row',
    ok200(r) && r.body.data.p1.length === 1 && r.body.data.p1[0].reference === PANIC &&
    r.body.data.p2.length === 1 && r.body.data.p2[0].reference === REF2, r.body);
  r = await gql(tok.res1, 'query($c: String!) { incidentQueueList(community: $c) { reference } }', { c: SLUG });
  check('incidentQueueList for a resident: refused with 42501 naboom.insufficient_role',
    pgError(r).errcode === '42501' && /^naboom\.insufficient_role: /.test(pgError(r).detail || ''), r.body);

  r = await gql(null, 'query($c: String!) { communityIncidentsList(community: $c) { reference status reporterName } }', { c: SLUG });
  const feed = ok200(r) ? r.body.data.communityIncidentsList.map((i) => i.reference) : [];
  check('communityIncidentsList for the public: both public reports, newest first, not the panic',
    feed.join() === [REF2, REF1].join(), r.body);
  r = await gql(tok.res1, 'query { myIncidentsList { reference kind } }');
  const mine = ok200(r) ? r.body.data.myIncidentsList.map((i) => i.reference) : [];
  check('myIncidentsList: the reporter\'s three, newest first', mine.join() === [REF2, PANIC, REF1].join(), r.body);
  r = await gql(tok.resp, 'query { myAssignmentsList { reference status assignee } }');
  check('myAssignmentsList: the responder\'s live assignment', ok200(r) &&
    r.body.data.myAssignmentsList.map((i) => i.reference).join() === REF2, r.body);
  r = await gql(tok.admin, 'query($c: String!) { membersList(community: $c) { userRef role phone cursor } }', { c: SLUG });
  const members = ok200(r) ? r.body.data.membersList : [];
  check('membersList (the admin): the five members with their roles',
    members.length === 5 && members.some((m) => m.userRef === who.resp && m.role === 'responder') &&
    members.some((m) => m.userRef === who.admin && m.role === 'admin'), r.body);
  r = await gql(tok.res2, 'query { incidentChangesList(maxCount: 500) { reference status removed cursor changedAt } }');
  const changes = ok200(r) ? r.body.data.incidentChangesList.map((i) => i.reference) : [];
  check('incidentChangesList for another resident: the public reports (each once), not the panic',
    changes.includes(REF1) && changes.includes(REF2) && !changes.includes(PANIC) && new Set(changes).size === changes.length, r.body);
  r = await gql(tok.resp, 'query { incidentChangesList(maxCount: 500) { reference } }');
  check('incidentChangesList for the responder: the panic too',
    ok200(r) && r.body.data.incidentChangesList.some((i) => i.reference === PANIC), r.body);
  r = await gql(null, `query($c: String!) { communitiesList { slug minLat maxLon } categoriesList(community: $c) { code nameAf }
    areasList(community: $c) { code } statusesList { status statusType } }`, { c: SLUG });
  const d = ok200(r) && r.body.data;
  check('the pickers for the public: communitiesList, categoriesList (fire and panic), areasList, statusesList',
    d && d.communitiesList.some((c) => c.slug === SLUG) && ['fire', 'panic'].every((c) => d.categoriesList.some((x) => x.code === c)) &&
    d.areasList.map((a) => a.code).join() === 'north' && d.statusesList.some((s) => s.status === 'closed' && s.statusType === 'closed'), r.body);
  r = await gql(tok.res1, 'query { myMembershipsList { community role } mySubscriptionsList { id } unreadAlertCount { unread } }');
  check('myMembershipsList, mySubscriptionsList and unreadAlertCount for a resident',
    ok200(r) && r.body.data.myMembershipsList.some((m) => m.community === SLUG && m.role === 'resident') &&
    Array.isArray(r.body.data.mySubscriptionsList) && r.body.data.unreadAlertCount.unread === 0, r.body);
  r = await gql(tok.admin, 'query($r: String!) { incidentAuditList(reference: $r, maxCount: 100) { action requestId } }', { r: REF1 });
  check('incidentAuditList (the admin): the audit trail, with the request id of the HTTP request',
    ok200(r) && r.body.data.incidentAuditList.some((a) => a.requestId === REQ_ID), r.body);

  // ------------------------------------------------------------ real time
  await publish();
  const want = async (bearer) => {
    const x = await gql(bearer, 'query($a: BigInt!) { eventsSinceList(afterId: $a, maxCount: 1000) { id topic reference } }', { a: String(mark) });
    return ok200(x) ? x.body.data.eventsSinceList : null;
  };
  const wantResp = await want(tok.resp);
  const wantRes2 = await want(tok.res2);
  const last = (l) => (l && l.length ? l[l.length - 1].id : null);
  await until(() => subResp.events.some((e) => e.id === last(wantResp)) && subRes2.events.some((e) => e.id === last(wantRes2)), 10000);
  await sleep(500); // anything that should not come has had its chance

  check('naboomEvents: the responder receives the panic\'s panic.raised event, with its payload as a JSON object',
    subResp.events.some((e) => e.reference === PANIC && e.topic === 'panic.raised' && e.community === SLUG &&
      e.payload && typeof e.payload === 'object'), subResp.events);
  check('naboomEvents: the resident receives the public reports\' incident.created events, before and after the panic',
    subRes2.events.some((e) => e.reference === REF1 && e.topic === 'incident.created') &&
    subRes2.events.some((e) => e.reference === REF2 && e.topic === 'incident.created'), subRes2.events);
  check('naboomEvents: nothing of the panic reaches the resident, not even its reference in a frame',
    !subRes2.frames.some((f) => f.includes(PANIC)) && !subRes2.events.some((e) => /^panic\./.test(e.topic)),
    subRes2.frames);
  const ids = (l) => (l || []).map((e) => String(e.id)).join(' ');
  check('naboomEvents delivers each subscriber exactly what eventsSinceList gives them: the same ids, in order, once',
    wantResp && wantRes2 && wantResp.length > wantRes2.length && ids(subResp.events) === ids(wantResp) && ids(subRes2.events) === ids(wantRes2),
    { responder: { got: ids(subResp.events), want: ids(wantResp) }, resident: { got: ids(subRes2.events), want: ids(wantRes2) } });

  for (const s of [subResp, subRes2, subAnon]) if (s.ws) s.ws.close();
  await su.end();
  finish('the test stopped early');
}

main().catch((e) => {
  console.log(`# died: ${e && e.stack ? e.stack : e}`);
  finish('test/graphile.js died');
});
