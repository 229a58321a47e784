
------------------------------------------------------------------------------
-- Open311 GeoReport v2 (0.7.0, issue 15): the four documents FixMyStreet
-- and city apps ask for, field for field, in JSON (the default) or XML
-- (format => 'xml'), built from the same rows.  The jurisdiction is the
-- community (jurisdiction_id = its slug; optional while there is only one).
--
-- What appears: public reports of categories that are not sensitive.
-- Private reports and panics never appear, and neither do incidents of a
-- sensitive category: GeoReport documents are anonymous, and aggregators
-- copy and keep them outside naboom's retention and erasure, so a blurred
-- cell, a time and a description of a sensitive incident would stay public
-- wherever they were copied.  Those are read through get_incident and the
-- lists, where each caller sees them as naboom's visibility rules allow.
--
-- The answers are documents, not rows: each function returns the domain
-- naboom_api."*/*" over text.  That is PostgREST 12's "any" media type
-- handler: a function returning a domain named */* answers whatever the
-- Accept header asks for, with the body exactly as returned and the
-- Content-Type the function sets in response.headers.  Errors a client can
-- cause are GeoReport error documents ([{code, description}]) returned with
-- the HTTP status in response.status: a raised error would reach the client
-- as PostgREST's own {code, message, details, hint}, which no Open311 client
-- reads.  A returned error is an answer, so its transaction commits: the
-- writer (open311_post_request) catches the error in a subtransaction that
-- is rolled back first, so nothing of the refused report is kept.
------------------------------------------------------------------------------

CREATE DOMAIN naboom_api."*/*" AS text;

