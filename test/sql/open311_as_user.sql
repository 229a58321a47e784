-- pgTAP: Open311 GeoReport v2 (issue 15) as a gateway calls it -- a
-- login-less, non-superuser role in naboom_user with the person's claims,
-- and naboom_anon for the public documents -- under an EMPTY search_path.
-- A validator checks every field GeoReport v2 requires, and its type, in
-- every document naboom answers (services, requests, one request, a POST's
-- answer, errors), in JSON and in XML, and that the XML says what the JSON
-- says; the validator itself is shown to catch a broken document.  Private
-- reports, panics and sensitive categories never appear.
BEGIN;
SELECT tap.plan(32);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_o311_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

SELECT pg_temp.tap_community('tap-o311', 'Tap Open311', 'o311-admin', 'O311 Admin') AS o311 \gset

-- GeoReport v2's fields per document (http://wiki.open311.org/GeoReport_v2):
-- kind, field, type (string, text: a non-empty string, boolean, number,
-- integer, datetime: W3C, enum:a|b, url), and whether it may be empty.
CREATE TEMPORARY TABLE georeport_field (kind text, field text, type text, nullable boolean, ord integer);
INSERT INTO pg_temp.georeport_field VALUES
	('services', 'service_code', 'text', false, 1),
	('services', 'service_name', 'text', false, 2),
	('services', 'description', 'string', true, 3),
	('services', 'metadata', 'boolean', false, 4),
	('services', 'type', 'enum:realtime|batch|blackbox', false, 5),
	('services', 'keywords', 'string', true, 6),
	('services', 'group', 'string', true, 7),
	('service_requests', 'service_request_id', 'text', false, 1),
	('service_requests', 'status', 'enum:open|closed', false, 2),
	('service_requests', 'status_notes', 'string', true, 3),
	('service_requests', 'service_name', 'string', true, 4),
	('service_requests', 'service_code', 'text', false, 5),
	('service_requests', 'description', 'string', true, 6),
	('service_requests', 'agency_responsible', 'string', true, 7),
	('service_requests', 'requested_datetime', 'datetime', false, 8),
	('service_requests', 'updated_datetime', 'datetime', true, 9),
	('service_requests', 'expected_datetime', 'datetime', true, 10),
	('service_requests', 'address', 'string', true, 11),
	('service_requests', 'lat', 'number', false, 12),
	('service_requests', 'long', 'number', false, 13),
	('service_requests', 'media_url', 'url', true, 14),
	('posted', 'service_request_id', 'text', false, 1),
	('posted', 'service_notice', 'string', true, 2),
	('posted', 'account_id', 'string', true, 3),
	('errors', 'code', 'integer', false, 1),
	('errors', 'description', 'text', false, 2);
GRANT SELECT ON pg_temp.georeport_field TO PUBLIC;
-- The documents answered below, by name
CREATE TEMPORARY TABLE o311_doc (name text, kind text, fmt text, body text);
GRANT SELECT, INSERT ON pg_temp.o311_doc TO PUBLIC;

-- Is a value (as text; NULL when empty) of a GeoReport type?
CREATE FUNCTION pg_temp.georeport_typed(v text, type text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN type = 'string' THEN true
		WHEN type = 'text' THEN length(btrim(v)) > 0
		WHEN type = 'boolean' THEN v IN ('true', 'false')
		WHEN type = 'number' THEN v ~ '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
		WHEN type = 'integer' THEN v ~ '^[0-9]+$'
		WHEN type = 'datetime' THEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})$'
		WHEN type = 'url' THEN v ~ '^https?://'
		WHEN type LIKE 'enum:%' THEN v = ANY (string_to_array(substr(type, 6), '|'))
		ELSE false END
$$;

