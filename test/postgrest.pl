#!/usr/bin/perl
# test/postgrest.pl: naboom through PostgREST 12's per-request transaction,
# replayed by test/postgrest_replay.pm (run by test/postgrest.sh, which makes
# the database and the authenticator role).
#
# A whole story as an app and a control room would make it over HTTP, each
# request with its own token (claims with "role" and "sub"): set-up by the
# service and an admin, members joining, a report and its resubmit, the
# workflow to closed with a note, a refused transition (its code, details
# and hint kept), a panic and the responders nearest to it, alerts, alert
# areas, the maps, the audit trails, retention and legal holds, the lists,
# sync, the directory, export, leaving and erasure, and Open311 (the paths
# the README's nginx maps: /services.json, /requests.json,
# /requests/{id}.json, POST /requests.json, and .xml).  Readers are called
# with GET, writers with POST.  Then mistakes a user can make (bad enum,
# bad cursor, NaN coordinates, unknown community, forged identity, wrong
# JSON types, GET of a writer...), each answered with its 4xx, never 500.
# Last, from pg_proc: every naboom_api function was called through the
# replay with its method (GET for STABLE, POST for VOLATILE) and answered
# (2xx; health's 503 too) at least once, so a new function without a call here fails; every GET
# ran READ ONLY and every POST of a writer READ WRITE.
#
# Output is TAP: the plan, then one "ok N - ..." / "not ok N - ..." per
# assertion ("# " lines explain failures).  The story runs first and its
# results are printed after the plan; a story that dies is one failure.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use postgrest_replay;
use JSON::PP;

binmode STDOUT, ':encoding(UTF-8)';
my $J = JSON::PP->new->canonical;
my $api = postgrest_replay->new(dsn => $ENV{NABOOM_PGRST_DSN}, user => $ENV{NABOOM_PGRST_USER},
	password => $ENV{NABOOM_PGRST_PASSWORD});

my @results;
sub check {
	my ($ok, $name, $diag) = @_;
	push @results, [$ok ? 1 : 0, $name, $ok ? undef : $diag];
	return $ok;
}

# Tokens: claims of a person (role naboom_user) or of the service
sub person { return { role => 'naboom_user', sub => $_[0] } }
my $SERVICE = { role => 'naboom_service' };
my %who = (svc => $SERVICE, anon => undef,
	map { $_ => person("pg-$_") } qw(admin mod resp res res2 gone));

