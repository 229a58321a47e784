-- A fresh naboom (the default version) and a fresh schema t, so that a file
-- sees nothing any other file did, whatever ran before it in this database.
-- First the background writer finishes what earlier files queued (refused
-- attempts and reads), or it would write them into the new audit log.
SELECT to_regprocedure('naboom.audit_queue_wait(integer)') IS NOT NULL AS fresh_drain \gset
\if :fresh_drain
SELECT naboom.audit_queue_wait(30000) AS fresh_drained \gset
\endif
\unset fresh_drain
\unset fresh_drained
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS t CASCADE;
DROP EXTENSION IF EXISTS naboom CASCADE;
CREATE EXTENSION naboom CASCADE;
RESET client_min_messages;
