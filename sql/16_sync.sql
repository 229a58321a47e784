-- Offline sync (0.7.0): naboom_api.incident_changes.  Every incident the
-- caller may see that changed after a cursor, each once at its latest
-- version, in stream (commit) order; tombstones for incidents made private;
-- a sync from scratch when retention has deleted events; expired cursors.
\pset format unaligned
\pset tuples_only on
\i test/include/responders.psql

-- Incidents by label (references are random); a sync page as text.
CREATE TABLE t.lbl (ref text PRIMARY KEY, label text UNIQUE);
CREATE TABLE t.cur (name text PRIMARY KEY, cursor text);
CREATE FUNCTION t.rep(who text, label text, cat text DEFAULT 'burglary', is_public boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM t.as_user(who);
	INSERT INTO t.lbl SELECT r.reference, label
	FROM naboom_api.report_incident('mookgophong', cat, -24.52, 28.71, 'sync test ' || label,
		title => label, is_public => is_public) r;
END
$$;
CREATE FUNCTION t.ref(label text) RETURNS text LANGUAGE sql AS $$
	SELECT l.ref FROM t.lbl l WHERE l.label = ref.label
$$;
-- One page as one line per row; the last row's cursor is kept under name.
CREATE FUNCTION t.sync(name text, after text, max_count integer DEFAULT NULL) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	last text;
BEGIN
	-- (naboom_anon may not wait: the caller waits before SET ROLE.)
	IF has_function_privilege('naboom.events_wait(integer)', 'execute') THEN
		IF NOT naboom.events_wait(20000) THEN
			RAISE EXCEPTION 'events were not published';
		END IF;
	END IF;
	FOR r IN SELECT * FROM naboom_api.incident_changes(after, max_count) LOOP
		RETURN NEXT concat_ws(' ', coalesce((SELECT l.label FROM t.lbl l WHERE l.ref = r.reference), t.mask(r.reference)),
			CASE WHEN r.removed THEN 'removed' ELSE format('v%s %s %s', r.version, r.status,
				CASE WHEN r.is_public THEN 'public' ELSE 'private' END) END,
			CASE WHEN r.changed_at IS NULL THEN 'no changed_at' END);
		last := r.cursor;
	END LOOP;
	IF name IS NOT NULL THEN
		INSERT INTO t.cur AS c VALUES (sync.name, last) ON CONFLICT ON CONSTRAINT cur_pkey DO UPDATE SET cursor = excluded.cursor;
	END IF;
END
$$;
CREATE FUNCTION t.cur(name text) RETURNS text LANGUAGE sql AS $$
	SELECT c.cursor FROM t.cur c WHERE c.name = cur.name
$$;
GRANT SELECT ON t.lbl, t.cur TO PUBLIC;
-- Page through everything after a cursor, max_count rows at a time.
CREATE FUNCTION t.sync_all(after text, max_count integer) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	c text := after;
	pages integer := 0;
BEGIN
	PERFORM naboom.events_wait(20000);
	LOOP
		pages := pages + 1;
		FOR r IN SELECT * FROM naboom_api.incident_changes(c, max_count) LOOP
			RETURN NEXT coalesce((SELECT l.label FROM t.lbl l WHERE l.ref = r.reference), r.reference)
				|| CASE WHEN r.removed THEN ' removed' ELSE ' v' || r.version END;
			c := r.cursor;
		END LOOP;
		EXIT WHEN NOT FOUND OR pages > 1000;
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- A sync from scratch, then what changed: each incident once, at its
-- latest version, in the order the changes committed
------------------------------------------------------------------------------
SELECT t.rep('u-res1', 'zero');
SELECT t.as_service();
-- From scratch: the service sees every incident; 'start' is the cursor
-- of the last row.
SELECT t.sync('start', NULL, 500);
SELECT t.rep('u-res1', 'alpha');
SELECT t.rep('u-res2', 'bravo');
SELECT t.rep('u-res1', 'charlie');
SELECT t.step('u-mod', t.ref('alpha'), 'verified');
SELECT t.step('u-mod', t.ref('alpha'), 'dispatched') IS NULL;
SELECT t.as_user('u-mod');
SELECT status FROM naboom_api.assign_incident(t.ref('alpha'), 'u-resp1');
SELECT t.as_service();
-- bravo, charlie, then alpha (changed last), alpha once at version 3.
SELECT t.sync('s1', t.cur('start'));
-- Nothing changed since: an empty page.
SELECT count(*) FROM naboom_api.incident_changes(t.cur('s1'));
-- The cursor round trip: one row a page gives the same rows in the same order.
SELECT string_agg(x, ', ') FROM t.sync_all(t.cur('start'), 1) x;
SELECT string_agg(x, ', ') FROM t.sync_all(t.cur('start'), 2) x;
-- A change to bravo moves it to the end.
SELECT t.step('u-ver', t.ref('bravo'), 'verified');
SELECT t.as_service();
SELECT t.sync('s2', t.cur('s1'));
SELECT t.sync(NULL, t.cur('start'));

------------------------------------------------------------------------------
-- Every change is on the stream: a moderator's edit of the content, and of
-- is_public, is announced as incident.updated with the version
------------------------------------------------------------------------------
SELECT t.as_user('u-mod');
UPDATE naboom.incident SET title = 'charlie (edited)', description = 'edited' WHERE reference = t.ref('charlie');
SELECT t.as_service();
SELECT naboom.events_wait(20000);
SELECT e.topic, e.payload, e.is_public FROM naboom.event e
	JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
	WHERE i.reference = t.ref('charlie') ORDER BY e.seq DESC LIMIT 1;
SELECT t.sync('s3', t.cur('s2'));
SELECT title FROM naboom_api.incident_changes(t.cur('s2'));

-- Members see what get_incident shows them; a resident of another
-- community and the public see public incidents only.
SELECT t.rep('u-res1', 'delta-private', 'burglary', false);
SELECT t.as_user('u-res2');
SELECT t.sync(NULL, t.cur('s3'));
SELECT t.as_user('u-res1');
SELECT t.sync(NULL, t.cur('s3'));
SELECT t.as_user('u-resp1');
SELECT t.sync(NULL, t.cur('s3'));
SELECT t.as_user('u-other');
SELECT t.sync(NULL, t.cur('s2'));
SELECT naboom.events_wait(20000);
SELECT set_config('request.jwt.claims', '{"role":"naboom_anon"}', false);
SET ROLE naboom_anon;
SELECT t.sync(NULL, t.cur('s2'));
RESET ROLE;

-- bravo made private: whoever could see it and no longer may gets a
-- tombstone; the event that announces it is public.
SELECT t.as_user('u-mod');
UPDATE naboom.incident SET is_public = false WHERE reference = t.ref('bravo');
SELECT t.as_service();
SELECT naboom.events_wait(20000);
SELECT e.topic, e.payload, e.is_public FROM naboom.event e
	JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
	WHERE i.reference = t.ref('bravo') ORDER BY e.seq DESC LIMIT 1;
SELECT t.sync('s4', t.cur('s3'));
SELECT t.as_user('u-res1');
SELECT t.sync(NULL, t.cur('s3'));
SELECT t.as_user('u-res2');
SELECT t.sync(NULL, t.cur('s3'));
SELECT t.as_user('u-other');
SELECT t.sync(NULL, t.cur('s3'));
-- A tombstone says only which incident, and when.
SELECT reference = t.ref('bravo'), community, removed, changed_at IS NOT NULL, cursor IS NOT NULL,
	num_nonnulls(category, title, description, lat, lon, status, version, is_public, reporter_name)
	FROM naboom_api.incident_changes(t.cur('s3'));
-- A private incident never public gives no tombstone: delta changes and
-- the public learns nothing of it.
SELECT t.step('u-mod', t.ref('delta-private'), 'verified');
SELECT naboom.events_wait(20000);
SELECT set_config('request.jwt.claims', '{"role":"naboom_anon"}', false);
SET ROLE naboom_anon;
SELECT t.sync(NULL, t.cur('s4'));
RESET ROLE;
SELECT t.as_user('u-res1');
SELECT t.sync(NULL, t.cur('s4'));

-- The rows are get_incident's view (blurring of sensitive locations, the
-- reporter hidden from the public).
SELECT t.rep('u-res2', 'echo-gbv', 'gbv');
SELECT naboom.events_wait(20000);
SELECT t.as_user('u-res1');
SELECT c.location_blurred, c.reporter_name, g.location_blurred, g.reporter_name,
	(c.lat, c.lon) = (g.lat, g.lon)
	FROM naboom_api.incident_changes(t.cur('s4')) c, naboom_api.get_incident(c.reference) g
	WHERE c.reference = t.ref('echo-gbv');
