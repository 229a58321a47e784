-- naboom: community incident reporting and emergency response inside PostgreSQL.
--
-- The install script naboom--<version>.sql is built by the Makefile from
-- extension/schema/*.sql, concatenated in file-name order; each file holds
-- the whole current definition of one concern:
--   00_prelude     the guard, roles, the API schema
--   01_types       enums and the C basics: references, identity, validation, errors
--   02_community   communities, areas, members, categories; the set-up API
--   03_workflow    statuses, transitions, incidents, the timeline, the workflow triggers
--   04_reporting   the reporting and workflow API (report, panic, transition, notes)
--   05_spatial     positions, alert areas, alerts, duplicates, nearest responders, maps
--   06_audit       the audit log, seals, verification, the audit trail API
--   07_events      the event stream, escalation, rate limits, SLA, pg_cron jobs
--   08_retention   retention policies, legal holds, erasure and export
--   10_lists       the lists people work from: pages, cursors, queue, feed, sync
--   99_security    pg_dump, row-level security, privileges, auditing, pinned paths
-- Released versions are frozen in extension/upgrade/ (naboom--0.1.0.sql and
-- one naboom--A--B.sql per release); test/fingerprint.sh proves that every
-- upgrade path ends with exactly the objects of a fresh install.
--
-- Tables live in schema naboom (not exposed to gateways); the API is the set
-- of functions in schema naboom_api.  The enforcement core is in C: src/.

\echo Use "CREATE EXTENSION naboom CASCADE" to load this file. \quit

------------------------------------------------------------------------------
-- Roles.  Cluster-wide, so created only if missing, and never dropped by
-- DROP EXTENSION.  A gateway's authenticator role is granted naboom_anon and
-- naboom_user; integrations and jobs use naboom_service.
------------------------------------------------------------------------------
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_anon') THEN
		CREATE ROLE naboom_anon NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_user') THEN
		CREATE ROLE naboom_user NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_service') THEN
		CREATE ROLE naboom_service NOLOGIN;
	END IF;
END
$roles$;

CREATE SCHEMA naboom_api;

COMMENT ON SCHEMA naboom_api IS 'naboom''s API: the functions a gateway (PostgREST, PostGraphile) exposes';

