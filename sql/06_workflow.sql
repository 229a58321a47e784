-- The workflow of design.md section 3 through the API: every transition,
-- who may make it, what it needs, and every refusal.
\pset format unaligned
\pset tuples_only on

\i test/include/town.psql

-- The happy path: report, verify, self-dispatch, en route, on scene, resolve, close.
SELECT t.report('u-res1', 'burglary', 'Kitchen window forced') AS a \gset
SELECT t.as_user('u-res1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'verified'));
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'verified'));
SELECT t.step('u-ver', :'a', 'verified');
SELECT t.as_user('u-ver');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'dispatched'));
SELECT t.step('u-resp1', :'a', 'dispatched');
SELECT t.as_user('u-resp2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'en_route'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'dispatched'));
SELECT t.step('u-resp1', :'a', 'en_route');
SELECT t.step('u-resp1', :'a', 'on_scene');
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'resolved'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, %L)', :'a', 'resolved', '   '));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'closed'));
SELECT t.step('u-resp1', :'a', 'resolved', 'Suspect fled; window boarded up, SAPS case opened');
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'closed'));
SELECT t.step('u-res1', :'a', 'closed');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'a', 'verified'));
SELECT dispatched_at IS NOT NULL, en_route_at IS NOT NULL, on_scene_at IS NOT NULL,
	resolved_at IS NOT NULL, closed_at IS NOT NULL, closed_at >= resolved_at, acknowledged_at IS NULL
FROM naboom.incident WHERE reference = :'a';
SELECT t.as_user('u-res1');
SELECT string_agg(format('%s %s %s->%s by %s%s', e->>'seq', e->>'kind', coalesce(e->>'from_status', ''),
	coalesce(e->>'to_status', ''), e->>'actor_name', coalesce(' "' || (e->>'note') || '"', '')), E'\n')
FROM naboom_api.get_incident(:'a'), jsonb_array_elements(timeline) e;

-- Moderators may make every listed transition; assign_incident dispatches.
SELECT t.report('u-res2', 'water_leak', 'Hydrant leaking') AS b \gset
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.assign_incident(%L, %L)', :'b', 'u-res1'));
SELECT t.err(format('SELECT naboom_api.assign_incident(%L, %L)', :'b', 'u-nobody'));
SELECT status, assignee, assignee_name FROM naboom_api.assign_incident(:'b', 'u-resp2');
SELECT t.err(format('SELECT naboom_api.assign_incident(%L, %L)', :'b', 'u-resp2'));
SELECT status, assignee FROM naboom_api.assign_incident(:'b', 'u-resp1');
-- A responder may not re-assign, nor assign someone else.
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.assign_incident(%L, %L)', :'b', 'u-resp2'));
SELECT t.step('u-mod', :'b', 'on_scene');
SELECT t.step('u-mod', :'b', 'resolved', 'Municipality fixed the valve');
-- Reopen: the reporter, within the window, with a note.
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'b', 'verified'));
SELECT t.step('u-res2', :'b', 'verified', 'Still leaking this morning');
SELECT resolved_at IS NULL, closed_at IS NULL FROM naboom.incident WHERE reference = :'b';
SELECT t.step('u-mod', :'b', 'resolved', 'Valve replaced');
UPDATE naboom.community SET reopen_window = '0' WHERE slug = 'mookgophong';
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, %L)', :'b', 'verified', 'again'));
UPDATE naboom.community SET reopen_window = '7 days' WHERE slug = 'mookgophong';
-- A note repeated word for word is still a note.
SELECT t.step('u-res2', :'b', 'verified', 'Valve replaced');

-- Reject (note required), cancel (the reporter, before dispatch).
SELECT t.report('u-res2', 'burglary', 'My neighbour looked at me') AS c \gset
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'c', 'rejected'));
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, %L)', :'c', 'rejected', 'not a crime'));
SELECT t.step('u-mod', :'c', 'rejected', 'Not a crime; please use the community WhatsApp group');
SELECT t.report('u-res2', 'burglary', 'Garage open, nothing taken') AS d \gset
SELECT t.as_user('u-res1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'d', 'cancelled'));
SELECT t.step('u-res2', :'d', 'cancelled');
SELECT t.report('u-res2', 'burglary', 'Gate left open') AS e \gset
SELECT t.step('u-resp2', :'e', 'dispatched');
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'e', 'cancelled'));

