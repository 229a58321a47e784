# naboom — built with PGXS.  `make`, `make install`, `make installcheck`.
EXTENSION = naboom
MODULE_big = naboom
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
HEADERS = $(wildcard src/*.h)

DATA = $(wildcard extension/naboom--*.sql)

# pg_regress: one file per feature, run in file-name order
TESTS = $(sort $(wildcard sql/*.sql))
REGRESS = $(patsubst sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=. --load-extension=postgis --load-extension=naboom

# isolation specs (concurrency)
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --inputdir=. --load-extension=postgis --load-extension=naboom

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Werror
SHLIB_LINK =

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