# call(WHO, METHOD, FN, ARGS, [ACCEPT]) -> response
sub call {
	my ($w, $method, $fn, $args, $accept) = @_;
	return $api->request(method => $method, fn => $fn, args => $args // {}, claims => $who{$w},
		headers => { 'x-request-id' => "replay-$fn", 'x-forwarded-for' => '198.51.100.7' },
		defined $accept ? (accept => $accept) : ());
}
sub short { my $b = $_[0]->{body} // ''; return length($b) > 400 ? substr($b, 0, 400) . '...' : $b; }
# expect(RESPONSE, STATUS, NAME): the status, and the body when it is not
sub expect {
	my ($res, $status, $name) = @_;
	check($res->{status} == $status, "$name: $status", "got $res->{status}: " . short($res));
	return $res;
}
sub ok_call { my ($st, $w, $m, $fn, $args, $name) = @_; return expect(call($w, $m, $fn, $args), $st, $name // "$m $fn as $w"); }

my $BOUNDARY = '{"type":"Polygon","coordinates":[[[28.55,-24.65],[28.90,-24.65],[28.90,-24.38],[28.62,-24.38],[28.55,-24.45],[28.55,-24.65]]]}';
my $TOWN = '{"type":"Polygon","coordinates":[[[28.69,-24.535],[28.73,-24.535],[28.73,-24.50],[28.69,-24.50],[28.69,-24.535]]]}';
my $C = 'mookgophong';

my $story = eval {
	# ---------------------------------------------------------------- set-up
	my $h = call('anon', 'GET', 'health');
	check(($h->{status} == 200 && $h->{json}{ok}) || ($h->{status} == 503 && !$h->{json}{ok}),
		"GET health as anon: 200 when ok, 503 when not ($h->{status})", short($h));
	my $res = ok_call(201, 'svc', 'POST', 'create_community',
		{ slug => $C, name => 'Mookgophong / Naboomspruit', boundary => $BOUNDARY, admin_ref => 'pg-admin',
		  admin_name => 'Annelie Botha' });
	check(($res->{json}{slug} // '') eq $C, 'create_community answers the community as one JSON object', short($res));
	ok_call(201, 'admin', 'POST', 'upsert_area', { community => $C, code => 'town', name => 'Town centre',
		boundary => $TOWN, name_af => 'Dorp', kind => 'suburb' });
	ok_call(201, 'admin', 'POST', 'upsert_category', { community => $C, code => 'stock_theft', name_en => 'Stock theft',
		name_af => 'Veediefstal', default_priority => 'high', ack_target => '30 minutes', duplicate_radius_m => 2000 });
	ok_call(201, 'admin', 'POST', 'upsert_category', { community => $C, code => 'gbv', name_en => 'Gender-based violence',
		name_af => 'Geslagsgebaseerde geweld', default_priority => 'critical', is_sensitive => JSON::PP::true });
	for my $p (qw(mod resp res res2 gone)) {
		ok_call(201, $p, 'POST', 'join_community', { community => $C, display_name => "Person $p", language => 'af' });
	}
	ok_call(200, 'admin', 'POST', 'set_member_role', { community => $C, user_ref => 'pg-mod', role => 'moderator' });
	ok_call(200, 'admin', 'POST', 'set_member_role', { community => $C, user_ref => 'pg-resp', role => 'responder' });

	# ---------------------------------------------------------------- pickers
	$res = ok_call(200, 'anon', 'GET', 'communities');
	check(ref $res->{json} eq 'ARRAY' && $res->{json}[0]{slug} eq $C, 'GET communities: a JSON array of communities', short($res));
	$res = ok_call(200, 'anon', 'GET', 'categories', { community => $C });
	check(3 == grep({ $_->{code} =~ /^(stock_theft|gbv|panic)$/ } @{$res->{json}}), 'GET categories lists the categories', short($res));
	ok_call(200, 'anon', 'GET', 'areas', { community => $C, with_geojson => 'true' });
	$res = ok_call(200, 'anon', 'GET', 'statuses');
	$res = call('anon', 'GET', 'statuses', {}, 'application/vnd.pgrst.object+json');
	expect($res, 406, 'GET statuses as a single object (many rows)');
	check(($res->{json}{code} // '') eq 'PGRST116', 'a single object of many rows is PGRST116', short($res));

	# ---------------------------------------------------------------- a report
	ok_call(200, 'resp', 'POST', 'update_position', { lat => -24.518, lon => 28.709, on_duty => JSON::PP::true });
	$res = ok_call(201, 'res2', 'POST', 'subscribe', { community => $C, lat => -24.52, lon => 28.71, radius_m => 3000,
		label => 'Home' });
	my $sub_id = $res->{json}{id};
	ok_call(201, 'res2', 'POST', 'subscribe_area', { community => $C, area => 'town', label => 'Town' });
	my $rep = ok_call(201, 'res', 'POST', 'report_incident', { community => $C, category => 'stock_theft',
		lat => -24.52, lon => 28.71, description => 'Three cows gone', client_ref => 'app-1' });
	my $ref = $rep->{json}{reference} // 'none';
	check($ref =~ /^NB-/ && ($rep->{json}{status} // '') eq 'reported', "report_incident answers the incident ($ref)", short($rep));
	$res = ok_call(200, 'res', 'POST', 'report_incident', { community => $C, category => 'stock_theft',
		lat => -24.52, lon => 28.71, description => 'Three cows gone', client_ref => 'app-1' }, 'resubmit with the same client_ref');
	check(($res->{json}{reference} // '') eq $ref, 'the resubmit answers the same incident', short($res));
	$res = ok_call(200, 'res2', 'GET', 'duplicate_candidates', { community => $C, category => 'stock_theft',
		lat => -24.521, lon => 28.711 });
	check((grep { $_->{reference} eq $ref } @{$res->{json} // []}) == 1, 'GET duplicate_candidates finds the report', short($res));
	$res = call('anon', 'GET', 'get_incident', { reference => $ref }, 'application/vnd.pgrst.object+json');
	expect($res, 200, 'GET get_incident as anon, Accept: application/vnd.pgrst.object+json');
	check(ref $res->{json} eq 'HASH' && !defined $res->{json}{reporter_name}
		&& $res->{headers}{'content-type'} =~ m{^application/vnd\.pgrst\.object\+json},
		'one object, the reporter hidden from the public', short($res));

	# ---------------------------------------------------------------- workflow
	ok_call(200, 'mod', 'POST', 'transition_incident', { reference => $ref, status => 'verified' });
	ok_call(200, 'mod', 'POST', 'assign_incident', { reference => $ref, responder => 'pg-resp' });
	$res = call('res', 'POST', 'transition_incident', { reference => $ref, status => 'closed' });
	expect($res, 409, 'the reporter closing a dispatched incident is refused');
	check(($res->{json}{code} // '') eq 'PT409' && ($res->{json}{details} // '') =~ /^naboom\.invalid_transition: /
		&& length($res->{json}{hint} // '') && ($res->{json}{message} // '') =~ /cannot move from dispatched to closed/,
		'the refusal keeps its code, message, details (with the key) and hint', short($res));
	$res = ok_call(200, 'resp', 'POST', 'acknowledge_incident', { reference => $ref });
	$res = call('resp', 'POST', 'acknowledge_incident', { reference => $ref });
	expect($res, 409, 'a second acknowledgement');
	ok_call(200, 'resp', 'POST', 'transition_incident', { reference => $ref, status => 'en_route' });
	ok_call(200, 'resp', 'POST', 'transition_incident', { reference => $ref, status => 'on_scene' });
	$res = ok_call(201, 'resp', 'POST', 'add_note', { reference => $ref, note => 'Tracks lead north', is_public => JSON::PP::false });
	my $note_seq = $res->{json}{seq};
	# evidence: a photo the gateway stored, then hidden by a moderator
	$res = ok_call(201, 'resp', 'POST', 'add_attachment', { reference => $ref, object_key => "$C/$ref/tracks.jpg",
		content_type => 'image/jpeg', bytes => 123456, sha256 => ('ab' x 32), caption => 'Tracks at the gate' });
	$res = ok_call(200, 'mod', 'POST', 'hide_attachment', { reference => $ref, attachment_id => $res->{json}{id},
		reason => 'Shows a neighbour' });
	check(($res->{json}{hidden} ? 1 : 0) == 1 && ($res->{json}{hidden_reason} // '') eq 'Shows a neighbour',
		'POST hide_attachment: hidden, with its reason', short($res));
	ok_call(200, 'resp', 'POST', 'delete_note', { reference => $ref, seq => $note_seq });
	ok_call(200, 'resp', 'POST', 'transition_incident', { reference => $ref, status => 'resolved', note => 'Cows found' });
	$res = ok_call(200, 'res', 'POST', 'transition_incident', { reference => $ref, status => 'closed' });
	check(($res->{json}{status} // '') eq 'closed', 'the reporter closes it', short($res));

	# ---------------------------------------------------------------- a panic
	my $panic = ok_call(201, 'res', 'POST', 'raise_panic', { community => $C, lat => -24.519, lon => 28.712, note => 'Intruder' });
	my $pref = $panic->{json}{reference} // 'none';
	$res = ok_call(200, 'resp', 'GET', 'nearest_responders', { reference => $pref });
	check((grep { ($_->{display_name} // '') eq 'Person resp' } @{$res->{json} // []}) == 1,
		'GET nearest_responders: the on-duty responder', short($res));
	$res = call('anon', 'GET', 'get_incident', { reference => $pref });
	expect($res, 404, 'the panic is not the public\'s (as if it did not exist)');
	$res = ok_call(200, 'anon', 'GET', 'incidents_near', { lat => -24.52, lon => 28.71, radius_m => 5000,
		statuses => ['closed', 'reported'] });
	check(!grep({ $_->{reference} eq $pref } @{$res->{json} // []}) && grep({ $_->{reference} eq $ref } @{$res->{json} // []}),
		'GET incidents_near as anon: the public report, not the panic', short($res));
	ok_call(200, 'resp', 'POST', 'acknowledge_incident', { reference => $pref });

	# ---------------------------------------------------------------- alerts
	$res = ok_call(200, 'res2', 'GET', 'my_alerts', { after_id => 0 });
	my @alerts = @{$res->{json} // []};
	check(@alerts >= 1, 'GET my_alerts: the subscriber was alerted', short($res));
	$res = ok_call(200, 'res2', 'GET', 'unread_alert_count');
	check(($res->{json}{unread} // 0) >= 1, 'unread_alert_count is one JSON object', short($res));
	$res = ok_call(200, 'res2', 'POST', 'mark_alerts_seen', { up_to_id => $res->{json}{last_id} // 0 });
	check(($res->{json}{unread} // -1) == 0, 'mark_alerts_seen leaves nothing unread', short($res));
	$res = ok_call(200, 'res2', 'GET', 'my_subscriptions');
	check(@{$res->{json} // []} == 2, 'GET my_subscriptions: the circle and the area', short($res));
	ok_call(200, 'res2', 'POST', 'unsubscribe', { id => $sub_id });

	# ---------------------------------------------------------------- maps
	$res = ok_call(200, 'anon', 'GET', 'community_map_geojson', { community => $C });
	check(($res->{json}{type} // '') eq 'FeatureCollection', 'the GeoJSON map is the jsonb value itself', short($res));
	$res = ok_call(200, 'anon', 'GET', 'community_map_svg', { community => $C, width => 400 });
	check(!ref $res->{json} && ($res->{json} // '') =~ /^<svg/, 'the SVG map is a JSON string (text scalar)', short($res));

	# ---------------------------------------------------------------- audit, events, SLA
	$res = ok_call(200, 'mod', 'GET', 'incident_audit', { reference => $ref });
	check(@{$res->{json} // []} > 0, 'GET incident_audit: the trail', short($res));
	ok_call(200, 'admin', 'GET', 'community_audit', { community => $C, max_count => 10 });
	$res = ok_call(200, 'svc', 'GET', 'events_since', { after_id => 0, max_count => 50 });
	ok_call(200, 'mod', 'GET', 'sla_report', { community => $C, from_time => '2000-01-01T00:00:00Z',
		to_time => '2100-01-01T00:00:00Z' });

	# ---------------------------------------------------------------- retention
	ok_call(200, 'res', 'GET', 'retention_policies', { community => $C });
	ok_call(200, 'admin', 'POST', 'set_retention', { community => $C, data_class => 'personal_data', keep => '3 years' });
	ok_call(200, 'admin', 'POST', 'place_legal_hold', { reference => $ref, reason => 'SAPS case 12/2026' });
	ok_call(200, 'admin', 'POST', 'lift_legal_hold', { reference => $ref, reason => 'Case closed' });

	# ---------------------------------------------------------------- lists, sync, directory
	$res = ok_call(200, 'resp', 'GET', 'incident_queue', { community => $C, max_count => 1 });
	my $cursor = $res->{json}[0]{cursor};
	ok_call(200, 'resp', 'GET', 'incident_queue', { community => $C, after => $cursor, max_count => 1 }, 'GET incident_queue, the next page');
	$res = ok_call(200, 'anon', 'GET', 'community_incidents', { community => $C, search => 'cows' });
	check((grep { $_->{reference} eq $ref } @{$res->{json} // []}) == 1, 'the public feed finds the report by a word', short($res));
	$res = ok_call(200, 'res', 'GET', 'my_incidents', { statuses => ['closed'] });
	check(@{$res->{json} // []} == 1, 'GET my_incidents with statuses as {closed}', short($res));
	ok_call(200, 'resp', 'GET', 'my_assignments');
	$res = ok_call(200, 'anon', 'GET', 'incident_changes', { max_count => 10 });
	check(!grep({ $_->{reference} eq $pref } @{$res->{json} // []}), 'sync as anon: no panic', short($res));
	ok_call(200, 'mod', 'GET', 'members', { community => $C, role => 'resident' });
	ok_call(200, 'res', 'GET', 'my_memberships');
	ok_call(200, 'res', 'POST', 'update_my_profile', { community => $C, phone => '+27 82 555 0199' });
	$res = ok_call(200, 'res', 'GET', 'export_my_data');
	check(ref $res->{json} eq 'HASH', 'export_my_data is one JSON object', short($res));
	ok_call(200, 'res2', 'POST', 'leave_community', { community => $C });
	ok_call(200, 'gone', 'POST', 'erase_my_data');

	# ---------------------------------------------------------------- Open311, as the README's nginx maps it
	$res = ok_call(200, 'anon', 'GET', 'open311_services', { jurisdiction_id => $C, format => 'json' }, 'GET /services.json');
	check($res->{headers}{'content-type'} =~ m{^application/json} && ref $res->{json} eq 'ARRAY'
		&& (grep { $_->{service_code} eq 'stock_theft' && $_->{type} eq 'realtime' } @{$res->{json}}),
		'/services.json: JSON services with their content type', short($res));
	$res = ok_call(200, 'anon', 'GET', 'open311_services', { jurisdiction_id => $C, format => 'xml' }, 'GET /services.xml');
	check($res->{headers}{'content-type'} =~ m{^text/xml} && $res->{body} =~ m{^<\?xml[^>]*\?>\s*<services><service>},
		'/services.xml: XML with its content type, the body as it is', short($res));
	$res = ok_call(201, 'res', 'POST', 'open311_post_request', { jurisdiction_id => $C, service_code => 'stock_theft',
		lat => -24.523, long => 28.705, description => 'Fence cut', device_id => 'dev-9', client_key => 'c1' },
		'POST /requests.json');
	my $oref = ref $res->{json} eq 'ARRAY' ? $res->{json}[0]{service_request_id} // 'none' : 'none';
	check(($res->{json}[0]{account_id} // '') eq 'pg-res' && $oref =~ /^NB-/, 'the posted request: id and account', short($res));
	$res = expect($api->request(method => 'POST', fn => 'open311_post_request', claims => $who{res}, accept => 'text/xml',
		args => { jurisdiction_id => $C, service_code => 'stock_theft', lat => '-24.524', long => '28.706',
			description => 'Gate open', api_key => 'k-123', email => 'res@example.org', media_url => 'https://example.org/1.jpg' }),
		201, 'POST /requests.xml (form fields as strings, Accept: text/xml, api_key and media_url as clients send them)');
	check($res->{headers}{'content-type'} =~ m{^text/xml} && $res->{body} =~ m{<service_requests><request><service_request_id>NB-},
		'the posted request as XML', short($res));
	$res = ok_call(200, 'res', 'POST', 'open311_post_request', { jurisdiction_id => $C, service_code => 'stock_theft',
		lat => -24.523, long => 28.705, description => 'Fence cut', device_id => 'dev-9', client_key => 'c1' },
		'POST /requests.json again (same device and client key)');
	check(ref $res->{json} eq 'ARRAY' && ($res->{json}[0]{service_request_id} // '') eq $oref, 'the same request', short($res));
	$res = ok_call(200, 'anon', 'GET', 'open311_requests', { jurisdiction_id => $C, status => 'open,closed' }, 'GET /requests.json');
	my %ids = map { $_->{service_request_id} => $_->{status} } @{ref $res->{json} eq 'ARRAY' ? $res->{json} : []};
	check(($ids{$ref} // '') eq 'closed' && ($ids{$oref} // '') eq 'open' && !exists $ids{$pref},
		'/requests.json: the closed report, the posted one, not the panic', short($res));
	$res = ok_call(200, 'anon', 'GET', 'open311_request', { jurisdiction_id => $C, service_request_id => $oref, format => 'xml' },
		"GET /requests/$oref.xml");
	check($res->{body} =~ m{<service_request_id>\Q$oref\E</service_request_id>}, 'the one request in XML', short($res));
	$res = ok_call(200, 'anon', 'GET', 'open311_request', { jurisdiction_id => $C, service_request_id => $oref },
		"GET /requests/$oref.json");

	# ---------------------------------------------------------------- a user's mistakes: 4xx, never 500
	my @mistakes = (
		[400, 'res', 'POST', 'report_incident', { community => $C, category => 'ufo', lat => -24.52, lon => 28.71, description => 'x' }, 'unknown category (bad enum)'],
		[400, 'res', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => 'NaN', lon => 28.71, description => 'x' }, 'NaN latitude'],
		[400, 'res', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => 'north', lon => 28.71, description => 'x' }, 'a latitude that is not a number (PostgREST\'s 22P02)'],
		[400, 'res', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => -23.9, lon => 29.45, description => 'x' }, 'outside the community'],
		[404, 'res', 'POST', 'report_incident', { community => 'atlantis', category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'unknown community'],
		[401, 'anon', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'a report without a token'],
		[401, 'forged_anon', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'a token with role naboom_anon and a sub (forged identity)'],
		[403, 'forged_sub', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'a sub that is not a string'],
		[403, 'stranger', 'POST', 'report_incident', { community => $C, category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'not a member'],
		[403, 'res', 'POST', 'set_member_role', { community => $C, user_ref => 'pg-res', role => 'admin' }, 'one\'s own role'],
		[400, 'admin', 'POST', 'set_member_role', { community => $C, user_ref => 'pg-mod', role => 'emperor' }, 'unknown role (bad enum)'],
		[404, 'mod', 'POST', 'transition_incident', { reference => 'NB-0000-0000', status => 'verified' }, 'unknown reference'],
		[400, 'mod', 'POST', 'transition_incident', { reference => $ref, status => 'teleported' }, 'unknown status'],
		[400, 'resp', 'GET', 'incident_queue', { community => $C, after => 'not-a-cursor' }, 'a bad cursor'],
		[400, 'resp', 'GET', 'incident_queue', { community => $C, max_count => -1 }, 'a negative page size'],
		[400, 'resp', 'GET', 'incident_queue', { community => $C, priorities => ['urgentest'] }, 'unknown priority'],
		[400, 'anon', 'GET', 'incidents_near', { lat => -24.52, lon => 28.71, statuses => ['bogus'] }, 'unknown status in a list'],
		[400, 'anon', 'GET', 'incidents_near', { lat => -24.52, lon => 'Infinity' }, 'infinite longitude'],
		[400, 'anon', 'GET', 'community_incidents', { community => $C, search => '   ' }, 'a blank search'],
		[400, 'anon', 'GET', 'community_incidents', { community => $C, since => 'yesterday-ish' }, 'a time that is not one (22007)'],
		[404, 'anon', 'GET', 'categories', { community => 'atlantis' }, 'categories of an unknown community'],
		[403, 'res', 'GET', 'incident_audit', { reference => $ref }, 'a resident reading the audit trail'],
		[403, 'svc', 'GET', 'export_my_data', {}, 'export without a person'],
		[400, 'res', 'GET', 'my_alerts', { max_count => 0 }, 'a zero page size'],
		[404, 'res2', 'POST', 'unsubscribe', { id => 999999 }, 'an alert area one does not have'],
		[400, 'res', 'POST', 'update_my_profile', { community => $C, language => 'klingon' }, 'unknown language'],
		[400, 'res', 'POST', 'update_my_profile', { community => $C, phone => 'call me' }, 'a bad phone number'],
		[400, 'admin', 'POST', 'upsert_area', { community => $C, code => 'bad', name => 'Bad', boundary => '{"type":"Point"}' }, 'bad GeoJSON'],
		[405, 'res', 'GET', 'report_incident', { community => $C, category => 'stock_theft', lat => -24.52, lon => 28.71, description => 'x' }, 'a writer called with GET (READ ONLY: 25006)'],
		[404, 'res', 'POST', 'report_incident', { community => $C, colour => 'red' }, 'an argument the function does not have (PGRST202)'],
		[400, 'anon', 'GET', 'open311_requests', { jurisdiction_id => $C, status => 'pending' }, 'GET /requests.json?status=pending'],
		[404, 'anon', 'GET', 'open311_request', { jurisdiction_id => $C, service_request_id => $pref }, 'GET /requests/{the panic}.json'],
		[400, 'anon', 'GET', 'open311_services', { jurisdiction_id => $C, format => 'yaml' }, 'GET /services.yaml'],
		[403, 'svc', 'POST', 'open311_post_request', { jurisdiction_id => $C, service_code => 'stock_theft', lat => -24.52, long => 28.71, description => 'x' }, 'POST /requests.json without a person'],
		[400, 'res', 'POST', 'open311_post_request', { jurisdiction_id => $C, service_code => 'stock_theft', lat => 'NaN', long => 28.71, description => 'x' }, 'POST /requests.json with NaN'],
		[403, 'res', 'POST', 'open311_post_request', { jurisdiction_id => $C, service_code => 'stock_theft', lat => -24.52, long => 28.71, description => 'x', account_id => 'pg-admin' }, 'POST /requests.json for another account_id (forged identity)'],
	);
	$who{forged_anon} = { role => 'naboom_anon', sub => 'pg-res' };
	$who{forged_sub} = { role => 'naboom_user', sub => { id => 7 } };
	$who{stranger} = person('pg-stranger');
	for my $m (@mistakes) {
		my ($st, $w, $method, $fn, $args, $what) = @$m;
		my $r = call($w, $method, $fn, $args);
		check($r->{status} == $st && $r->{status} < 500, "mistake, $what: $method $fn answers $st",
			"got $r->{status}: " . short($r));
		if ($fn =~ /^open311_/) {
			check(ref $r->{json} eq 'ARRAY' && ($r->{json}[0]{code} // 0) == $st && length($r->{json}[0]{description} // ''),
				"  as a GeoReport error document [{code: $st, description}]", short($r));
		} elsif ($r->{status} < 500) {
			check(ref $r->{json} eq 'HASH' && length($r->{json}{code} // '') && length($r->{json}{message} // ''),
				'  with a PostgREST error body {code, message, details, hint}', short($r));
		}
	}
	# forwarding to authorities (issue 16): the admin sets SAPS up, a
	# moderator forwards the stock theft, the service's worker claims and
	# delivers it, SAPS's update comes back
	ok_call(201, 'admin', 'POST', 'upsert_authority', { community => $C, code => 'saps', name_en => 'SAPS',
		name_af => 'SAPD', kind => 'police', endpoint => 'http://127.0.0.1:1/saps' });
	ok_call(201, 'admin', 'POST', 'upsert_forwarding_rule', { community => $C, code => 'stock', authority => 'saps',
		categories => ['stock_theft'], fire_on => 'request' });
	ok_call(201, 'mod', 'POST', 'forward_incident', { reference => $ref, authority => 'saps', note => 'Tracks north' });
	ok_call(200, 'mod', 'GET', 'incident_forwardings', { reference => $ref });
	$res = ok_call(200, 'svc', 'POST', 'claim_forwardings', { authority => 'saps', max_count => 10, lease => '1 minute' });
	my $fid = (ref $res->{json} eq 'ARRAY' && @{$res->{json}}) ? $res->{json}[0]{id} : 0;
	ok_call(200, 'svc', 'POST', 'forwarding_delivered', { id => $fid, external_id => 'CAS 9/12/2026' });
	ok_call(200, 'svc', 'POST', 'forwarding_failed', { id => $fid, error => 'late report' });
	ok_call(200, 'svc', 'POST', 'authority_update', { authority => 'saps', external_id => 'CAS 9/12/2026',
		status => 'case_opened', update_id => 'pg-u1' });
	# a cursor expired by retention is a 410, but here nothing expired: a
	# sync from scratch works, and a cursor from another list is refused
	$res = call('anon', 'GET', 'incident_changes', { after => $cursor });
	check($res->{status} == 400 && ($res->{json}{details} // '') =~ /^naboom\.invalid_cursor/,
		'mistake, another list\'s cursor to incident_changes: 400 invalid_cursor', short($res));
	1;
};
check($story, 'the story ran to its end', $@) unless $story;

# ---------------------------------------------------------------- coverage, from pg_proc
my $routines = $api->routines;
my $log = $api->log;
for my $fn (sort keys %$routines) {
	my $want = $routines->{$fn}{volatility} eq 'v' ? 'POST' : 'GET';
	my @calls = grep { $_->{fn} eq $fn && $_->{method} eq $want } @$log;
	# answered: the function's own answer, not an error body (health's
	# answer may be a 503, set in response.status, where its writer does
	# not serve this database)
	check(scalar(grep { !$_->{error} && ($_->{status} < 300 || $fn eq 'health') } @calls),
		"$fn: called as $want through the replay, and answered", scalar(@calls) . " $want calls, statuses "
		. join(',', map { $_->{status} } @calls));
}
my @get_rw = grep { $_->{method} eq 'GET' && defined $_->{read_only} && !$_->{read_only} } @$log;
check(!@get_rw && grep({ $_->{method} eq 'GET' } @$log) > 0, 'every GET ran in a READ ONLY transaction',
	join(', ', map { $_->{fn} } @get_rw));
my @post_ro = grep { $_->{method} eq 'POST' && defined $_->{read_only} && $routines->{$_->{fn}}
	&& $routines->{$_->{fn}}{volatility} eq 'v' && $_->{read_only} } @$log;
check(!@post_ro, 'every POST of a VOLATILE function ran READ WRITE', join(', ', map { $_->{fn} } @post_ro));
my @fivehundred = grep { $_->{status} >= 500 && $_->{fn} ne 'health' } @$log;
check(!@fivehundred, 'no request answered 5xx (health may: 503 is its answer)',
	join(', ', map { "$_->{method} $_->{fn} $_->{status}" } @fivehundred));

# ---------------------------------------------------------------- TAP
print '1..' . scalar(@results) . "\n";
my ($n, $failed) = (0, 0);
for my $r (@results) {
	$n++;
	print(($r->[0] ? 'ok' : 'not ok') . " $n - $r->[1]\n");
	next if $r->[0];
	$failed++;
	print "#   $_\n" for split /\n/, ($r->[2] // '');
}
print "# postgrest: " . ($n - $failed) . " passed, $failed failed (" . scalar(@$log) . " requests)\n";
exit($failed ? 1 : 0);