-- Duplicates: another live incident of the same community, not itself, no cycles.
SELECT t.report('u-res1', 'stock_theft', 'Cattle missing at Nylsvley') AS f \gset
SELECT t.report('u-res2', 'stock_theft', 'Cows walking on the R101') AS g \gset
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'g', 'duplicate'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, duplicate_of => %L)', :'g', 'duplicate', :'g'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, duplicate_of => %L)', :'g', 'duplicate', :'a'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, duplicate_of => %L)', :'g', 'duplicate', 'NB-0000-0000'));
SELECT status, duplicate_of = :'f' FROM naboom_api.transition_incident(:'g', 'duplicate', duplicate_of => :'f');
SELECT string_agg(e->>'kind' || coalesce(' ' || (e->'detail'->>'merged' = :'g')::text, ''), ', ')
FROM naboom_api.get_incident(:'f'), jsonb_array_elements(timeline) e;
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, duplicate_of => %L)', :'f', 'duplicate', :'c'));
-- A cycle needs a reopened duplicate; allow that for the test only.
SELECT t.as_service();
INSERT INTO naboom.transition (from_status, to_status) VALUES ('duplicate', 'verified');
SELECT t.step('u-mod', :'g', 'verified');
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, duplicate_of => %L)', :'f', 'duplicate', :'g'));
SELECT t.step('u-mod', :'g', 'duplicate') || ' of f: ' || (duplicate_of = :'f')::text
FROM naboom_api.get_incident(:'g');
SELECT t.as_service();
DELETE FROM naboom.transition WHERE from_status = 'duplicate';
-- Every backend's cache noticed the delete at commit.
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'g', 'verified'));

-- The workflow is data: a transition added by an admin takes effect at once.
SELECT t.report('u-res1', 'water_leak', 'Drip') AS h \gset
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'h', 'closed'));
INSERT INTO naboom.transition (from_status, to_status, allowed) VALUES ('reported', 'closed', '{reporter}');
SELECT t.step('u-res1', :'h', 'closed');
DELETE FROM naboom.transition WHERE from_status = 'reported' AND to_status = 'closed';

-- Acknowledgement: responders, once, while live; it stops escalation.
SELECT t.as_user('u-res1');
SELECT reference AS p FROM naboom_api.raise_panic('mookgophong', -24.61, 28.63, note => 'Shots fired') \gset
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.acknowledge_incident(%L)', :'p'));
SELECT t.as_user('u-resp2');
SELECT acknowledged_by_name, acknowledged_at IS NOT NULL, status FROM naboom_api.acknowledge_incident(:'p');
SELECT next_escalation_at IS NULL FROM naboom.incident WHERE reference = :'p';
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.acknowledge_incident(%L)', :'p'));
SELECT t.err(format('SELECT naboom_api.acknowledge_incident(%L)', :'a'));
SELECT t.as_service();
SELECT t.err(format('SELECT naboom_api.acknowledge_incident(%L)', :'e'));

-- Notes: reporter (public only), responders and moderators (internal by default).
SELECT t.as_user('u-res1');
SELECT seq, kind, note, is_public, actor_name, current_setting('response.status', true) AS http
FROM naboom_api.add_note(:'p', 'They left towards the dam');
SELECT t.err(format('SELECT naboom_api.add_note(%L, %L, false)', :'p', 'secret'));
SELECT t.as_user('u-resp1');
SELECT kind, is_public FROM naboom_api.add_note(:'p', 'Armed; approach from the north');
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.add_note(%L, %L)', :'a', 'me too'));
SELECT t.err(format('SELECT naboom_api.add_note(%L, %L)', :'p', 'me too'));
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.add_note(%L, %L)', :'p', ''));
SELECT t.as_user('u-other');
SELECT t.err(format('SELECT naboom_api.add_note(%L, %L)', :'a', 'hello'));

-- Optimistic concurrency.
SELECT t.report('u-res1', 'burglary', 'Shed door') AS v \gset
SELECT t.as_user('u-ver');
SELECT status, version FROM naboom_api.transition_incident(:'v', 'verified', expected_version => 1);
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, expected_version => 1)', :'v', 'dispatched'));
SELECT status, version FROM naboom_api.transition_incident(:'v', 'dispatched', expected_version => 2);
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'v', 'dispatched'));

-- References and statuses that do not exist.
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'v', 'teleported'));
SELECT t.err($$SELECT naboom_api.transition_incident('NB-7K3Q-9XW2', 'verified')$$);
SELECT t.err($$SELECT naboom_api.transition_incident('hello', 'verified')$$);
SELECT t.err($$SELECT naboom_api.get_incident('NB-0000-0000')$$);
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', repeat('x', 100000), 'verified'));
-- References are read leniently: lower case, no hyphens, O for 0.
SELECT status FROM naboom_api.get_incident(lower(replace(:'v', '-', '')));
-- A private incident of Mookgophong does not exist for a member of Modimolle.
SELECT t.as_user('u-other');
SELECT t.err(format('SELECT naboom_api.get_incident(%L)', :'p'));
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'p', 'cancelled'));
-- A public one is visible, but they cannot act on it.
SELECT status, reporter_name IS NULL FROM naboom_api.get_incident(:'v');
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L)', :'v', 'cancelled'));
