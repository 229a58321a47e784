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
-- The writer may be publishing events or writing entries right now.  DROP
-- EXTENSION locks naboom's objects one by one, and could deadlock with it;
-- locking the tables the writer uses first, in one statement, makes the
-- drop wait for the writer's transaction instead.
SELECT to_regclass('naboom.event') IS NOT NULL AS fresh_installed \gset
BEGIN;
\if :fresh_installed
LOCK TABLE naboom.audit_log, naboom.event, naboom.member, naboom.incident, naboom.community IN ACCESS EXCLUSIVE MODE;
\endif
DROP EXTENSION IF EXISTS naboom CASCADE;
COMMIT;
\unset fresh_installed
CREATE EXTENSION naboom CASCADE;
RESET client_min_messages;