COMMENT ON DOMAIN naboom_api."*/*" IS
	E'@name Open311Document\nAn Open311 GeoReport v2 document (JSON or XML text). Named */* so that PostgREST 12 serves it as its "any" media type handler: the body as it is, with the Content-Type the function sets in response.headers';

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------
CREATE FUNCTION naboom.open311_time(ts timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT pg_catalog.to_char(l.local, 'YYYY-MM-DD"T"HH24:MI:SS')
		|| CASE WHEN o.off < interval '0' THEN '-' ELSE '+' END
		|| pg_catalog.to_char(CASE WHEN o.off < interval '0' THEN -o.off ELSE o.off END, 'HH24:MI')
	FROM (SELECT ts AT TIME ZONE tz AS local) l
	CROSS JOIN LATERAL (SELECT l.local - (ts AT TIME ZONE 'UTC') AS off) o
$$;

COMMENT ON FUNCTION naboom.open311_time(timestamptz, text) IS
	'A time as GeoReport v2 writes it (W3C, e.g. 2026-12-05T14:02:11+02:00) in the community''s time zone; NULL for NULL';

CREATE FUNCTION naboom.open311_format(format text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	accept text;
BEGIN
	IF format IS NULL THEN
		-- the gateway's request: XML if its Accept header asks for XML and
		-- not JSON (the README's nginx sets Accept: text/xml for .xml)
		BEGIN
			accept := lower(nullif(current_setting('request.headers', true), '')::json->>'accept');
		EXCEPTION WHEN invalid_text_representation THEN
			accept := NULL;
		END;
		RETURN CASE WHEN accept ~ 'xml' AND accept !~ 'json' THEN 'xml' ELSE 'json' END;
	END IF;
	IF lower(format) IN ('json', 'xml') THEN
		RETURN lower(format);
	END IF;
	PERFORM naboom.fail('22023', 'naboom.invalid_format', pg_catalog.format('unknown format "%s"', left(format, 20)),
		'GeoReport v2 documents are JSON or XML.', 'Use format json or xml (the path''s .json or .xml).');
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.open311_format(text) IS
	'json or xml; without one, xml when the request''s Accept header (request.headers) asks for XML and not JSON, else json; naboom.invalid_format (22023) otherwise';

CREATE FUNCTION naboom.open311_jurisdiction(jurisdiction_id text) RETURNS naboom.community
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c naboom.community;
BEGIN
	IF jurisdiction_id IS NOT NULL THEN
		RETURN naboom.community_by_slug(jurisdiction_id);
	END IF;
	SELECT * INTO c FROM naboom.community x ORDER BY x.community_id LIMIT 1;
	IF NOT FOUND OR EXISTS (SELECT 1 FROM naboom.community x WHERE x.community_id <> c.community_id) THEN
		PERFORM naboom.fail('22023', 'naboom.jurisdiction_required', 'jurisdiction_id is required',
			'This server serves several communities (or none); the jurisdiction is the community.',
			'Pass jurisdiction_id, the community''s slug, e.g. mookgophong.');
	END IF;
	RETURN c;
END
$$;

COMMENT ON FUNCTION naboom.open311_jurisdiction(text) IS
	'The community a GeoReport jurisdiction_id names (its slug); without one, the only community. naboom.unknown_community (PT404), naboom.jurisdiction_required (22023)';

CREATE FUNCTION naboom.open311_date(name text, value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
	t timestamptz;
BEGIN
	IF value IS NULL OR btrim(value) = '' THEN
		RETURN NULL;
	END IF;
	BEGIN
		t := value::timestamptz;
	EXCEPTION WHEN data_exception THEN
		t := NULL;
	END;
	IF t IS NULL OR NOT pg_catalog.isfinite(t) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_time', pg_catalog.format('%s is not a date and time', name),
			pg_catalog.format('"%s" is not a W3C date and time.', left(value, 40)),
			'Write it as GeoReport v2 does, e.g. 2026-12-05T14:00:00+02:00.');
	END IF;
	RETURN t;
END
$$;

COMMENT ON FUNCTION naboom.open311_date(text, text) IS
	'A GeoReport start_date or end_date read as timestamptz; NULL when empty; naboom.invalid_time (22023) otherwise';

-- The status of a GeoReport error: as PostgREST maps the SQLSTATE (PTxyz ->
-- xyz, 42501 -> 403, or 401 without a token, the rest -> 400); NULL for an
-- error no user causes, which is raised again.
CREATE FUNCTION naboom.open311_status(state text) RETURNS integer
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN state ~ '^PT[1-5][0-9][0-9]$' THEN substr(state, 3)::integer
		WHEN state = '42501' THEN CASE WHEN current_setting('role') = 'naboom_anon' THEN 401 ELSE 403 END
		WHEN state ~ '^(22|28)' OR state IN ('23502', '23503') THEN CASE WHEN state ~ '^28' THEN 403 ELSE 400 END
	END
$$;

COMMENT ON FUNCTION naboom.open311_status(text) IS
	'The HTTP status of a GeoReport error document for a naboom error''s SQLSTATE (as PostgREST maps it); NULL for errors no user causes';

CREATE FUNCTION naboom.open311_document(doc jsonb, root text, fmt text) RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE AS $$
DECLARE
	x xml;
BEGIN
	IF fmt IS DISTINCT FROM 'xml' THEN
		PERFORM set_config('response.headers', '[{"Content-Type": "application/json; charset=utf-8"}]', true);
		RETURN doc::text;
	END IF;
	PERFORM set_config('response.headers', '[{"Content-Type": "text/xml; charset=utf-8"}]', true);
	IF root = 'services' THEN
		SELECT xmlelement(name services, xmlagg(xmlelement(name service,
				xmlelement(name service_code, d->>'service_code'),
				xmlelement(name service_name, d->>'service_name'),
				xmlelement(name description, d->>'description'),
				xmlelement(name metadata, d->>'metadata'),
				xmlelement(name type, d->>'type'),
				xmlelement(name keywords, d->>'keywords'),
				xmlelement(name "group", d->>'group')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSIF root = 'service_requests' THEN
		SELECT xmlelement(name service_requests, xmlagg(xmlelement(name request,
				xmlelement(name service_request_id, d->>'service_request_id'),
				xmlelement(name status, d->>'status'),
				xmlelement(name status_notes, d->>'status_notes'),
				xmlelement(name service_name, d->>'service_name'),
				xmlelement(name service_code, d->>'service_code'),
				xmlelement(name description, d->>'description'),
				xmlelement(name agency_responsible, d->>'agency_responsible'),
				xmlelement(name requested_datetime, d->>'requested_datetime'),
				xmlelement(name updated_datetime, d->>'updated_datetime'),
				xmlelement(name expected_datetime, d->>'expected_datetime'),
				xmlelement(name address, d->>'address'),
				xmlelement(name lat, d->>'lat'),
				xmlelement(name long, d->>'long'),
				xmlelement(name media_url, d->>'media_url')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSIF root = 'posted' THEN
		SELECT xmlelement(name service_requests, xmlagg(xmlelement(name request,
				xmlelement(name service_request_id, d->>'service_request_id'),
				xmlelement(name service_notice, d->>'service_notice'),
				xmlelement(name account_id, d->>'account_id')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSE
		SELECT xmlelement(name errors, xmlagg(xmlelement(name error,
				xmlelement(name code, d->>'code'),
				xmlelement(name description, d->>'description')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	END IF;
	-- an empty list is an empty root element, not nothing
	RETURN '<?xml version="1.0" encoding="utf-8"?>' || E'\n'
		|| coalesce(x::text, '<' || CASE root WHEN 'posted' THEN 'service_requests' ELSE root END || '/>');
END
$$;

COMMENT ON FUNCTION naboom.open311_document(jsonb, text, text) IS
	'A GeoReport v2 document from its JSON form (an array of objects): the JSON itself, or the XML the specification gives for root services, service_requests, posted (a POST''s answer) or errors; sets the Content-Type in response.headers';

-- A naboom error as a GeoReport error document with its HTTP status; an
-- error no user causes is raised again by the caller (status NULL).
CREATE FUNCTION naboom.open311_error(fmt text, status integer, message text, detail text, hint text)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM set_config('response.status', status::text, true);
	RETURN naboom.open311_document(jsonb_build_array(jsonb_build_object(
		'code', status,
		'description', message
			|| coalesce(' (' || substring(detail FROM '^(naboom\.[a-z_]+):') || ')', '')
			|| coalesce('. ' || nullif(hint, ''), ''))), 'errors', fmt);
END
$$;

COMMENT ON FUNCTION naboom.open311_error(text, integer, text, text, text) IS
	'A GeoReport v2 error document [{code, description}] (description: the message, the naboom key, the hint) with its HTTP status in response.status';

-- One service request as GeoReport v2 shows it.  Only for incidents that
-- appear (naboom.open311_visible): public, reports, not sensitive.  Callers
-- pass rows as ROW(x.*)::type, never a table's whole-row reference: on a
-- cluster Citus sends the query to the community's worker, where a
-- whole-row reference is the shard's row type, which no function takes.
CREATE FUNCTION naboom.open311_request_json(i naboom.incident, c naboom.community, cat naboom.category,
	st naboom.status) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'service_request_id', i.reference,
		'status', CASE WHEN st.status_type = 'open' THEN 'open' ELSE 'closed' END,
		'status_notes', i.status_note,
		'service_name', cat.name_en,
		'service_code', cat.code,
		'description', coalesce(i.description, i.title),
		'agency_responsible', c.name,
		'requested_datetime', naboom.open311_time(i.created_at, c.time_zone),
		'updated_datetime', naboom.open311_time(i.updated_at, c.time_zone),
		'expected_datetime', CASE WHEN st.status_type = 'open'
			THEN naboom.open311_time(i.created_at + cat.resolve_target, c.time_zone) END,
		'address', i.address,
		'lat', ST_Y(i.location),
		'long', ST_X(i.location),
		'media_url', NULL)
$$;

COMMENT ON FUNCTION naboom.open311_request_json(naboom.incident, naboom.community, naboom.category, naboom.status) IS
	'A service request as GeoReport v2 shows it: reference, open/closed from the status type, notes, service, description, the community as agency, times in the community''s zone, expected = created + the category''s resolve target while open, address, lat, long';

CREATE FUNCTION naboom.open311_visible(is_public boolean, kind naboom.incident_kind, is_sensitive boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT is_public AND kind = 'report' AND NOT is_sensitive
$$;

COMMENT ON FUNCTION naboom.open311_visible(boolean, naboom.incident_kind, boolean) IS
	'Does an incident appear in GeoReport documents: public reports of categories that are not sensitive (never private ones, panics, or sensitive categories)';

------------------------------------------------------------------------------
-- The API
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.open311_services(jurisdiction_id text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	doc jsonb;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'service_code', cat.code,
			'service_name', cat.name_en,
			'description', cat.name_en || ' (' || cat.name_af || ')'
				|| CASE WHEN cat.is_sensitive THEN '. Reports of this service are not published.' ELSE '' END,
			'metadata', false,
			'type', 'realtime',
			'keywords', cat.name_af || ', ' || replace(cat.code, '_', ' '),
			'group', cat.default_priority::text) ORDER BY cat.code), '[]')
	INTO doc
	FROM naboom.category cat
	WHERE cat.community_id = c.community_id AND cat.is_active AND cat.code <> 'panic';
	RETURN naboom.open311_document(doc, 'services', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_services(text, text) IS
	'GeoReport v2 GET services: one service per active category of the community (jurisdiction_id; not panic): service_code, service_name, description, metadata false, type realtime, keywords (the Afrikaans name), group (the default priority). JSON or XML (format, or the Accept header without one). Errors are GeoReport error documents with their HTTP status';

CREATE FUNCTION naboom_api.open311_requests(jurisdiction_id text DEFAULT NULL, service_request_id text DEFAULT NULL,
	service_code text DEFAULT NULL, start_date text DEFAULT NULL, end_date text DEFAULT NULL,
	status text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	refs text[];
	codes text[];
	states text[];
	t_start timestamptz;
	t_end timestamptz;
	doc jsonb;
	bad text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	IF service_request_id IS NOT NULL THEN
		-- GeoReport: a list of ids overrides every other filter
		SELECT array_agg(naboom.normalize_reference(r)), min(r) FILTER (WHERE naboom.normalize_reference(r) IS NULL)
		INTO refs, bad
		FROM unnest(string_to_array(service_request_id, ',')) u(x), LATERAL (SELECT btrim(u.x) AS r) t
		WHERE t.r <> '';
		IF bad IS NOT NULL OR refs IS NULL OR cardinality(refs) > 1000 THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_reference',
				pg_catalog.format('"%s" is not a service request id', left(coalesce(bad, service_request_id), 40)),
				'A service_request_id is an incident reference such as NB-7K3Q-9XW9; at most 1000, comma separated.',
				'Check the reference.');
		END IF;
		SELECT coalesce(jsonb_agg(naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status)
				ORDER BY i.created_at DESC, i.incident_id DESC), '[]')
		INTO doc
		FROM naboom.incident i
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		WHERE i.reference = ANY (refs) AND i.community_id = c.community_id AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive);
		RETURN naboom.open311_document(doc, 'service_requests', fmt);
	END IF;

	t_end := coalesce(naboom.open311_date('end_date', end_date), now());
	t_start := coalesce(naboom.open311_date('start_date', start_date), t_end - interval '90 days');
	IF t_start > t_end OR t_start < t_end - interval '90 days' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'start_date to end_date must span 0 to 90 days',
			pg_catalog.format('From %s to %s.', t_start, t_end),
			'Ask for at most 90 days at a time (the default is the 90 days before end_date).');
	END IF;
	IF service_code IS NOT NULL THEN
		SELECT array_agg(lower(btrim(x))) INTO codes FROM unnest(string_to_array(service_code, ',')) x WHERE btrim(x) <> '';
		SELECT min(x) INTO bad FROM unnest(codes) x
		WHERE NOT EXISTS (SELECT 1 FROM naboom.category k WHERE k.community_id = c.community_id AND k.code = x AND k.code <> 'panic');
		IF bad IS NOT NULL OR codes IS NULL THEN
			PERFORM naboom.fail('22023', 'naboom.unknown_category',
				pg_catalog.format('unknown service_code "%s"', left(coalesce(bad, service_code), 40)),
				pg_catalog.format('%s has no such service.', c.name), 'GET services lists the service codes.');
		END IF;
	END IF;
	IF status IS NOT NULL THEN
		SELECT array_agg(lower(btrim(x))) INTO states FROM unnest(string_to_array(status, ',')) x WHERE btrim(x) <> '';
		SELECT min(x) INTO bad FROM unnest(states) x WHERE x NOT IN ('open', 'closed');
		IF bad IS NOT NULL OR states IS NULL THEN
			PERFORM naboom.fail('22023', 'naboom.unknown_status',
				pg_catalog.format('unknown status "%s"', left(coalesce(bad, status), 40)),
				'A GeoReport status is open or closed.', 'Use status=open, status=closed or both.');
		END IF;
	END IF;

	SELECT coalesce(jsonb_agg(r.doc ORDER BY r.created_at DESC, r.incident_id DESC), '[]')
	INTO doc
	FROM (
		SELECT naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status) AS doc, i.created_at, i.incident_id
		FROM naboom.incident i
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		-- (no upper bound without an end_date: on a cluster a report's
		-- created_at is its worker's clock, later than this node's now() in
		-- the transaction that filed it)
		WHERE i.community_id = c.community_id AND i.created_at >= t_start
			AND (end_date IS NULL OR i.created_at <= t_end)
			AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive)
			AND (codes IS NULL OR i.category_code = ANY (codes))
			AND (states IS NULL OR CASE WHEN st.status_type = 'open' THEN 'open' ELSE 'closed' END = ANY (states))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT 1000) r;
	RETURN naboom.open311_document(doc, 'service_requests', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_requests(text, text, text, text, text, text, text) IS
	'GeoReport v2 GET requests: the public, non-sensitive reports of the community (never private ones or panics), newest first, at most 1000; service_request_id (comma separated references) overrides the other filters; service_code and status (open, closed) comma separated; start_date/end_date on requested_datetime, default the last 90 days, at most 90 days. JSON or XML (format, or the Accept header without one). Errors are GeoReport error documents with their HTTP status';

CREATE FUNCTION naboom_api.open311_request(jurisdiction_id text DEFAULT NULL, service_request_id text DEFAULT NULL,
	format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	ref text := naboom.normalize_reference(service_request_id);
	doc jsonb;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	SELECT jsonb_build_array(naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status))
	INTO doc
	FROM naboom.incident i
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	WHERE i.reference = ref AND i.community_id = c.community_id AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive);
	IF doc IS NULL THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_reference',
			pg_catalog.format('service request %s not found', left(coalesce(ref, service_request_id, 'NULL'), 40)),
			pg_catalog.format('%s publishes no such service request.', c.name),
			'Check the id; private reports, panics and sensitive categories are not published.');
	END IF;
	RETURN naboom.open311_document(doc, 'service_requests', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_request(text, text, text) IS
	'GeoReport v2 GET requests/{id}: one service request (an array of one) if the community publishes it; 404 error document otherwise (also for private reports, panics and sensitive categories). JSON or XML (format, or the Accept header without one)';

CREATE FUNCTION naboom_api.open311_post_request(jurisdiction_id text DEFAULT NULL, service_code text DEFAULT NULL,
	lat double precision DEFAULT NULL, long double precision DEFAULT NULL, address_string text DEFAULT NULL,
	description text DEFAULT NULL, email text DEFAULT NULL, first_name text DEFAULT NULL,
	last_name text DEFAULT NULL, phone text DEFAULT NULL, device_id text DEFAULT NULL,
	account_id text DEFAULT NULL, api_key text DEFAULT NULL, address_id text DEFAULT NULL,
	media_url text DEFAULT NULL, client_key text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	actor text;
	v_device text;
	v_key text;
	cat naboom.category;
	r naboom_api.incident;
	notice text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	actor := naboom.require_actor();
	IF account_id IS NOT NULL AND account_id IS DISTINCT FROM actor THEN
		PERFORM naboom.fail('42501', 'naboom.forged_reporter', 'account_id is not you',
			'A service request is filed by the account of the token that sends it.',
			'Leave account_id out, or send the token of that account.');
	END IF;
	v_device := naboom.clean_text('device_id', device_id, false, 40);
	v_key := naboom.clean_text('client_key', client_key, false, 50);
	SELECT * INTO cat FROM naboom.category x
	WHERE x.community_id = c.community_id AND x.code = lower(btrim(service_code));
	-- report_incident does the rest (and refuses an unknown or inactive
	-- service_code, a missing or bad location or description)
	r := naboom_api.report_incident(c.slug, coalesce(service_code, ''), lat, long, description,
		address => address_string,
		client_ref => CASE WHEN v_key IS NOT NULL THEN 'open311:' || coalesce(v_device, '') || ':' || v_key END);
	notice := pg_catalog.format('Reported to %s as %s, %s.', c.name, r.reference, r.status_en)
		|| CASE WHEN cat.is_sensitive THEN ' Reports of this service are not published in GeoReport lists.' ELSE '' END
		|| coalesce(' It may be the same as ' || (r.duplicate_candidates->0->>'reference') || ', '
			|| round((r.duplicate_candidates->0->>'distance_m')::numeric) || ' m away.', '');
	RETURN naboom.open311_document(jsonb_build_array(jsonb_build_object(
		'service_request_id', r.reference, 'service_notice', notice, 'account_id', actor)), 'posted', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_post_request(text, text, double precision, double precision, text, text, text, text, text, text, text, text, text, text, text, text, text) IS
	'GeoReport v2 POST requests: report_incident for the token''s member (service_code = category, lat, long, address_string, description); idempotent on device_id + client_key when a client_key is given; account_id, if given, must be the caller; email, first_name, last_name, phone, address_id and media_url are accepted as GeoReport clients send them but not stored (the member''s profile is naboom''s; naboom keeps no media), api_key is the gateway''s to check. Answers [{service_request_id, service_notice, account_id}], 201 (200 for a resubmit); errors are GeoReport error documents with their HTTP status';