SELECT t.as_user('u-resp1');
SELECT c.location_blurred, c.reporter_name
	FROM naboom_api.incident_changes(t.cur('s4')) c WHERE c.reference = t.ref('echo-gbv');

------------------------------------------------------------------------------
-- One community's sync (the only kind on a Citus cluster, where each
-- community's stream is numbered on its own): its incidents only, the same
-- rows in the same order as the whole sync's of that community; its cursors
-- go with it and nowhere else
------------------------------------------------------------------------------
SELECT t.as_user('u-other');
SELECT kind FROM naboom_api.raise_panic('modimolle', -24.7, 28.4, note => 'sync test in modimolle');
SELECT t.as_service();
SELECT naboom.events_wait(20000);
SELECT (SELECT string_agg(c.reference, ',' ORDER BY c.cursor) FROM naboom_api.incident_changes(NULL, 500, 'mookgophong') c)
	= (SELECT string_agg(c.reference, ',' ORDER BY c.cursor) FROM naboom_api.incident_changes(NULL, 500) c
		WHERE c.community = 'mookgophong') AS same_rows,
	(SELECT count(*) FROM naboom_api.incident_changes(NULL, 500, 'mookgophong') c WHERE c.community <> 'mookgophong') AS others;
SELECT count(*) AS modimolle, count(*) FILTER (WHERE c.community <> 'modimolle') AS others
	FROM naboom_api.incident_changes(NULL, 500, 'modimolle') c;
