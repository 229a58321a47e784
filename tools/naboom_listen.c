/*-------------------------------------------------------------------------
 *
 * naboom_listen.c
 *	  naboom-listen: follow naboom's event stream in real time.
 *
 * The durable event table is the truth; NOTIFY is only a doorbell (design
 * §5).  So the client keeps one cursor, the id of the last event it
 * printed, and every fetch is events_since(cursor).  A notification, a
 * reconnect and the start-up all lead to the same fetch, which is why no
 * event can be lost (LISTEN is in force before the first fetch of every
 * connection) or printed twice (rows at or below the cursor are skipped).
 * A notification's payload is never read for content; only the channel and
 * the id of a naboom_panic notification are kept, to mark that event.
 * With --community the client follows one community's stream
 * (events_since(cursor, n, community)): the only kind a Citus cluster has,
 * where each community's events are numbered on their own; every
 * notification still only rings the bell.
 *
 * Output (stdout), one line per event, flushed at once:
 *
 *		<id> TAB <at> TAB <topic> TAB <community> TAB <reference> TAB <payload>
 *
 * <at> is UTC, "2024-05-01T08:15:30.123456Z"; <reference> is empty when the
 * event has none; <payload> is the jsonb as text.  A panic event, that is
 * one whose topic starts with "panic." or whose id was announced on
 * naboom_panic, is the same line with "PANIC" and a TAB in front; each
 * event is printed once, so the prefix appears once.  A TAB, newline or
 * carriage return inside a field (never expected) is printed as a space so
 * that an event is always exactly one line.
 *
 * Diagnostics go to stderr, each line prefixed "naboom-listen: ".
 *
 * Exit status: 0 after --count events or on SIGINT/SIGTERM; 1 bad usage or
 * a local failure (cannot write stdout); 2 the server refused a statement
 * (its SQLSTATE and message are printed); 3 --timeout passed without an
 * event.  Lost connections and failed connection attempts are retried with
 * a backoff of 0.5 s doubling to 10 s, and never end the program.
 *
 * Everything waits in poll() on the connection's socket and on a self-pipe
 * written by the signal handler, so SIGINT, SIGTERM and --timeout are
 * honoured at once, even during a connection attempt or a query.
 *
 * tools/naboom_listen.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define PROGNAME			"naboom-listen"

/* rows per catch-up query; a shorter page means the stream is drained */
#define CATCHUP_BATCH		500
#define CATCHUP_BATCH_TEXT	"500"

#define BACKOFF_FIRST_MS	500
#define BACKOFF_MAX_MS		10000
#define CONNECT_TIMEOUT_MS	10000

/* ids announced on naboom_panic whose event is not printed yet */
#define MAX_PANIC_IDS		64

#define EXIT_LOCAL_ERROR	1		/* bad usage, or cannot write stdout */
#define EXIT_SERVER_ERROR	2
#define EXIT_IDLE_TIMEOUT	3

#define EVENTS_SQL \
	"SELECT e.id, e.topic, e.community, coalesce(e.reference, ''), " \
	"pg_catalog.to_char(e.at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), " \
	"e.payload::pg_catalog.text " \
	"FROM naboom_api.events_since($1::pg_catalog.int8, $2::pg_catalog.int4, $3::pg_catalog.text) AS e " \
	"ORDER BY e.id"

#define CLAIMS_SQL \
	"SELECT pg_catalog.set_config('request.jwt.claims', " \
	"pg_catalog.json_build_object('sub', $1::pg_catalog.text)::pg_catalog.text, " \
	"false)"

#define LISTEN_SQL			"LISTEN naboom_events; LISTEN naboom_panic"

/* what a step ended with; everything but OUT_OK unwinds to Run() */
typedef enum Outcome
{
	OUT_OK,						/* carry on */
	OUT_LOST,					/* connection lost or refused: reconnect */
	OUT_STOP,					/* SIGINT or SIGTERM: exit 0 */
	OUT_DONE,					/* --count events printed: exit 0 */
	OUT_IDLE,					/* --timeout passed without an event: exit 3 */
	OUT_SERVER_ERROR,			/* the server refused a statement: exit 2 */
	OUT_LOCAL_ERROR				/* cannot write stdout, poll failed: exit 1 */
} Outcome;