-- Every way a document breaks GeoReport v2 (none: it validates); an empty
-- list is valid GeoReport, but every document this file checks has items,
-- so none is reported, lest the check pass on nothing.  JSON: an
-- array of objects, each with every field of its kind, of its JSON type
-- (strings, true/false, numbers) and value.  XML: a well-formed document
-- whose root holds one element per item, each with exactly one element per
-- field, its text of the field's type.
CREATE FUNCTION pg_temp.georeport_problems(kind text, doc text, fmt text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	root text := CASE kind WHEN 'posted' THEN 'service_requests' ELSE kind END;
	item text := CASE kind WHEN 'services' THEN 'service' WHEN 'errors' THEN 'error' ELSE 'request' END;
	x xml;
	e record;
	f record;
	n integer;
	v text;
	jt text;
BEGIN
	IF fmt = 'json' THEN
		BEGIN
			jt := jsonb_typeof(doc::jsonb);
		EXCEPTION WHEN invalid_text_representation THEN
			jt := NULL;
		END;
		IF jt IS DISTINCT FROM 'array' THEN
			RETURN NEXT 'not a JSON array';
			RETURN;
		END IF;
		IF jsonb_array_length(doc::jsonb) = 0 THEN
			RETURN NEXT 'no items (every document of this file has some)';
		END IF;
		FOR e IN SELECT d, i FROM jsonb_array_elements(doc::jsonb) WITH ORDINALITY AS a(d, i) LOOP
			IF jsonb_typeof(e.d) <> 'object' THEN
				RETURN NEXT format('item %s is not an object', e.i);
				CONTINUE;
			END IF;
			FOR f IN SELECT * FROM pg_temp.georeport_field g WHERE g.kind = georeport_problems.kind ORDER BY g.ord LOOP
				IF NOT e.d ? f.field THEN
					RETURN NEXT format('item %s has no %s', e.i, f.field);
					CONTINUE;
				END IF;
				jt := jsonb_typeof(e.d->f.field);
				v := e.d->>f.field;
				IF jt = 'null' OR (jt = 'string' AND v = '' AND f.type <> 'text') THEN
					IF NOT f.nullable THEN
						RETURN NEXT format('item %s: %s is empty', e.i, f.field);
					END IF;
				ELSIF jt <> (CASE WHEN f.type IN ('number', 'integer') THEN 'number' WHEN f.type = 'boolean' THEN 'boolean' ELSE 'string' END)
					OR NOT pg_temp.georeport_typed(v, f.type) THEN
					RETURN NEXT format('item %s: %s = %s is not of type %s', e.i, f.field, e.d->f.field, f.type);
				END IF;
			END LOOP;
		END LOOP;
		RETURN;
	END IF;
	IF doc IS NULL OR NOT xml_is_well_formed_document(doc) THEN
		RETURN NEXT 'not a well-formed XML document';
		RETURN;
	END IF;
	IF doc !~ '^<\?xml version="1\.0" encoding="utf-8"\?>' THEN
		RETURN NEXT 'no XML declaration with encoding utf-8';
	END IF;
	x := xmlparse(DOCUMENT doc);
	IF NOT xmlexists(format('/%s', root) PASSING x) THEN
		RETURN NEXT format('the root is not <%s>', root);
		RETURN;
	END IF;
	IF (xpath(format('count(/%s/*[name() != "%s"])', root, item), x))[1]::text <> '0' THEN
		RETURN NEXT format('<%s> holds elements other than <%s>', root, item);
	END IF;
	IF cardinality(xpath(format('/%s/%s', root, item), x)) = 0 THEN
		RETURN NEXT 'no items (every document of this file has some)';
	END IF;
	FOR e IN SELECT d, i FROM unnest(xpath(format('/%s/%s', root, item), x)) WITH ORDINALITY AS a(d, i) LOOP
		FOR f IN SELECT * FROM pg_temp.georeport_field g WHERE g.kind = georeport_problems.kind ORDER BY g.ord LOOP
			n := (xpath(format('count(/%s/%s)', item, f.field), e.d))[1]::text::integer;
			IF n <> 1 THEN
				RETURN NEXT format('item %s has %s <%s>', e.i, n, f.field);
				CONTINUE;
			END IF;
			SELECT nullif(t.v, '') INTO v FROM XMLTABLE('/*' PASSING e.d COLUMNS v text PATH f.field) t;
			IF v IS NULL THEN
				IF NOT f.nullable THEN
					RETURN NEXT format('item %s: <%s> is empty', e.i, f.field);
				END IF;
			ELSIF NOT pg_temp.georeport_typed(v, f.type) THEN
				RETURN NEXT format('item %s: <%s>%s</%s> is not of type %s', e.i, f.field, v, f.field, f.type);
			END IF;
		END LOOP;
	END LOOP;
END
$$;

-- The XML form as the JSON form: every item's fields as text (XML entities
-- decoded), so the two forms of one answer can be compared.
CREATE FUNCTION pg_temp.georeport_xml_as_json(kind text, doc text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT coalesce(jsonb_agg(o.obj ORDER BY a.i), '[]')
	FROM unnest(xpath(format('/%s/%s', CASE kind WHEN 'posted' THEN 'service_requests' ELSE kind END,
		CASE kind WHEN 'services' THEN 'service' WHEN 'errors' THEN 'error' ELSE 'request' END),
		xmlparse(DOCUMENT doc))) WITH ORDINALITY AS a(d, i)
	CROSS JOIN LATERAL (
		SELECT jsonb_object_agg(g.field, (SELECT nullif(t.v, '') FROM XMLTABLE('/*' PASSING a.d COLUMNS v text PATH g.field) t)) AS obj
		FROM pg_temp.georeport_field g WHERE g.kind = georeport_xml_as_json.kind) o
$$;
CREATE FUNCTION pg_temp.georeport_json_as_text(kind text, doc text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT coalesce(jsonb_agg(o.obj ORDER BY a.i), '[]')
	FROM jsonb_array_elements(doc::jsonb) WITH ORDINALITY AS a(d, i)
	CROSS JOIN LATERAL (
		SELECT jsonb_object_agg(g.field, nullif(a.d->>g.field, '')) AS obj
		FROM pg_temp.georeport_field g WHERE g.kind = georeport_json_as_text.kind) o
$$;

SET LOCAL ROLE tap_o311_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-o311', 'o311-res', 'O311 Resident');
	PERFORM pg_temp.tap_join('tap-o311', 'o311-resp', 'O311 Responder', 'responder', 'o311-admin');
	PERFORM pg_temp.tap_category('tap-o311', 'o311-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
	PERFORM pg_temp.tap_category('tap-o311', 'o311-admin', 'abuse', 'Abuse', 'Mishandeling', 'high', true);
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER),
	'calls run as a non-superuser gateway role');

-- The resident posts: a pothole (with an ampersand, for XML), an abuse
-- report (sensitive), then a private report and a panic the usual way.
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"o311-res"}', true);
INSERT INTO pg_temp.o311_doc VALUES
	('post json', 'posted', 'json', naboom_api.open311_post_request('tap-o311', 'pothole', -24.50, 28.70,
		'Church & Main', 'Deep hole <by> the church', device_id => 'd1', client_key => 'k1')),
	('post xml', 'posted', 'xml', naboom_api.open311_post_request('tap-o311', 'pothole', -24.51, 28.71,
		NULL, 'Another hole', format => 'xml')),
	('post sensitive', 'posted', 'json', naboom_api.open311_post_request('tap-o311', 'abuse', -24.52, 28.72,
		'1 Secret Street', 'Shouting'));
