package postgrest_replay;
# PostgREST 12's handling of an RPC request, replayed over one database
# connection, so the test command can prove naboom's contract with the
# gateway without a PostgREST binary (none can be installed here).  It
# follows PostgREST 12.2's source (github.com/PostgREST/postgrest, tag
# v12.2.9): src/PostgREST/Query.hs (the transaction and setPgLocals),
# Query/QueryBuilder.hs callPlanToQuery and Query/SqlFragment.hs
# fromJsonBodyF (the call with named arguments from the JSON body),
# Query/Statements.hs prepareCall (the result shaping and the response GUCs
# read back), SchemaCache.hs mediaHandlers (a domain named */* is the "any"
# handler) and Error.hs pgErrorStatus (SQLSTATE -> HTTP status).
#
# Per request, as PostgREST does for POST /rpc/fn or GET /rpc/fn?args:
#   1. BEGIN ISOLATION LEVEL READ COMMITTED, READ ONLY for GET and for
#      STABLE or IMMUTABLE functions, READ WRITE otherwise;
#   2. one statement of set_config(..., true): search_path (the exposed
#      schema, then public), role (the token's "role" claim, or the anon
#      role without a token), request.jwt.claims, request.method,
#      request.path, request.headers (JSON, lower-case names),
#      request.cookies;
#   3. the call: WITH pgrst_source AS (SELECT pgrst_call.* FROM (SELECT $1
#      AS json_data) pgrst_payload, LATERAL (SELECT "a", "b" FROM
#      json_to_record(...) AS _("a" type, "b" type) LIMIT 1) pgrst_body,
#      LATERAL naboom_api.fn("a" := pgrst_body."a", ...) pgrst_call) with
#      the body's keys (GET: the query string's, as strings), the result
#      aggregated as PostgREST does (composite -> object, SETOF -> array,
#      scalar -> value, Accept: application/vnd.pgrst.object+json -> one
#      object or 406, a */* domain -> the text itself), and
#      response.headers and response.status read back in the same
#      statement;
#   4. COMMIT (ROLLBACK for a 406), or on error ROLLBACK and the status
#      pgErrorStatus gives, with the body {code, message, details, hint}.
# Token signatures are not checked: the claims are given as a hash (that
# part is PostgREST's, not naboom's contract).
use strict;
use warnings;
use DBI;
use JSON::PP;

my $JSON = JSON::PP->new->canonical;   # character strings: DBD::Pg encodes (pg_enable_utf8)