typedef enum WaitResult
{
	WAIT_READY,					/* the socket is ready */
	WAIT_EXPIRED,				/* the caller's own deadline passed */
	WAIT_STOP,					/* a stop signal arrived */
	WAIT_IDLE,					/* --timeout passed */
	WAIT_ERROR					/* poll() failed */
} WaitResult;

/* command line */
static const char *optConninfo = "";
static const char *optSub = NULL;
static const char *optCommunity = NULL;	/* NULL: the whole stream */
static int64_t optAfter = 0;
static int64_t optCount = 0;	/* 0: no limit */
static int64_t optTimeoutMs = 0;	/* 0: no limit */
static bool optQuietCatchup = false;

/* the cursor: id of the last event printed (or --after) */
static int64_t lastId = 0;
static int64_t printedCount = 0;

/* monotonic ms at which --timeout fires, or -1 */
static int64_t idleDeadline = -1;

static int64_t panicIds[MAX_PANIC_IDS];
static int	panicIdCount = 0;

/* the signal handler writes to stopPipe[1] so that poll() wakes up */
static int	stopPipe[2] = {-1, -1};
static volatile sig_atomic_t stopSignal = 0;

static void Log(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/*
 * Log
 *		One diagnostic line on stderr, with the program prefix.
 *
 * stdout carries only events, so that it can be piped into a consumer
 * as is; everything a person should read goes here.
 */
static void
Log(const char *fmt,...)
{
	va_list		ap;

	fputs(PROGNAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * LogText
 *		Log a libpq message, which may span lines, after a lead-in.
 *
 * Every line gets the program prefix, so that a log collector reading
 * stderr line by line keeps the continuation lines libpq adds (e.g. "Is
 * the server running on that host...?"); the trailing newline libpq ends
 * its messages with is dropped.
 */
static void
LogText(const char *leadIn, const char *msg)
{
	const char *line = msg;

	do
	{
		size_t		len = strcspn(line, "\n");

		if (len > 0 || line == msg)
			Log("%s%.*s", line == msg ? leadIn : "",
				len > INT_MAX ? INT_MAX : (int) len, line);
		line += len;
		if (*line == '\n')
			line++;
	} while (*line != '\0');
}

/*
 * PrintNotice
 *		libpq notice processor: server notices as diagnostics.
 *
 * The one that matters arrives while the connection is idle: the FATAL
 * "terminating connection" the server sends just before it hangs up, which
 * libpq hands to the notice processor.  Printing it with our prefix says
 * why the reconnect that follows happens.
 */
static void
PrintNotice(void *arg, const char *message)
{
	(void) arg;
	LogText("server: ", message);
}

/*
 * NowMs
 *		Milliseconds on the monotonic clock.
 *
 * Deadlines must not move when the wall clock is set, e.g. by NTP on a
 * machine that has just got its network back.
 */
static int64_t
NowMs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * HandleStopSignal
 *		SIGINT/SIGTERM: note the signal and wake whatever poll() is waiting.
 *
 * Only async-signal-safe work here; the main loop sees stopSignal at its
 * next wake-up, which the pipe makes immediate, and exits cleanly.
 */
static void
HandleStopSignal(int signo)
{
	int			saveErrno = errno;
	ssize_t		rc;

	stopSignal = signo;
	rc = write(stopPipe[1], "x", 1);
	(void) rc;					/* a full pipe will wake poll() anyway */
	errno = saveErrno;
}

/*
 * SetUpSignals
 *		Install the stop handler and the self-pipe it writes to.
 *
 * The pipe is non-blocking at both ends so that the handler can never
 * block, and close-on-exec so that it does not leak into children.
 */
static bool
SetUpSignals(void)
{
	struct sigaction sa;
	int			i;

	if (pipe(stopPipe) != 0)
		return false;
	for (i = 0; i < 2; i++)
	{
		if (fcntl(stopPipe[i], F_SETFL, O_NONBLOCK) != 0 ||
			fcntl(stopPipe[i], F_SETFD, FD_CLOEXEC) != 0)
			return false;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = HandleStopSignal;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGINT, &sa, NULL) == 0 &&
		sigaction(SIGTERM, &sa, NULL) == 0;
}

/*
 * Wait
 *		Wait until sock is ready for events, until untilMs (-1: no limit),
 *		until --timeout passes, or until a stop signal, whichever is first.
 *
 * With sock < 0 it is a plain, interruptible sleep.  This is the only place
 * the program blocks, which is what makes signals and --timeout reliable.
 */
static WaitResult
Wait(int sock, short events, int64_t untilMs)
{
	for (;;)
	{
		struct pollfd fds[2];
		int64_t		now = NowMs();
		int64_t		end = untilMs;
		int			nfds = 1;
		int			timeout;

		if (stopSignal)
			return WAIT_STOP;
		if (idleDeadline >= 0 && now >= idleDeadline)
			return WAIT_IDLE;
		if (untilMs >= 0 && now >= untilMs)
			return WAIT_EXPIRED;

		if (idleDeadline >= 0 && (end < 0 || idleDeadline < end))
			end = idleDeadline;
		timeout = end < 0 ? -1 : (int) (end - now > INT_MAX ? INT_MAX : end - now);

		fds[0].fd = stopPipe[0];
		fds[0].events = POLLIN;
		if (sock >= 0)
		{
			fds[1].fd = sock;
			fds[1].events = events;
			nfds = 2;
		}
		if (poll(fds, nfds, timeout) < 0)
		{
			if (errno == EINTR)
				continue;
			Log("poll failed: %s", strerror(errno));
			return WAIT_ERROR;
		}
		/* POLLERR and POLLHUP count as ready: libpq will report them */
		if (nfds == 2 && fds[1].revents != 0)
			return WAIT_READY;
	}
}

/*
 * WaitOutcome
 *		The Outcome of a wait that did not end with the socket ready.
 */
static Outcome
WaitOutcome(WaitResult w)
{
	switch (w)
	{
		case WAIT_STOP:
			return OUT_STOP;
		case WAIT_IDLE:
			return OUT_IDLE;
		case WAIT_ERROR:
			return OUT_LOCAL_ERROR;
		default:
			return OUT_OK;
	}
}

/*
 * IsConnectionFailure
 *		Whether a failed statement means "reconnect" rather than "give up".
 *
 * A broken connection, an error libpq made up itself (no SQLSTATE), class
 * 08, the 57P0x family (terminated by an administrator, server shutting
 * down or starting up, idle session timeout) and the transient conflicts of
 * a standby are all cured by connecting again.  Anything else is the server
 * refusing us, e.g. a missing identity, and retrying would only hide it.
 */
static bool
IsConnectionFailure(PGconn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) == CONNECTION_BAD || state == NULL)
		return true;
	return strncmp(state, "08", 2) == 0 ||
		strncmp(state, "57P0", 4) == 0 ||
		strcmp(state, "40001") == 0 ||
		strcmp(state, "40P01") == 0;
}

/*
 * ConnectionLost
 *		Report a lost connection and ask for a reconnect.
 *
 * Only the first line is useful: the server's reason (e.g. "FATAL:
 * terminating connection due to administrator command") or libpq's
 * "server closed the connection unexpectedly".  What follows is the
 * server's context lines or libpq's guesses; the server log has them.
 */
static Outcome
ConnectionLost(PGconn *conn, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
	size_t		len = strcspn(msg, "\n");

	Log("connection lost: %.*s", len > INT_MAX ? INT_MAX : (int) len, msg);
	return OUT_LOST;
}

/*
 * CheckResult
 *		Turn the result of a statement into an Outcome, reporting failures.
 *
 * Server errors are printed with severity, SQLSTATE, message, detail and
 * hint, because naboom's errors carry their stable key in the detail and
 * the remedy in the hint.
 */
static Outcome
CheckResult(PGconn *conn, const PGresult *res)
{
	const char *severity;
	const char *primary;
	const char *detail;
	const char *hint;

	if (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
						PQresultStatus(res) == PGRES_COMMAND_OK))
		return OUT_OK;
	if (res == NULL || IsConnectionFailure(conn, res))
		return ConnectionLost(conn, res);

	severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	Log("%s %s: %s", severity ? severity : "ERROR",
		PQresultErrorField(res, PG_DIAG_SQLSTATE),
		primary ? primary : PQresultErrorMessage(res));
	if (detail)
		Log("DETAIL: %s", detail);
	if (hint)
		Log("HINT: %s", hint);
	return OUT_SERVER_ERROR;
}

/*
 * RunQuery
 *		Run sql (parameterised when nParams > 0) and wait for its results.
 *
 * Asynchronous, through Wait(), so that a signal or --timeout is not held
 * up by a slow server.  A multi-statement text yields several results: the
 * first error wins, else the last result is kept.  On OUT_OK *resultp is
 * the caller's to PQclear.  Notifications that arrive meanwhile stay queued
 * in libpq for DrainNotifications().
 */
static Outcome
RunQuery(PGconn *conn, const char *sql, int nParams,
		 const char *const *values, PGresult **resultp)
{
	PGresult   *result = NULL;
	PGresult   *next;
	Outcome		outcome;
	int			sent;

	*resultp = NULL;
	sent = nParams > 0 ?
		PQsendQueryParams(conn, sql, nParams, NULL, values, NULL, NULL, 0) :
		PQsendQuery(conn, sql);
	if (!sent)
		return ConnectionLost(conn, NULL);

	for (;;)
	{
		WaitResult	w;

		while (!PQisBusy(conn))
		{
			next = PQgetResult(conn);
			if (next == NULL)
			{
				outcome = CheckResult(conn, result);
				if (outcome == OUT_OK)
					*resultp = result;
				else
					PQclear(result);
				return outcome;
			}
			if (result != NULL && PQresultStatus(result) == PGRES_FATAL_ERROR)
				PQclear(next);
			else
			{
				PQclear(result);
				result = next;
			}
		}

		w = PQsocket(conn) < 0 ? WAIT_EXPIRED : Wait(PQsocket(conn), POLLIN, -1);
		if (w != WAIT_READY)
		{
			PQclear(result);
			return w == WAIT_EXPIRED ? ConnectionLost(conn, NULL) : WaitOutcome(w);
		}
		if (!PQconsumeInput(conn))
		{
			PQclear(result);
			return ConnectionLost(conn, NULL);
		}
	}
}

/*
 * NotePanicId
 *		Remember the id announced by a naboom_panic notification.
 *
 * The payload is only a hint: its id marks the event as a panic when that
 * event is fetched, nothing more.  Ids already printed are forgotten, and
 * when the list is full the oldest gives way; the topic rule in
 * PrintEvent() still marks every panic.* event.
 */
static void
NotePanicId(const char *payload)
{
	const char *p = payload;
	int64_t		id = 0;
	int			i,
				kept = 0;

	while (id == 0 && (p = strstr(p, "\"id\"")) != NULL)
	{
		char	   *end;
		long long	v;

		for (p += 4; *p == ' '; p++)
			;
		if (*p != ':')
			continue;
		errno = 0;
		v = strtoll(p + 1, &end, 10);
		if (end != p + 1 && errno == 0 && v > 0)
			id = v;
	}
	if (id <= lastId)
		return;

	/* keep the ids not printed yet, and this one once, at the end */
	for (i = 0; i < panicIdCount; i++)
	{
		if (panicIds[i] > lastId && panicIds[i] != id)
			panicIds[kept++] = panicIds[i];
	}
	panicIdCount = kept;
	if (panicIdCount == MAX_PANIC_IDS)
		memmove(panicIds, panicIds + 1, --panicIdCount * sizeof(int64_t));
	panicIds[panicIdCount++] = id;
}

/*
 * TakePanicId
 *		Whether id was announced on naboom_panic; forgets it either way.
 */
static bool
TakePanicId(int64_t id)
{
	int			i;

	for (i = 0; i < panicIdCount; i++)
	{
		if (panicIds[i] == id)
		{
			panicIds[i] = panicIds[--panicIdCount];
			return true;
		}
	}
	return false;
}

/*
 * DrainNotifications
 *		Consume every queued notification; true if there was any.
 *
 * Several notifications make one fetch, not one each: the fetch reads
 * everything after the cursor anyway.
 */
static bool
DrainNotifications(PGconn *conn)
{
	PGnotify   *notify;
	bool		any = false;

	while ((notify = PQnotifies(conn)) != NULL)
	{
		/*
		 * (one community's ids are not the stream's, nor, on a Citus
		 * cluster, another community's: with --community only the topic
		 * marks a panic)
		 */
		if (strcmp(notify->relname, "naboom_panic") == 0 && optCommunity == NULL)
			NotePanicId(notify->extra);
		any = true;
		PQfreemem(notify);
	}
	return any;
}

/*
 * PutField
 *		Print one field with a TAB in front of it (but the first).
 *
 * Control characters that would split the line become spaces, so a
 * consumer can always read one event per line.
 */
static void
PutField(const char *s, bool first)
{
	if (!first)
		putchar('\t');
	for (; *s; s++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

/*
 * PrintEvent
 *		Print row i of an events_since result and advance the cursor.
 *
 * A row at or below the cursor has been printed already and is skipped;
 * that is the "never twice" half of the contract.  The line is flushed
 * before the cursor moves, and a write failure stops the program, because
 * an event that could not be delivered must not count as delivered.
 */
static Outcome
PrintEvent(const PGresult *res, int i)
{
	int64_t		id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	const char *topic = PQgetvalue(res, i, 1);
	bool		panic;

	if (id <= lastId)
		return OUT_OK;
	panic = TakePanicId(id) || strncmp(topic, "panic.", 6) == 0;

	if (panic)
		PutField("PANIC", true);
	PutField(PQgetvalue(res, i, 0), !panic);
	PutField(PQgetvalue(res, i, 4), false);
	PutField(topic, false);
	PutField(PQgetvalue(res, i, 2), false);
	PutField(PQgetvalue(res, i, 3), false);
	PutField(PQgetvalue(res, i, 5), false);
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		Log("cannot write to stdout: %s", strerror(errno));
		return OUT_LOCAL_ERROR;
	}

	lastId = id;
	printedCount++;
	if (optTimeoutMs > 0)
		idleDeadline = NowMs() + optTimeoutMs;
	if (optCount > 0 && printedCount >= optCount)
		return OUT_DONE;
	return OUT_OK;
}

/*
 * CatchUp
 *		Print every event after the cursor, a page at a time.
 *
 * A page shorter than CATCHUP_BATCH means the stream is drained.  A full
 * page that did not move the cursor would repeat for ever, so it ends the
 * loop too (only a broken events_since could cause it).
 */
static Outcome
CatchUp(PGconn *conn)
{
	for (;;)
	{
		char		after[32];
		const char *values[3] = {after, CATCHUP_BATCH_TEXT, optCommunity};
		int64_t		before = lastId;
		PGresult   *res;
		Outcome		outcome;
		int			n,
					i;

		snprintf(after, sizeof(after), "%" PRId64, lastId);
		outcome = RunQuery(conn, EVENTS_SQL, 3, values, &res);
		if (outcome != OUT_OK)
			return outcome;

		n = PQntuples(res);
		for (i = 0; i < n && outcome == OUT_OK; i++)
			outcome = PrintEvent(res, i);
		PQclear(res);
		if (outcome != OUT_OK)
			return outcome;
		if (n < CATCHUP_BATCH || lastId == before)
			return OUT_OK;
	}
}

/*
 * Connect
 *		Open a connection, without blocking outside Wait().
 *
 * CONNINFO may be a connection string, a URI or a database name; the
 * environment fills in the rest as usual.  TCP keepalives are on by
 * default (CONNINFO may override them) because an idle listener otherwise
 * never learns that a silent network has dropped its connection.  Each
 * attempt is given CONNECT_TIMEOUT_MS.
 */
static Outcome
Connect(PGconn **connp)
{
	static const char *const keywords[] = {
		"fallback_application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", NULL
	};
	const char *const values[] = {
		PROGNAME, "60", "10", "3", optConninfo, NULL
	};
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	int64_t		giveUp = NowMs() + CONNECT_TIMEOUT_MS;
	PGconn	   *conn;

	*connp = conn = PQconnectStartParams(keywords, values, 1);
	if (conn == NULL)
	{
		Log("out of memory");
		return OUT_LOCAL_ERROR;
	}
	PQsetNoticeProcessor(conn, PrintNotice, NULL);

	while (PQstatus(conn) != CONNECTION_BAD && status != PGRES_POLLING_FAILED)
	{
		WaitResult	w;

		if (status == PGRES_POLLING_OK)
			return OUT_OK;
		w = Wait(PQsocket(conn),
				 status == PGRES_POLLING_READING ? POLLIN : POLLOUT, giveUp);
		if (w == WAIT_EXPIRED)
		{
			Log("could not connect: timeout after %d s", CONNECT_TIMEOUT_MS / 1000);
			return OUT_LOST;
		}
		if (w != WAIT_READY)
			return WaitOutcome(w);
		status = PQconnectPoll(conn);
	}
	LogText("could not connect: ", PQerrorMessage(conn));
	return OUT_LOST;
}

/*
 * StartSession
 *		Identity, LISTEN, then catch up from the cursor.
 *
 * The claims are a session setting, so they are set again on every
 * connection.  LISTEN comes before the first fetch: an event committed
 * between the two is then both fetched and announced, never neither.
 */
static Outcome
StartSession(PGconn *conn)
{
	PGresult   *res;
	Outcome		outcome;
	int64_t		before = printedCount;

	if (optSub != NULL)
	{
		outcome = RunQuery(conn, CLAIMS_SQL, 1, &optSub, &res);
		if (outcome != OUT_OK)
			return outcome;
		PQclear(res);
	}
	outcome = RunQuery(conn, LISTEN_SQL, 0, NULL, &res);
	if (outcome != OUT_OK)
		return outcome;
	PQclear(res);

	Log("connected to database %s on %s:%s as %s%s%s%s%s", PQdb(conn),
		PQhost(conn), PQport(conn), PQuser(conn),
		optSub ? ", member " : "", optSub ? optSub : "",
		optCommunity ? ", community " : "", optCommunity ? optCommunity : "");

	outcome = CatchUp(conn);
	if (outcome == OUT_OK && !optQuietCatchup)
		Log("caught up %" PRId64 " events, last id %" PRId64,
			printedCount - before, lastId);
	return outcome;
}

/*
 * Listen
 *		Wait for notifications and fetch after each batch of them.
 *
 * Notifications may already be queued in libpq (they arrive during
 * queries too), so the queue is drained before every wait; otherwise the
 * program could sleep on a quiet socket with a doorbell already rung.
 */
static Outcome
Listen(PGconn *conn)
{
	for (;;)
	{
		Outcome		outcome;
		WaitResult	w;

		if (DrainNotifications(conn))
		{
			outcome = CatchUp(conn);
			if (outcome != OUT_OK)
				return outcome;
			continue;
		}

		if (PQsocket(conn) < 0)
			return ConnectionLost(conn, NULL);
		w = Wait(PQsocket(conn), POLLIN, -1);
		if (w != WAIT_READY)
			return WaitOutcome(w);
		if (!PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD)
			return ConnectionLost(conn, NULL);
	}
}

/*
 * Backoff
 *		Sleep before the next connection attempt, and double the next sleep.
 */
static Outcome
Backoff(int *delayMs)
{
	WaitResult	w;

	Log("reconnecting in %.1f s", *delayMs / 1000.0);
	w = Wait(-1, 0, NowMs() + *delayMs);
	*delayMs = *delayMs * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *delayMs * 2;
	return w == WAIT_EXPIRED ? OUT_OK : WaitOutcome(w);
}

/*
 * Run
 *		Connect, follow the stream, and reconnect whenever it is lost.
 *
 * The backoff starts again from 0.5 s once a session got as far as
 * catching up, so one dropped connection does not inherit the long sleeps
 * of an earlier outage.  Returns the exit status.
 */
static int
Run(void)
{
	int			delayMs = BACKOFF_FIRST_MS;
	bool		retry = false;

	for (;;)
	{
		PGconn	   *conn = NULL;
		Outcome		outcome = OUT_OK;

		if (retry)
			outcome = Backoff(&delayMs);
		retry = true;
		if (outcome == OUT_OK)
			outcome = Connect(&conn);
		if (outcome == OUT_OK)
			outcome = StartSession(conn);
		if (outcome == OUT_OK)
		{
			delayMs = BACKOFF_FIRST_MS;
			outcome = Listen(conn);
		}
		PQfinish(conn);

		switch (outcome)
		{
			case OUT_LOST:
			case OUT_OK:
				continue;
			case OUT_STOP:
				Log("stopping on %s", stopSignal == SIGINT ? "SIGINT" : "SIGTERM");
				return 0;
			case OUT_DONE:
				return 0;
			case OUT_IDLE:
				Log("no event for %.3g s", optTimeoutMs / 1000.0);
				return EXIT_IDLE_TIMEOUT;
			case OUT_SERVER_ERROR:
				return EXIT_SERVER_ERROR;
			case OUT_LOCAL_ERROR:
				return EXIT_LOCAL_ERROR;
		}
	}
}

/*
 * Usage
 *		The help text.
 */
static void
Usage(FILE *out)
{
	fprintf(out,
			"Usage: " PROGNAME " [--after ID] [--sub USER_REF] [--community SLUG] [--count N]\n"
			"                     [--timeout SECONDS] [--quiet-catchup] [CONNINFO]\n"
			"\n"
			"Print naboom's events as they are committed, one line each:\n"
			"  [PANIC<TAB>]<id><TAB><at><TAB><topic><TAB><community><TAB><reference><TAB><payload>\n"
			"\n"
			"  --after ID         start after this event id (default 0: all events kept)\n"
			"  --sub USER_REF     act as this member (sets request.jwt.claims)\n"
			"  --community SLUG   follow this community's stream only (required on a Citus\n"
			"                     cluster, where each community's ids are its own)\n"
			"  --count N          exit 0 after N events\n"
			"  --timeout SECONDS  exit 3 when no event arrives for this long\n"
			"  --quiet-catchup    do not report \"caught up N events\" on stderr\n"
			"  CONNINFO           libpq connection string, URI or database name\n"
			"                     (default: PGHOST, PGPORT, PGDATABASE, PGUSER)\n"
			"\n"
			"Exit status: 0 count reached or SIGINT/SIGTERM, 1 usage or local error,\n"
			"2 server error, 3 timeout.  Lost connections are retried.\n");
}

/*
 * ParseInt64
 *		A whole decimal number in [min, INT64_MAX], or false.
 */
static bool
ParseInt64(const char *text, int64_t min, int64_t *out)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min)
		return false;
	*out = v;
	return true;
}

