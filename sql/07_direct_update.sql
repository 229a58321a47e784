-- A direct UPDATE of naboom.incident, by any role, is held to the same rules
-- as the API: the trigger judges every row change.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

CREATE ROLE regress_ops BYPASSRLS;
GRANT USAGE ON SCHEMA naboom TO regress_ops;
GRANT SELECT, INSERT, UPDATE ON naboom.incident TO regress_ops;
GRANT SELECT ON naboom.community TO regress_ops;

SELECT t.report('u-res1', 'burglary', 'Car window smashed') AS r \gset
SELECT incident_id AS rid FROM naboom.incident WHERE reference = :'r' \gset
SET ROLE regress_ops;

-- Without claims this role is nobody.
SELECT t.as_service();
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'r'));
-- As the reporter: cannot verify their own report, cannot skip ahead.
SELECT t.as_user('u-res1');
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'r'));
-- Nobody rewrites history or identity.
SELECT t.as_user('u-mod');
SELECT t.err(format('UPDATE naboom.incident SET reference = %L WHERE reference = %L', 'NB-0000-0000', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET community_id = community_id + 1 WHERE reference = %L', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET version = 99 WHERE reference = %L', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET created_at = now() - interval %L WHERE reference = %L', '1 year', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET resolved_at = now() WHERE reference = %L', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET reporter_ref = %L WHERE reference = %L', 'u-res2', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status_note = %L WHERE reference = %L', 'sneaky', :'r'));
-- The requirements hold for a moderator too.
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'dispatched', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status = %L, assignee_ref = %L WHERE reference = %L', 'dispatched', 'u-res2', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET assignee_ref = %L WHERE reference = %L', 'u-resp1', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'rejected', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET duplicate_of = %s WHERE reference = %L', :rid, :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'nonsense', :'r'));
-- Content edits: moderators yes, residents no.
SELECT t.as_user('u-res1');
SELECT t.err(format('UPDATE naboom.incident SET priority = %L WHERE reference = %L', 'critical', :'r'));
SELECT t.as_user('u-mod');
UPDATE naboom.incident SET priority = 'critical', title = 'Car window smashed, laptop stolen' WHERE reference = :'r';
-- A legal transition made directly stamps, bumps and journals like the API.
UPDATE naboom.incident SET status = 'dispatched', assignee_ref = 'u-resp2' WHERE reference = :'r';
SELECT status, assignee_ref, version, dispatched_at IS NOT NULL, updated_by FROM naboom.incident WHERE reference = :'r';
RESET ROLE;
SELECT seq, entry_kind, from_status, to_status, actor_ref, detail FROM naboom.incident_timeline
WHERE incident_id = :rid ORDER BY seq;
SET ROLE regress_ops;
-- A forged acknowledgement.
SELECT t.err(format('UPDATE naboom.incident SET acknowledged_by = %L WHERE reference = %L', 'u-resp1', :'r'));

-- The assignee and duplicate_of change only with the transitions that need them.
SELECT t.err(format('UPDATE naboom.incident SET status = %L, assignee_ref = %L WHERE reference = %L', 'en_route', 'u-resp1', :'r'));
SELECT t.err(format('UPDATE naboom.incident SET status = %L, duplicate_of = %s WHERE reference = %L', 'en_route', :rid, :'r'));

-- Inserts: a new incident starts reported, by the caller, with a fresh reference.
SELECT t.as_user('u-res2');
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, reporter_ref)
	SELECT community_id, 'burglary', 'x', ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326), 'low', 'u-res1'
	FROM naboom.community WHERE slug = 'mookgophong'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, status)
	SELECT community_id, 'burglary', 'x', ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326), 'low', 'closed'
	FROM naboom.community WHERE slug = 'mookgophong'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, assignee_ref)
	SELECT community_id, 'burglary', 'x', ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326), 'low', 'u-resp1'
	FROM naboom.community WHERE slug = 'mookgophong'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority)
	SELECT community_id, 'burglary', 'x', ST_SetSRID(ST_MakePoint(28.41, -24.70), 4326), 'low'
	FROM naboom.community WHERE slug = 'modimolle'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority)
	VALUES (NULL, 'burglary', 'x', ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326), 'low')$$);
INSERT INTO naboom.incident (community_id, category_code, title, location, priority)
SELECT community_id, 'burglary', 'Bicycle stolen', ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326), 'low'
FROM naboom.community WHERE slug = 'mookgophong';
SELECT naboom.reference_valid(reference), status, reporter_ref, version, updated_by
FROM naboom.incident WHERE title = 'Bicycle stolen';
RESET ROLE;

-- The roles naboom creates cannot write the tables at all.
SELECT t.as_user('u-mod');
SET ROLE naboom_user;
SELECT t.err(format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'r'));
SELECT t.err('DELETE FROM naboom.incident_timeline');
RESET ROLE;
SELECT t.as_service();
REVOKE ALL ON naboom.incident, naboom.community FROM regress_ops;
REVOKE ALL ON SCHEMA naboom FROM regress_ops;
DROP ROLE regress_ops;

-- incident.status has no foreign key; a status in use cannot be removed or renamed.
SELECT t.err($$DELETE FROM naboom.status WHERE status = 'reported'$$);
SELECT t.err($$UPDATE naboom.status SET status = 'new' WHERE status = 'reported'$$);
SELECT count(*) FROM naboom.status;