# new(dsn => ..., user => ..., password => ..., schema => 'naboom_api',
#     anon_role => 'naboom_anon')
sub new {
	my ($class, %o) = @_;
	my $dbh = DBI->connect($o{dsn}, $o{user}, $o{password},
		{ AutoCommit => 1, RaiseError => 0, PrintError => 0, PrintWarn => 0, pg_enable_utf8 => 1 })
		or die "postgrest_replay: cannot connect: $DBI::errstr\n";
	my $self = bless { dbh => $dbh, schema => $o{schema} // 'naboom_api',
		anon_role => $o{anon_role} // 'naboom_anon', log => [] }, $class;
	$self->load_schema_cache;
	return $self;
}

# The schema cache: every function of the exposed schema, its parameters
# (name, type, has a default), volatility and what it returns.
sub load_schema_cache {
	my ($self) = @_;
	my $rows = $self->{dbh}->selectall_arrayref(<<'SQL', { Slice => {} }, $self->{schema});
SELECT p.proname AS name, p.provolatile AS volatility, p.proretset AS setof,
	coalesce(p.proargnames, '{}') AS argnames,
	ARRAY(SELECT pg_catalog.format_type(u.t, NULL) FROM unnest(p.proargtypes) WITH ORDINALITY u(t, n) ORDER BY u.n) AS argtypes,
	p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
	coalesce(bt.typtype, rt.typtype) = 'c' AS composite,
	rt.typtype = 'd' AND (rt.typname = '*/*' OR rt.typname ~* '^[A-Za-z0-9.-]+/[A-Za-z0-9.\+-]+$') AS media_handler,
	rt.typname AS return_type, pg_catalog.quote_ident(tn.nspname) AS return_schema
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_type rt ON rt.oid = p.prorettype
JOIN pg_catalog.pg_namespace tn ON tn.oid = rt.typnamespace
LEFT JOIN pg_catalog.pg_type bt ON rt.typtype = 'd' AND bt.oid = rt.typbasetype
WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'f'
ORDER BY p.proname
SQL
	die "postgrest_replay: schema cache: " . $self->{dbh}->errstr . "\n" unless $rows;
	$self->{routines} = { map { $_->{name} => $_ } @$rows };
	return $self;
}

sub routines { my ($self) = @_; return $self->{routines}; }

# Every request made: { method, fn, status, read_only, error (an error body) }
sub log { my ($self) = @_; return $self->{log}; }

# PostgREST 12's pgErrorStatus (Error.hs): the HTTP status of a SQLSTATE.
# authed: the request carried a token.
sub error_status {
	my ($state, $message, $authed) = @_;
	return 503 if $state =~ /^08/;
	return 500 if $state =~ /^09/;
	return 403 if $state =~ /^0[LP]/;
	return 409 if $state eq '23503' || $state eq '23505';
	return 405 if $state eq '25006';
	return ($message =~ /requires a WHERE clause$/ ? 400 : 500) if $state eq '21000';
	return 500 if $state =~ /^25/;
	return 403 if $state =~ /^28/;
	return 500 if $state =~ /^(2D|38|39|3B|40)/;
	return 500 if $state eq '53400';
	return 503 if $state =~ /^53/;
	return 500 if $state =~ /^5[45]/;
	return 503 if $state eq '57P01';
	return 500 if $state =~ /^5[78]/ || $state =~ /^(F0|HV)/;
	return 400 if $state eq 'P0001';
	return 500 if $state =~ /^(P0|XX)/;
	return ($message =~ /^function xmlagg\(/ ? 406 : 404) if $state eq '42883';
	return 404 if $state eq '42P01';
	return 500 if $state eq '42P17';
	return ($authed ? 403 : 401) if $state eq '42501';
	if ($state =~ /^PT(\d+)$/) { my $n = $1 + 0; return ($n >= 100 && $n <= 999) ? $n : 500; }
	return 400;
}

sub _respond {
	my ($self, $r, $status, $headers, $body, $error) = @_;
	my %res = (status => $status, headers => $headers, body => $body);
	if (defined $body && ($headers->{'content-type'} // '') =~ m{^application/(vnd\.pgrst\.object\+)?json}) {
		$res{json} = eval { $JSON->decode($body) };
	}
	push @{$self->{log}}, { method => $r->{method}, fn => $r->{fn}, status => $status,
		read_only => $r->{read_only}, error => $error ? 1 : 0 };
	return \%res;
}

sub _pgrst_error {
	my ($self, $r, $status, $code, $message, $details, $hint) = @_;
	return $self->_respond($r, $status, { 'content-type' => 'application/json; charset=utf-8' },
		$JSON->encode({ code => $code, message => $message, details => $details, hint => $hint }), 1);
}

# request(method => 'GET'|'POST', fn => 'get_incident', args => {...},
#         claims => {...} or undef, headers => {...}, accept => '...')
# Returns { status, headers => {lower-case name => value}, body, json }.
sub request {
	my ($self, %q) = @_;
	my $dbh = $self->{dbh};
	my $method = uc($q{method} // 'POST');
	my $fn = $q{fn};
	my $args = $q{args} // {};
	my $claims = $q{claims};
	my $accept = $q{accept} // 'application/json';
	my $r = { method => $method, fn => $fn };
	my $routine = $self->{routines}{$fn};

	# GET: the query string's values are strings (arrays as {a,b})
	if ($method eq 'GET') {
		$args = { map { my $v = $args->{$_};
			($_ => (ref $v eq 'ARRAY' ? '{' . join(',', @$v) . '}' : defined $v ? "$v" : undef)) } keys %$args };
	}
	# The function whose parameters the keys name, all its required ones
	# given (PGRST202 otherwise)
	my @names = $routine ? @{$routine->{argnames}} : ();
	my %known = map { $_ => 1 } @names;
	my $required = $routine ? $routine->{nargs} - $routine->{ndefaults} : 0;
	if (!$routine || grep({ !$known{$_} } keys %$args)
		|| grep({ !exists $args->{$names[$_]} } 0 .. $required - 1)) {
		return $self->_pgrst_error($r, 404, 'PGRST202',
			"Could not find the function $self->{schema}.$fn(" . join(', ', sort keys %$args) . ") in the schema cache",
			undef, undef);
	}
	my $single = $accept =~ m{^application/vnd\.pgrst\.object\+json};
	my $read_only = $method eq 'GET' || $method eq 'HEAD' || $routine->{volatility} ne 'v';
	$r->{read_only} = $read_only;
	# App.hs: authenticated = the role is not the anon role (a token whose
	# role claim is the anon role is anonymous: 42501 -> 401)
	my $role = defined $claims ? ($claims->{role} // $self->{anon_role}) : $self->{anon_role};
	my $authed = $role ne $self->{anon_role};
	my $claims_json = $JSON->encode(defined $claims ? $claims : { role => $self->{anon_role} });
	my %headers = (accept => $accept, 'content-type' => 'application/json',
		'user-agent' => 'postgrest-replay', %{$q{headers} // {}});
	%headers = map { lc($_) => $headers{$_} } keys %headers;
	$headers{authorization} //= 'Bearer (signed token)' if defined $claims;

	# the call (QueryBuilder.callPlanToQuery, SqlFragment.fromJsonBodyF)
	my $i = 0;
	my %type = map { $names[$_] => $routine->{argtypes}[$_] } 0 .. $#names;
	my @keys = grep { exists $args->{$_} } @names;
	my $qi = qq{"$self->{schema}"."$fn"};
	my $scalar = !$routine->{composite};
	my $from = @keys
		? 'FROM (SELECT $1::json AS json_data) pgrst_payload, LATERAL (SELECT '
			. join(', ', map { qq{"$_"} } @keys) . ' FROM json_to_record(pgrst_payload.json_data) AS _('
			. join(', ', map { qq{"$_" $type{$_}} } @keys) . ') LIMIT 1) pgrst_body, LATERAL '
		: 'FROM ';
	my $call = "$qi(" . join(', ', map { qq{"$_" := pgrst_body."$_"} } @keys) . ')';
	my $callq = $scalar
		? "SELECT pgrst_call.pgrst_scalar $from(SELECT $call pgrst_scalar) pgrst_call"
		: "SELECT pgrst_call.* $from$call pgrst_call";
	# the body (SqlFragment.handlerF: asJsonF, asJsonSingleF, customFuncF)
	my $returns_single = !$routine->{setof};
	my $handler;
	if ($single) {
		$handler = $scalar ? "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')"
			: "coalesce(json_agg(_postgrest_t)->0, 'null')";
	} elsif ($routine->{media_handler}) {
		$handler = qq{$routine->{return_schema}."$routine->{return_type}"(_postgrest_t.pgrst_scalar)};
	} elsif ($returns_single && !$scalar) {
		$handler = "coalesce(json_agg(_postgrest_t)->0, 'null')";
	} elsif ($scalar) {
		$handler = $returns_single ? "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')"
			: "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')";
	} else {
		$handler = "coalesce(json_agg(_postgrest_t), '[]')";
	}
	my $sql = "WITH pgrst_source AS ($callq) SELECT NULL::bigint AS total_result_set, "
		. ($returns_single ? '1' : 'pg_catalog.count(_postgrest_t)') . " AS page_total, $handler AS body, "
		. "nullif(current_setting('response.headers', true), '') AS response_headers, "
		. "nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted "
		. "FROM (SELECT * FROM pgrst_source) _postgrest_t";

	my $fail = sub {
		my $state = $dbh->pg_error_field('state') // 'XX000';
		my $msg = $dbh->pg_error_field('primary') // $dbh->errstr;
		my $detail = $dbh->pg_error_field('detail');
		my $hint = $dbh->pg_error_field('hint');
		$dbh->do('ROLLBACK');
		return $self->_pgrst_error($r, error_status($state, $msg, $authed), $state, $msg, $detail, $hint);
	};
	$dbh->do('BEGIN ISOLATION LEVEL READ COMMITTED ' . ($read_only ? 'READ ONLY' : 'READ WRITE'))
		or die "postgrest_replay: BEGIN: " . $dbh->errstr . "\n";
	my $locals = $dbh->selectrow_arrayref(
		"SELECT set_config('search_path', \$1, true), set_config('role', \$2, true), "
		. "set_config('request.jwt.claims', \$3, true), set_config('request.method', \$4, true), "
		. "set_config('request.path', \$5, true), set_config('request.headers', \$6, true), "
		. "set_config('request.cookies', '{}', true), current_setting('transaction_read_only')",
		undef, qq{"$self->{schema}", "public"}, $role, $claims_json, $method, "/rpc/$fn",
		$JSON->encode(\%headers));
	return $fail->() unless $locals;
	$r->{read_only} = $locals->[7] eq 'on';
	my $row = $dbh->selectrow_hashref($sql, undef, @keys ? ($JSON->encode({ map { $_ => $args->{$_} } @keys })) : ());
	return $fail->() unless $row;

	# the response GUCs (App.hs / Response.hs: PGRST111, PGRST112)
	my %out = ('content-type' => $routine->{media_handler} && !$single ? 'application/octet-stream'
		: $single ? 'application/vnd.pgrst.object+json; charset=utf-8' : 'application/json; charset=utf-8');
	if (defined $row->{response_headers}) {
		my $h = eval { $JSON->decode($row->{response_headers}) };
		if (ref $h ne 'ARRAY' || grep { ref $_ ne 'HASH' } @$h) {
			$dbh->do('ROLLBACK');
			return $self->_pgrst_error($r, 500, 'PGRST111', 'response.headers guc must be a JSON array composed of objects with a single key and a string value', undef, undef);
		}
		for my $o (@$h) { $out{lc $_} = $o->{$_} for keys %$o; }
	}
	my $status = 200;
	if (defined $row->{response_status}) {
		if ($row->{response_status} !~ /^\d+$/) {
			$dbh->do('ROLLBACK');
			return $self->_pgrst_error($r, 500, 'PGRST112', 'response.status guc must be a valid status code', undef, undef);
		}
		$status = $row->{response_status} + 0;
	}
	if ($single && $row->{page_total} != 1) {
		$dbh->do('ROLLBACK');
		return $self->_pgrst_error($r, 406, 'PGRST116', 'JSON object requested, multiple (or no) rows returned',
			"The result contains $row->{page_total} rows", undef);
	}
	$dbh->do('COMMIT') or return $fail->();
	return $self->_respond($r, $status, \%out, $row->{body});
}

1;
