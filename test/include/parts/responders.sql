-- Four responders of mookgophong as sql/08_spatial.sql leaves them, so that
-- reports near the town centre alert someone and escalation has rings:
--   s-r1 on duty at (-24.5245, 28.71), 8 m accuracy; s-r2 on duty at
--   (-24.52, 28.73); s-r3 on duty at (-24.53, 28.71); s-r4's position is
--   11 minutes old (stale).
-- Needs parts/town.sql.  Ends as the service (no claims).
\o /dev/null
SELECT t.as_user('s-r1');   SELECT naboom_api.join_community('mookgophong', 'Responder One');
SELECT t.as_user('s-r2');   SELECT naboom_api.join_community('mookgophong', 'Responder Two');
SELECT t.as_user('s-r3');   SELECT naboom_api.join_community('mookgophong', 'Responder Three');
SELECT t.as_user('s-r4');   SELECT naboom_api.join_community('mookgophong', 'Responder Four');
SELECT t.as_user('u-admin');
SELECT naboom_api.set_member_role('mookgophong', 's-r1', 'responder');
SELECT naboom_api.set_member_role('mookgophong', 's-r2', 'responder');
SELECT naboom_api.set_member_role('mookgophong', 's-r3', 'responder');
SELECT naboom_api.set_member_role('mookgophong', 's-r4', 'responder');
SELECT t.as_user('s-r1');   SELECT naboom_api.update_position(-24.5245, 28.71, true, 8);
SELECT t.as_user('s-r2');   SELECT naboom_api.update_position(-24.52, 28.73);
SELECT t.as_user('s-r3');   SELECT naboom_api.update_position(-24.53, 28.71);
SELECT t.as_user('s-r4');   SELECT naboom_api.update_position(-24.52, 28.713);
SELECT t.as_service();
UPDATE naboom.responder_position SET reported_at = now() - interval '11 minutes' WHERE user_ref = 's-r4';
\o