SELECT pg_catalog.set_config('naboom_tap.private', (SELECT i.reference FROM naboom_api.report_incident('tap-o311', 'pothole',
	-24.50, 28.70, 'Private hole', is_public => false) i), true);
SELECT pg_catalog.set_config('naboom_tap.panic', (SELECT i.reference FROM naboom_api.raise_panic('tap-o311', -24.50, 28.70) i), true);
SELECT pg_catalog.set_config('naboom_tap.pothole', (SELECT d.body::jsonb->0->>'service_request_id' FROM pg_temp.o311_doc d
	WHERE d.name = 'post json'), true);
SELECT pg_catalog.set_config('naboom_tap.abuse', (SELECT d.body::jsonb->0->>'service_request_id' FROM pg_temp.o311_doc d
	WHERE d.name = 'post sensitive'), true);
-- The admin resolves the first pothole: a closed request with notes.
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"o311-admin"}', true);
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(pg_catalog.current_setting('naboom_tap.pothole'),
	'resolved', 'Filled & rolled') i), 'resolved', 'the admin resolves the pothole');

-- The public reads; errors of each kind, as documents.
SET LOCAL ROLE naboom_anon;
INSERT INTO pg_temp.o311_doc VALUES
	('services json', 'services', 'json', naboom_api.open311_services('tap-o311')),
	('services xml', 'services', 'xml', naboom_api.open311_services('tap-o311', 'xml')),
	('requests json', 'service_requests', 'json', naboom_api.open311_requests('tap-o311')),
	('requests xml', 'service_requests', 'xml', naboom_api.open311_requests('tap-o311', format => 'xml')),
	('request json', 'service_requests', 'json', naboom_api.open311_request('tap-o311', pg_catalog.current_setting('naboom_tap.pothole'))),
	('request xml', 'service_requests', 'xml', naboom_api.open311_request('tap-o311', pg_catalog.current_setting('naboom_tap.pothole'), 'xml')),
	('error 404 json', 'errors', 'json', naboom_api.open311_request('tap-o311', pg_catalog.current_setting('naboom_tap.panic'))),
	('error 400 xml', 'errors', 'xml', naboom_api.open311_requests('tap-o311', status => 'pending', format => 'xml'));
SET LOCAL ROLE tap_o311_gw;
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"o311-nobody"}', true);
INSERT INTO pg_temp.o311_doc VALUES
	('error 403 json', 'errors', 'json', naboom_api.open311_post_request('tap-o311', 'pothole', -24.5, 28.7, NULL, 'x')),
	('error 403 xml', 'errors', 'xml', naboom_api.open311_post_request('tap-o311', 'pothole', -24.5, 28.7, NULL, 'x', format => 'xml'));

