-- pgTAP: forwarding to authorities (0.7.0, issue 16) as a gateway and as the
-- integrator call it: members through a login-less role in naboom_user,
-- the worker as naboom_service without claims, both under an EMPTY
-- search_path.  An admin sets up SAPS and a rule; a report is forwarded in
-- its own transaction; moderators see the forwardings, residents neither
-- them nor the outbox; the service claims, delivers and records SAPS's
-- update once; members cannot call the delivery API, and the service with a
-- person's claims is refused with its key.
BEGIN;
SELECT tap.plan(16);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_fw_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

SELECT pg_temp.tap_community('tap-fw', 'Tap Forwarding', 'fw-admin', 'FW Admin') AS fw \gset

SET LOCAL ROLE tap_fw_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-fw', 'fw-res', 'FW Resident');
	PERFORM pg_temp.tap_join('tap-fw', 'fw-mod', 'FW Moderator', 'moderator', 'fw-admin');
	PERFORM pg_temp.tap_category('tap-fw', 'fw-admin', 'stock_theft', 'Stock theft', 'Veediefstal', 'high');
END
$fixtures$;

SELECT pg_catalog.set_config('request.jwt.claims', '{"sub": "fw-admin"}', true);
SELECT tap.is(pg_temp.message_of($$SELECT naboom_api.upsert_authority('tap-fw', 'saps', 'SAPS', 'SAPD', 'police',
	'https://saps.example.org/intake')$$), 'ok', 'an admin adds an authority');
SELECT tap.is((SELECT r.fire_on || ' ' || r.authority FROM naboom_api.upsert_forwarding_rule('tap-fw', 'stock', 'saps',
	'{stock_theft}') r), 'report saps', 'an admin adds a rule: stock theft to SAPS at report');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.upsert_authority('tap-fw', 'x', 'X', 'X', 'police', 'gopher://x')$$),
	'22023 naboom.invalid_endpoint', 'a bad endpoint is refused with its key');

SELECT pg_catalog.set_config('request.jwt.claims', '{"sub": "fw-res"}', true);
SELECT r.reference AS ref FROM naboom_api.report_incident('tap-fw', 'stock_theft', -24.52, 28.71, 'Cattle gone',
	is_public => false) r \gset
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.incident_forwardings(%L)', :'ref')),
	'42501 naboom.insufficient_role', 'the reporter does not see where a report was forwarded');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.forward_incident(%L, %L)', :'ref', 'saps')),
	'42501 naboom.insufficient_role', 'a resident may not forward');
SELECT tap.matches(pg_temp.message_of('SELECT count(*) FROM naboom.forwarding'), '^42501 permission denied',
	'members cannot read the outbox');
SELECT tap.matches(pg_temp.message_of($$SELECT naboom_api.claim_forwardings('saps')$$), '^42501 permission denied',
	'members may not call claim_forwardings');

SELECT pg_catalog.set_config('request.jwt.claims', '{"sub": "fw-mod"}', true);
SELECT tap.is((SELECT pg_catalog.string_agg(f.authority || ' ' || f.reason || ' ' || f.state, ',')
	FROM naboom_api.incident_forwardings(:'ref') f), 'saps report pending',
	'the private report was forwarded in its own transaction; the moderator sees it');
SELECT tap.is((SELECT f.seq FROM naboom_api.forward_incident(:'ref', 'saps', 'Tracks to the siding') f), 2,
	'a moderator forwards it again: seq 2');

-- The integrator.
RESET ROLE;
SET LOCAL ROLE naboom_service;
SET LOCAL search_path = '';
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub": "fw-mod"}', true);
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.claim_forwardings('saps')$$), '42501 naboom.service_only',
	'the service role with a person''s claims may not claim');
SELECT pg_catalog.set_config('request.jwt.claims', '', true);
SELECT c.id AS fwd, c.seq, c.payload->'incident'->>'reference' AS payload_ref, c.idempotency_key AS fwd_key
FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c \gset
SELECT tap.is(:'payload_ref' || ' #' || :seq, :'ref' || ' #1', 'the service claims the first forwarding only, with its payload');
SELECT tap.is(:'fwd_key', :'ref' || '.saps.1', 'the idempotency key names the incident, authority and seq');
SELECT tap.is((SELECT d.state || ' ' || d.external_id FROM naboom_api.forwarding_delivered(:fwd, 'CAS 7/12/2026') d),
	'delivered CAS 7/12/2026', 'delivered, with the case number');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c WHERE c.seq = 2), 1,
	'then the second is due');
SELECT tap.is((SELECT pg_catalog.string_agg(u.repeated::text, ',') FROM (
		SELECT * FROM naboom_api.authority_update('saps', 'CAS 7/12/2026', 'case_opened', 'Opened', NULL, 'u-1')
		UNION ALL
		SELECT * FROM naboom_api.authority_update('saps', 'CAS 7/12/2026', 'case_opened', 'Opened', NULL, 'u-1')) u),
	'false,true', 'an authority''s update twice is recorded once');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.authority_update('saps', 'CAS none', 'x', NULL, NULL, 'u-2')$$),
	'PT404 naboom.unknown_external_id', 'an update for an unknown case is refused with its key');

SELECT * FROM tap.finish();
ROLLBACK;