/*
 * ParseSeconds
 *		A positive number of seconds, possibly fractional, as milliseconds.
 */
static bool
ParseSeconds(const char *text, int64_t *outMs)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= 0.001 && v <= 1e9))
		return false;
	*outMs = (int64_t) (v * 1000.0 + 0.5);
	return true;
}

/*
 * CheckConninfo
 *		Reject a malformed connection string before the first attempt.
 *
 * Connection failures are retried for ever, so a typo in CONNINFO would
 * otherwise look like a server that is down.  A bare word is a database
 * name and needs no check.
 */
static bool
CheckConninfo(const char *conninfo)
{
	PQconninfoOption *opts;
	char	   *err = NULL;

	if (strchr(conninfo, '=') == NULL && strstr(conninfo, "://") == NULL)
		return true;
	opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
	{
		const char *msg = err ? err : "out of memory";

		LogText("invalid CONNINFO: ", msg);
		PQfreemem(err);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

/*
 * ParseOptions
 *		Read the command line into the opt* variables; false on bad usage.
 */
static bool
ParseOptions(int argc, char **argv)
{
	static const struct option longOptions[] = {
		{"after", required_argument, NULL, 'a'},
		{"sub", required_argument, NULL, 's'},
		{"community", required_argument, NULL, 'm'},
		{"count", required_argument, NULL, 'c'},
		{"timeout", required_argument, NULL, 't'},
		{"quiet-catchup", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			c;

	while ((c = getopt_long(argc, argv, "h", longOptions, NULL)) != -1)
	{
		bool		ok = true;

		switch (c)
		{
			case 'a':
				ok = ParseInt64(optarg, 0, &optAfter);
				break;
			case 's':
				optSub = optarg;
				ok = optarg[0] != '\0';
				break;
			case 'm':
				optCommunity = optarg;
				ok = optarg[0] != '\0';
				break;
			case 'c':
				ok = ParseInt64(optarg, 1, &optCount);
				break;
			case 't':
				ok = ParseSeconds(optarg, &optTimeoutMs);
				break;
			case 'q':
				optQuietCatchup = true;
				break;
			case 'h':
				Usage(stdout);
				exit(0);
			default:
				return false;
		}
		if (!ok)
		{
			Log("invalid value for --%s: \"%s\"",
				c == 'a' ? "after" : c == 's' ? "sub" : c == 'm' ? "community" : c == 'c' ? "count" : "timeout",
				optarg);
			return false;
		}
	}
	if (argc - optind > 1)
	{
		Log("too many arguments: \"%s\"", argv[optind + 1]);
		return false;
	}
	if (optind < argc)
		optConninfo = argv[optind];
	return CheckConninfo(optConninfo);
}

/*
 * main
 *		Parse options, install the stop handler, run.
 */
int
main(int argc, char **argv)
{
	if (!ParseOptions(argc, argv))
	{
		fprintf(stderr, "Try \"" PROGNAME " --help\" for more information.\n");
		return EXIT_LOCAL_ERROR;
	}
	if (!SetUpSignals())
	{
		Log("cannot install signal handlers: %s", strerror(errno));
		return EXIT_LOCAL_ERROR;
	}

	lastId = optAfter;
	if (optTimeoutMs > 0)
		idleDeadline = NowMs() + optTimeoutMs;
	return Run();
}