------------------------------------------------------------------------------
-- Every document validates against GeoReport v2's field list
------------------------------------------------------------------------------
SELECT tap.is(ARRAY(SELECT pg_temp.georeport_problems(d.kind, d.body, d.fmt)), '{}'::text[],
	pg_catalog.format('%s: every GeoReport v2 field, of its type', d.name))
FROM pg_temp.o311_doc d ORDER BY d.name;

SELECT tap.ok((SELECT pg_catalog.jsonb_array_length(d.body::jsonb) FROM pg_temp.o311_doc d WHERE d.name = 'requests json') = 2,
	'the list holds the two potholes');
SELECT tap.is(pg_temp.georeport_xml_as_json(x.kind, x.body), pg_temp.georeport_json_as_text(j.kind, j.body),
	pg_catalog.format('%s says what the JSON says', x.name))
FROM pg_temp.o311_doc x JOIN pg_temp.o311_doc j ON j.name = replace(x.name, 'xml', 'json')
WHERE x.name IN ('services xml', 'requests xml', 'request xml')
ORDER BY x.name;
SELECT tap.is((SELECT d.body::jsonb->0->>'status' || ' / ' || (d.body::jsonb->0->>'status_notes') FROM pg_temp.o311_doc d
	WHERE d.name = 'request json'), 'closed / Filled & rolled', 'a resolved report is closed, with its notes');
SELECT tap.ok((SELECT d.body LIKE '%<description>Deep hole &lt;by&gt; the church</description>%'
		AND d.body LIKE '%<status_notes>Filled &amp; rolled</status_notes>%' FROM pg_temp.o311_doc d WHERE d.name = 'request xml'),
	'XML escapes what it must');

-- The validator is not a rubber stamp.
SELECT tap.isnt(ARRAY(SELECT pg_temp.georeport_problems('service_requests',
		(SELECT (d.body::jsonb #- '{0,lat}')::text FROM pg_temp.o311_doc d WHERE d.name = 'request json'), 'json')),
	'{}'::text[], 'the validator refuses a request without lat');
SELECT tap.isnt(ARRAY(SELECT pg_temp.georeport_problems('service_requests',
		(SELECT pg_catalog.jsonb_set(d.body::jsonb, '{0,requested_datetime}', '"yesterday"')::text FROM pg_temp.o311_doc d WHERE d.name = 'request json'), 'json')),
	'{}'::text[], 'the validator refuses a datetime that is not W3C');
SELECT tap.isnt(ARRAY(SELECT pg_temp.georeport_problems('services',
		(SELECT replace(d.body, '<type>realtime</type>', '') FROM pg_temp.o311_doc d WHERE d.name = 'services xml'), 'xml')),
	'{}'::text[], 'the validator refuses an XML service without <type>');
SELECT tap.isnt(ARRAY(SELECT pg_temp.georeport_problems('services',
		(SELECT replace(d.body, '"metadata": false', '"metadata": "no"') FROM pg_temp.o311_doc d WHERE d.name = 'services json'), 'json')),
	'{}'::text[], 'the validator refuses a metadata that is not a boolean');

------------------------------------------------------------------------------
-- Never: private reports, panics, sensitive categories
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_anon;
SELECT tap.ok(strpos(naboom_api.open311_requests('tap-o311', status => 'open,closed'), pg_catalog.current_setting('naboom_tap.' || w)) = 0,
	pg_catalog.format('the %s report is not in the public list', w))
FROM unnest(ARRAY['private', 'panic', 'abuse']) w;
SET LOCAL ROLE tap_o311_gw;
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"o311-admin"}', true);
SELECT tap.is(pg_catalog.jsonb_array_length(naboom_api.open311_requests('tap-o311',
		service_request_id => pg_catalog.current_setting('naboom_tap.private') || ',' || pg_catalog.current_setting('naboom_tap.panic')
			|| ',' || pg_catalog.current_setting('naboom_tap.abuse'))::jsonb), 0,
	'not even for the community''s admin: the documents are the same for everyone');
SELECT tap.is((SELECT d.body::jsonb->0->>'service_notice' FROM pg_temp.o311_doc d WHERE d.name = 'post sensitive')
		LIKE '%not published%', true, 'posting a sensitive service says it is not published');
SELECT tap.ok(strpos(naboom_api.open311_services('tap-o311'), '"panic"') = 0, 'panic is not a service');

SELECT * FROM tap.finish();
ROLLBACK;
