-- @@ from naboom--0.1.0.sql
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

-- @@ from naboom--0.1.0.sql
CREATE SCHEMA naboom_api;

-- @@ from naboom--0.1.0.sql
COMMENT ON SCHEMA naboom_api IS 'naboom''s API: the functions a gateway (PostgREST, PostGraphile) exposes';

