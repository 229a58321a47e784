# naboom — built with PGXS.  `make`, `make install`, `make installcheck`.
EXTENSION = naboom
MODULE_big = naboom
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
HEADERS = $(wildcard src/*.h)

# The install script of the current version is built from the SQL sources by
# concern (extension/schema/*.sql, concatenated in file-name order); the
# upgrade scripts (and 0.1.0, the start of the upgrade chain) are frozen once
# released and installed as they are.
EXTVERSION = $(shell sed -n "s/^default_version = '\\(.*\\)'/\\1/p" naboom.control)
SCHEMA_SOURCES = $(sort $(wildcard extension/schema/*.sql))
DATA_built = extension/naboom--$(EXTVERSION).sql
DATA = $(wildcard extension/upgrade/naboom--*.sql)

# pg_regress: one file per feature, run in file-name order
TESTS = $(sort $(wildcard sql/*.sql))
REGRESS = $(patsubst sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=. --load-extension=postgis --load-extension=naboom

# isolation specs (concurrency)
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --inputdir=. --load-extension=postgis --load-extension=naboom

# The library says which version it was built as (naboom_api.health compares
# it with the installed extension's).
PG_CPPFLAGS = -DNABOOM_VERSION='"$(EXTVERSION)"'
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Werror
SHLIB_LINK =

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(SCHEMA_SOURCES) naboom.control
	cat $(SCHEMA_SOURCES) > $@

src/health.o: naboom.control

# PGXS knows no header dependencies: a changed struct in a header must
# rebuild every object, or a merge links objects that disagree on its layout.
$(OBJS): $(HEADERS)

# ------------------------------------------------------------------ tests
# One target per suite; each runs against the cluster PGHOST/PGPORT/PGUSER
# name (scripts/test.sh makes a throw-away one with pg_virtualenv and runs
# them all, counting).  After `make install`:
#   make installcheck-regress        pg_regress over sql/ (one file: REGRESS=08_spatial)
#   make installcheck-isolation      isolation specs over specs/ (one: ISOLATION=race_audit)
#   make installcheck-listen         test/listen.sh, a real LISTEN client (builds tools/naboom-listen)
#   make installcheck-tap            pgTAP over test/sql/, both passes (one: TAP_PASSES=2)
#   make installcheck-fingerprint    test/fingerprint.sh: a fresh install equals every upgrade path
#   make installcheck-restore        test/restore.sh: pg_dump / pg_restore and pg_dump | psql give back every row
#   make installcheck-faults         test/faults.sh: kill -9 of the postmaster under load, nothing acknowledged lost
#   make installcheck-forwarder      test/forwarder.sh: tools/naboom-forwarder against a failing, slow, succeeding authority
.PHONY: installcheck-regress installcheck-isolation installcheck-listen installcheck-tap installcheck-fingerprint installcheck-restore installcheck-faults

installcheck-regress:
	$(MAKE) installcheck ISOLATION=

installcheck-isolation:
	$(MAKE) installcheck REGRESS=

tools/naboom-listen: tools/naboom_listen.c
	$(MAKE) -C tools PG_CONFIG=$(PG_CONFIG)

installcheck-listen: tools/naboom-listen
	bash test/listen.sh

# test/forwarder.sh: the reference forwarding worker against a stand-in
# authority (test/authority_server.pl) that fails, times out and succeeds on
# purpose; a database of its own in this cluster; about 20 s
.PHONY: installcheck-forwarder
tools/naboom-forwarder: tools/naboom_forwarder.c
	$(MAKE) -C tools PG_CONFIG=$(PG_CONFIG) naboom-forwarder

installcheck-forwarder: tools/naboom-forwarder
	bash test/forwarder.sh

TAP_PASSES ?= 1 2
installcheck-tap:
	bash test/tap.sh $(TAP_PASSES)

installcheck-fingerprint:
	bash test/fingerprint.sh

installcheck-restore:
	bash test/restore.sh

# test/faults.sh: kill -9 of the postmaster under write load, in a cluster of
# its own (it needs none of the one above); about 70 s
installcheck-faults:
	PG_CONFIG=$(PG_CONFIG) bash test/faults.sh

# test/audit_ring.sh: a cluster of its own with a 16-entry audit ring; no READ
# of a private incident is lost when the ring is full
.PHONY: installcheck-auditring
installcheck-auditring:
	bash test/audit_ring.sh

# test/standby.sh: a primary and a hot standby of their own (pg_basebackup -R);
# every STABLE API function answers on the standby, reads are audited in its log
.PHONY: installcheck-standby
installcheck-standby:
	bash test/standby.sh

# test/postgrest.sh: naboom behind PostgREST 12, replayed request by request
# (test/postgrest_replay.pm) as the authenticator role in a database of its own;
# every naboom_api function called with its HTTP method
.PHONY: installcheck-postgrest
installcheck-postgrest:
	bash test/postgrest.sh

# test/graphile.sh: a real PostGraphile 4 (npm ci of tools/postgraphile, cached)
# against this cluster: the incident story over HTTP, naboomEvents over a WebSocket
.PHONY: installcheck-graphile
installcheck-graphile:
	bash test/graphile.sh

# test/citus.sh: a Citus 13.2 coordinator and two workers of their own
# (../shared/citus/install.sh builds Citus when it is missing, about 3 min);
# naboom installed, distributed by community and its story run through the
# coordinator.  Part of scripts/test.sh (about 4 min, +3 for the build).
.PHONY: installcheck-citus
installcheck-citus:
	bash test/citus.sh
