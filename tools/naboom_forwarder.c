/*-------------------------------------------------------------------------
 *
 * naboom_forwarder.c
 *	  naboom-forwarder: deliver naboom's forwardings to the authorities.
 *
 * The reference worker for the forwarding outbox (README "Forwarding to
 * authorities").  It connects as the naboom service and loops:
 *
 *	 1. claim_forwardings(authority, batch, lease) hands it due forwardings
 *		(FOR UPDATE SKIP LOCKED, so any number of workers can run at once);
 *	 2. each is POSTed as JSON (the payload naboom built) to the authority's
 *		endpoint with an Idempotency-Key header (the forwarding's key: every
 *		attempt of one forwarding carries the same one);
 *	 3. a 2xx answer is forwarding_delivered(id, external_id), external_id
 *		being the "external_id" (or "id", or "case_number") string of a JSON
 *		answer, if any; anything else (an HTTP error, a refused connection, a
 *		timeout) is forwarding_failed(id, error, retry_after), retry_after
 *		being the answer's Retry-After seconds, if any.  naboom decides the
 *		backoff and when a forwarding is dead.
 *
 * Delivery is at least once.  A crash, a kill or a lost connection between
 * the POST and the report leaves the row in flight; naboom hands it out
 * again when its lease ends, and the authority sees the same key again.
 * Order per incident and authority is naboom's: it never hands out a later
 * forwarding while an earlier one is undelivered.
 *
 * A lost database connection is retried with a backoff of 0.5 s doubling to
 * 10 s, forever; so is a failed first connection.  SIGINT and SIGTERM end
 * the program after the forwarding in hand (exit 0).
 *
 *	 naboom-forwarder [options] CONNINFO
 *	   --authority CODE	 only this authority's forwardings (default: all)
 *	   --batch N		 forwardings per claim (default 10)
 *	   --lease S		 seconds a claim is held (default 60)
 *	   --http-timeout S	 seconds one POST may take (default 10)
 *	   --poll-ms N		 pause when nothing is due (default 1000)
 *	   --role ROLE		 SET ROLE after connecting (e.g. naboom_service)
 *
 * Diagnostics go to stderr, one line per event, prefixed "naboom-forwarder: ".
 * Exit status: 0 on SIGINT/SIGTERM; 1 bad usage or a local failure; 2 the
 * server refused a statement for a reason a retry cannot fix (its SQLSTATE
 * and message are printed), e.g. the role is not the service.
 *
 * tools/naboom_forwarder.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "libpq-fe.h"

#define PROGNAME			"naboom-forwarder"
#define BACKOFF_FIRST_MS	500
#define BACKOFF_MAX_MS		10000
#define MAX_BODY			65536

#define EXIT_LOCAL_ERROR	1
#define EXIT_SERVER_ERROR	2

static volatile sig_atomic_t stop_requested = 0;

static const char *authority = NULL;
static int	batch = 10;
static int	lease_s = 60;
static int	http_timeout_s = 10;
static int	poll_ms = 1000;
static const char *role = NULL;

static void
say(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, PROGNAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	/* a signal interrupts the sleep: the loop then sees stop_requested */
	nanosleep(&ts, NULL);
}

/* ----------------------------------------------------------------- HTTP */

typedef struct Answer
{
	char		body[MAX_BODY];
	size_t		len;
	long		retry_after;	/* seconds, -1 when absent */
} Answer;

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	Answer	   *a = arg;
	size_t		bytes = size * n;
	size_t		room = sizeof(a->body) - 1 - a->len;

	if (bytes > room)
		bytes = room;			/* the rest is not needed */
	memcpy(a->body + a->len, data, bytes);
	a->len += bytes;
	a->body[a->len] = '\0';
	return size * n;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	Answer	   *a = arg;
	size_t		bytes = size * n;

	if (bytes > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
	{
		char	   *end;
		long		v = strtol(data + 12, &end, 10);

		if (end != data + 12 && v >= 0 && v <= 86400)
			a->retry_after = v;
	}
	return bytes;
}

/*
 * json_string_field finds "name": "value" in a small JSON answer and copies
 * value (escapes kept as they are; ids are plain).  Enough for an id, and no
 * JSON library needed.
 */
