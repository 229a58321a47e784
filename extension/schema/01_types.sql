------------------------------------------------------------------------------
-- Types and the C basics every other file uses: incident references
-- (src/reference.c), the caller's identity from the gateway's JWT claims
-- (src/identity.c), input validation (src/validate.c) and naboom.fail, the
-- one place SQL raises a naboom error with its stable key.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------------
CREATE TYPE naboom.member_role AS ENUM ('resident', 'verified', 'responder', 'moderator', 'admin');

COMMENT ON TYPE naboom.member_role IS 'Role of a member in a community, in rank order';

CREATE TYPE naboom.priority AS ENUM ('low', 'medium', 'high', 'critical');

COMMENT ON TYPE naboom.priority IS 'Incident priority, in rank order';

CREATE TYPE naboom.incident_kind AS ENUM ('report', 'panic');

COMMENT ON TYPE naboom.incident_kind IS 'report: filed by a resident; panic: an SOS that escalates until acknowledged';

CREATE TYPE naboom.status_type AS ENUM ('open', 'fixed', 'closed');

COMMENT ON TYPE naboom.status_type IS 'Open311 status type: whether an incident is still live';

CREATE TYPE naboom.actor_rule AS ENUM ('verifier', 'self_assign', 'assignee', 'reporter', 'reporter_reopen', 'service', 'authority');

COMMENT ON TYPE naboom.actor_rule IS 'Who, besides moderators and admins, may make a transition. authority: an authority''s update (authority_update) may move the incident along it';

------------------------------------------------------------------------------
-- C functions
------------------------------------------------------------------------------
CREATE FUNCTION naboom.new_reference() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_new_reference'
	LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.new_reference() IS
	'A fresh random incident reference such as NB-7K3Q-9XW9 (35 random bits and a GF(32) check symbol)';

CREATE FUNCTION naboom.reference_valid(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_reference_valid'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.reference_valid(text) IS
	'True if the text is a valid incident reference, read leniently (any case, I/L as 1, O as 0, hyphens and spaces ignored, NB prefix optional)';

CREATE FUNCTION naboom.normalize_reference(text) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_normalize_reference'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.normalize_reference(text) IS
	'The canonical form NB-XXXX-XXXX of a leniently typed incident reference, or NULL if it is not valid';

CREATE FUNCTION naboom.current_actor() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_current_actor'
	LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.current_actor() IS
	'The caller''s user_ref: the sub claim of request.jwt.claims (PostgREST) or jwt.claims.sub (PostGraphile); NULL without claims';

CREATE FUNCTION naboom.require_actor() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_require_actor'
	LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.require_actor() IS
	'The caller''s user_ref, or NULL for the naboom service; raises naboom.missing_identity for anyone else';

CREATE FUNCTION naboom.is_service() RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_is_service'
	LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.is_service() IS
	'True when the caller acts as the naboom service: no JWT subject, and naboom_service privileges or superuser';

CREATE FUNCTION naboom.check_point(lat double precision, lon double precision) RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_check_point'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_point(double precision, double precision) IS
	'Raises naboom.invalid_coordinates unless lat/lon are finite WGS84 degrees';

CREATE FUNCTION naboom.clean_text(field text, value text, required boolean, max_chars integer) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_clean_text'
	LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.clean_text(text, text, boolean, integer) IS
	'Trimmed text, NULL when empty and optional; raises naboom.text_required, naboom.text_too_long or naboom.invalid_text. max_chars NULL means the naboom.max_text_length setting';

------------------------------------------------------------------------------
-- Refusals that matter are audited (naboom.fail is the one place the SQL
-- functions raise naboom errors; the C code does the same in its macro)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.fail(state text, key text, message text, detail text, hint text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF state IN ('42501', '28000') OR key IN ('naboom.invalid_transition', 'naboom.unknown_reference') THEN
		PERFORM naboom.audit_refusal(state, key, coalesce(message, key));
	END IF;
	RAISE EXCEPTION USING ERRCODE = state, MESSAGE = coalesce(message, key),
		DETAIL = key || ': ' || coalesce(detail, ''), HINT = coalesce(hint, '');
END
$$;

COMMENT ON FUNCTION naboom.fail(text, text, text, text, text) IS
	'Raise a naboom error: SQLSTATE, message, DETAIL starting with the stable key, HINT';

CREATE FUNCTION naboom.check_count(name text, value integer, max_value integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF value IS NULL OR value < 1 OR value > max_value THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count',
			format('%s must be between 1 and %s', name, max_value),
			format('It is %s.', coalesce(value::text, 'NULL')), format('Use a value from 1 to %s.', max_value));
	END IF;
	RETURN value;
END
$$;

COMMENT ON FUNCTION naboom.check_count(text, integer, integer) IS 'value if it is between 1 and max_value, else naboom.invalid_count (22023)';

CREATE FUNCTION naboom.check_accuracy(accuracy_m double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF accuracy_m IS NOT NULL AND (accuracy_m = 'NaN' OR accuracy_m < 0 OR accuracy_m > 100000) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_accuracy', 'accuracy_m must be between 0 and 100000 metres',
			format('It is %s.', accuracy_m), 'Send the device''s reported accuracy in metres, or leave it out.');
	END IF;
	RETURN accuracy_m;
END
$$;

COMMENT ON FUNCTION naboom.check_accuracy(double precision) IS 'accuracy_m if it is NULL or 0..100000 metres, else naboom.invalid_accuracy (22023)';

CREATE FUNCTION naboom.check_priority(priority text) RETURNS naboom.priority
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF priority IS NULL OR priority NOT IN ('low', 'medium', 'high', 'critical') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_priority', format('unknown priority "%s"', left(priority, 40)),
			'Priorities are low, medium, high and critical.', 'Pick one of those.');
	END IF;
	RETURN priority::naboom.priority;
END
$$;

COMMENT ON FUNCTION naboom.check_priority(text) IS 'The priority named, else naboom.invalid_priority (22023)';