SELECT c.cursor AS mk_cursor FROM naboom_api.incident_changes(NULL, 1, 'mookgophong') c \gset
SELECT count(*) FROM naboom_api.incident_changes(:'mk_cursor', 500, 'mookgophong');
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L, 10, %L)', :'mk_cursor', 'modimolle'));
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)', :'mk_cursor'));
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L, 10, %L)', t.cur('s1'), 'mookgophong'));
SELECT t.err($$SELECT * FROM naboom_api.incident_changes(NULL, 10, 'atlantis')$$);

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT t.err($$SELECT * FROM naboom_api.incident_changes('not-a-cursor')$$);
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)',
	naboom.page_cursor('community_incidents', ARRAY['1', '2'])));
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)',
	naboom.page_cursor('incident_changes', ARRAY['x', '0', '1', '2', '0'])));
SELECT t.err($$SELECT * FROM naboom_api.incident_changes(NULL, 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_changes(NULL, 501)$$);

------------------------------------------------------------------------------
-- Retention deletes events: a cursor behind the deleted positions expires
-- (PT410); a sync from scratch still returns every incident, those with no
-- event left first (in key order), then the stream
------------------------------------------------------------------------------
SELECT deleted_through FROM naboom.event_horizon;
-- Delete the stream up to alpha's last change (as retention would).
DELETE FROM naboom.event e WHERE e.seq <= (SELECT max(x.seq) FROM naboom.event x
	JOIN naboom.incident i ON i.community_id = x.community_id AND i.incident_id = x.incident_id
	WHERE i.reference = t.ref('alpha'));
SELECT deleted_through = (SELECT min(seq) - 1 FROM naboom.event) FROM naboom.event_horizon;
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)', t.cur('start')));
SELECT t.as_user('u-res1');
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)', t.cur('start')));
SELECT t.as_service();
-- A cursor at or past the deleted positions still works (s1 is at
-- alpha's last change).
SELECT t.sync(NULL, t.cur('s1'));
-- From scratch: every incident the service sees, each once.
SELECT count(*) = (SELECT count(*) FROM naboom.incident), count(DISTINCT x) = count(*)
	FROM t.sync_all(NULL, 3) x;
SELECT string_agg(x, ', ') FROM t.sync_all(NULL, 3) x WHERE x ~ '^(alpha|bravo|charlie|delta|echo)';
-- A resident from scratch: what get_incident shows them, no tombstones of
-- incidents gone before the base.
SELECT t.as_user('u-res2');
SELECT string_agg(x, ', ') FROM t.sync_all(NULL, 2) x WHERE x ~ '^(alpha|bravo|charlie|delta|echo)';
-- u-res1 could see bravo while it was public: a tombstone.
SELECT t.as_user('u-res1');
SELECT string_agg(x, ', ') FROM t.sync_all(NULL, 2) x WHERE x ~ '^(alpha|bravo|charlie|delta|echo)';
-- A cursor in the base expires when retention deletes more meanwhile.
SELECT t.as_service();
SELECT count(*) FROM t.sync('base', NULL, 1);
SELECT count(*) FROM naboom_api.incident_changes(t.cur('base'), 1);
DELETE FROM naboom.event e WHERE e.seq = (SELECT min(x.seq) FROM naboom.event x);
SELECT t.err(format('SELECT * FROM naboom_api.incident_changes(%L)', t.cur('base')));