static bool
json_string_field(const char *json, const char *name, char *out, size_t outlen)
{
	char		key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\"", name);
	for (p = strstr(json, key); p != NULL; p = strstr(p + 1, key))
	{
		const char *q = p + strlen(key);
		size_t		i = 0;

		while (isspace((unsigned char) *q))
			q++;
		if (*q != ':')
			continue;
		q++;
		while (isspace((unsigned char) *q))
			q++;
		if (*q != '"')
			continue;
		q++;
		while (*q && *q != '"' && i + 1 < outlen)
		{
			if (*q == '\\' && q[1])
				q++;
			out[i++] = *q++;
		}
		out[i] = '\0';
		return i > 0;
	}
	return false;
}

/*
 * post delivers one payload.  Returns true for a 2xx answer (external_id
 * filled if the answer named one); else false with error and retry_after set.
 */
static bool
post(CURL *curl, const char *url, const char *key, const char *payload,
	 char *external_id, size_t idlen, char *error, size_t errlen, long *retry_after)
{
	static Answer answer;
	struct curl_slist *headers = NULL;
	char		keyhdr[512];
	char		curlerr[CURL_ERROR_SIZE] = "";
	CURLcode	rc;
	long		status = 0;

	answer.len = 0;
	answer.body[0] = '\0';
	answer.retry_after = -1;
	external_id[0] = '\0';
	*retry_after = -1;

	snprintf(keyhdr, sizeof(keyhdr), "Idempotency-Key: %s", key);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, keyhdr);

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long) http_timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long) http_timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, PROGNAME);

	rc = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
	{
		snprintf(error, errlen, "%s", curlerr[0] ? curlerr : curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
	{
		if (!json_string_field(answer.body, "external_id", external_id, idlen) &&
			!json_string_field(answer.body, "case_number", external_id, idlen))
			json_string_field(answer.body, "id", external_id, idlen);
		return true;
	}
	snprintf(error, errlen, "HTTP %ld%s%.200s", status, answer.len ? ": " : "", answer.body);
	*retry_after = answer.retry_after;
	return false;
}

/* ------------------------------------------------------------- database */

static PGconn *
connect_db(const char *conninfo)
{
	int			backoff = BACKOFF_FIRST_MS;

	while (!stop_requested)
	{
		PGconn	   *conn = PQconnectdb(conninfo);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			PGresult   *res = PQexec(conn, "SET application_name = '" PROGNAME "'");

			PQclear(res);
			if (role != NULL)
			{
				char	   *quoted = PQescapeIdentifier(conn, role, strlen(role));
				char		sql[300];

				snprintf(sql, sizeof(sql), "SET ROLE %s", quoted ? quoted : "\"\"");
				PQfreemem(quoted);
				res = PQexec(conn, sql);
				if (PQresultStatus(res) != PGRES_COMMAND_OK)
				{
					say("cannot SET ROLE %s: %s", role, PQerrorMessage(conn));
					PQclear(res);
					PQfinish(conn);
					exit(EXIT_SERVER_ERROR);
				}
				PQclear(res);
			}
			say("connected");
			return conn;
		}
		say("cannot connect (retrying in %d ms): %s", backoff, PQerrorMessage(conn));
		PQfinish(conn);
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/*
 * check says whether a statement succeeded.  A lost connection is false (the
 * caller reconnects); an error the server raised for the statement itself
 * (not the connection) is fatal for SQLSTATE class 42 (privileges: not the
 * service) and otherwise logged and false.
 */
static bool
check(PGconn *conn, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	const char *state;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return true;
	if (PQstatus(conn) != CONNECTION_OK)
	{
		say("%s: connection lost: %s", what, PQerrorMessage(conn));
		return false;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	say("%s failed: %s %s", what, state ? state : "?", PQresultErrorMessage(res));
	if (state != NULL && strncmp(state, "42", 2) == 0)
		exit(EXIT_SERVER_ERROR);
	return false;
}

static bool
report(PGconn *conn, const char *id, bool ok, const char *external_id,
	   const char *error, long retry_after)
{
	PGresult   *res;
	bool		done;

	if (ok)
	{
		const char *params[2] = {id, external_id[0] ? external_id : NULL};

		res = PQexecParams(conn,
						   "SELECT state FROM naboom_api.forwarding_delivered($1::bigint, $2)",
						   2, NULL, params, NULL, NULL, 0);
	}
	else
	{
		char		after[32];
		const char *params[3] = {id, error, NULL};

		if (retry_after >= 0)
		{
			snprintf(after, sizeof(after), "%ld seconds", retry_after);
			params[2] = after;
		}
		res = PQexecParams(conn,
						   "SELECT state FROM naboom_api.forwarding_failed($1::bigint, $2, $3::interval)",
						   3, NULL, params, NULL, NULL, 0);
	}
	done = check(conn, res, ok ? "forwarding_delivered" : "forwarding_failed");
	if (done && PQntuples(res) == 1)
		say("forwarding %s: %s%s%s", id, PQgetvalue(res, 0, 0),
			ok && external_id[0] ? " as " : (ok ? "" : " after "),
			ok ? external_id : error);
	PQclear(res);
	return done;
}

/* ----------------------------------------------------------------- main */

static void
usage(void)
{
	fprintf(stderr,
			"usage: " PROGNAME " [--authority CODE] [--batch N] [--lease S] [--http-timeout S]\n"
			"                        [--poll-ms N] [--role ROLE] CONNINFO\n");
	exit(EXIT_LOCAL_ERROR);
}

static int
int_arg(const char *s, int lo, int hi)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
	{
		fprintf(stderr, PROGNAME ": %s is not a number from %d to %d\n", s, lo, hi);
		usage();
	}
	return (int) v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"authority", required_argument, NULL, 'a'},
		{"batch", required_argument, NULL, 'b'},
		{"lease", required_argument, NULL, 'l'},
		{"http-timeout", required_argument, NULL, 't'},
		{"poll-ms", required_argument, NULL, 'p'},
		{"role", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0}
	};
	const char *conninfo;
	struct sigaction sa;
	PGconn	   *conn = NULL;
	CURL	   *curl;
	int			c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'a':
				authority = optarg;
				break;
			case 'b':
				batch = int_arg(optarg, 1, 1000);
				break;
			case 'l':
				lease_s = int_arg(optarg, 1, 3600);
				break;
			case 't':
				http_timeout_s = int_arg(optarg, 1, 600);
				break;
			case 'p':
				poll_ms = int_arg(optarg, 10, 600000);
				break;
			case 'r':
				role = optarg;
				break;
			default:
				usage();
		}
	}
	if (optind != argc - 1)
		usage();
	conninfo = argv[optind];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (curl = curl_easy_init()) == NULL)
	{
		say("cannot initialise libcurl");
		return EXIT_LOCAL_ERROR;
	}

	while (!stop_requested)
	{
		PGresult   *res;
		char		lease[32];
		char		count[16];
		const char *params[3];
		int			i,
					n;

		if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		{
			if (conn != NULL)
				PQfinish(conn);
			if ((conn = connect_db(conninfo)) == NULL)
				break;
		}
		snprintf(lease, sizeof(lease), "%d seconds", lease_s);
		snprintf(count, sizeof(count), "%d", batch);
		params[0] = authority;
		params[1] = count;
		params[2] = lease;
		res = PQexecParams(conn,
						   "SELECT id, endpoint, idempotency_key, payload::text, attempt, reference, seq"
						   " FROM naboom_api.claim_forwardings($1, $2::integer, $3::interval)",
						   3, NULL, params, NULL, NULL, 0);
		if (!check(conn, res, "claim_forwardings"))
		{
			PQclear(res);
			if (PQstatus(conn) == CONNECTION_OK)
				sleep_ms(poll_ms);
			continue;
		}
		n = PQntuples(res);
		for (i = 0; i < n && !stop_requested; i++)
		{
			const char *id = PQgetvalue(res, i, 0);
			char		external_id[256];
			char		error[512];
			long		retry_after;
			bool		ok;

			say("forwarding %s (%s #%s, attempt %s) to %s", id, PQgetvalue(res, i, 5),
				PQgetvalue(res, i, 6), PQgetvalue(res, i, 4), PQgetvalue(res, i, 1));
			ok = post(curl, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
					  external_id, sizeof(external_id), error, sizeof(error), &retry_after);
			if (!report(conn, id, ok, external_id, error, retry_after) &&
				PQstatus(conn) != CONNECTION_OK)
				break;			/* the rest come back when their lease ends */
		}
		PQclear(res);
		if (n == 0)
			sleep_ms(poll_ms);
	}
	if (conn != NULL)
		PQfinish(conn);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	say("stopped");
	return 0;
}
