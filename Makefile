# vomo-sync build.  `make` builds the daemon, `make check` runs every Check
# suite under AddressSanitizer and UndefinedBehaviorSanitizer, `make demo`
# runs the daemon against the bundled fake VOMO, `make bench` prints figures,
# `make fuzz` runs the libFuzzer targets (FUZZ_SECONDS each, default 60),
# `make deb` builds the Debian package into build/deb, `make deb-test`
# installs it (root), checks it and removes it again.
# Every source file is found by wildcard: a new module is a new src/X.c plus
# include/X.h, a new suite is a new tests/check_X.c.

PREFIX     ?= /usr
DESTDIR    ?=
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/vomo-sync

CC       ?= cc
PKGS      = libuv libcurl libcjson sqlite3 inih libsystemd openssl libmicrohttpd
TEST_PKGS = check

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wvla -Wwrite-strings -Wimplicit-fallthrough
ifdef CI
WARN += -Werror
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# SANITIZE=address,undefined builds into its own tree so that switching
# between a sanitized and a plain build never mixes objects.
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD    = build/rel
OPT      = -O2 -g
SANFLAGS =
else
BUILD    = build/san
OPT      = -O1 -g -fno-omit-frame-pointer
SANFLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

CPPFLAGS += -D_GNU_SOURCE -DVOMO_SYNC_VERSION='"$(VERSION)"' -Iinclude \
            -DHAVE_LIBSYSTEMD=1
CFLAGS   ?=
ALL_CFLAGS = -std=c11 $(WARN) $(OPT) $(SANFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
LIBS      = $(PKG_LIBS) -lm

SRC      := $(wildcard src/*.c)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/gen/migrations.o
MAIN_OBJ := $(BUILD)/src/main.o

FAKE_SRC     := $(wildcard tools/vomo-fake/*.c)
FAKE_LIB_SRC := $(filter-out tools/vomo-fake/main.c,$(FAKE_SRC))
FAKE_LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(FAKE_LIB_SRC))
FAKE_MAIN_OBJ:= $(BUILD)/tools/vomo-fake/main.o

TEST_SRC     := $(wildcard tests/check_*.c)
TEST_BINS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TESTLIB_SRC  := $(filter-out tests/check_%.c,$(wildcard tests/*.c))
TESTLIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(TESTLIB_SRC))

# Fuzz targets: linked into check_fuzz (which replays the corpus on every
# `make check`) and, by `make fuzz`, into libFuzzer binaries built by clang.
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJ     := $(patsubst %.c,$(BUILD)/%.o,$(FUZZ_SRC))
FUZZ_TARGETS := $(filter-out common,$(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC)))
FUZZ_SECONDS ?= 60

BENCH_SRC    := $(wildcard tests/bench/*.c)
BENCH_BINS   := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

MIGRATIONS := $(sort $(wildcard migrations/*.sql))

.PHONY: all setup check test-build demo bench install clean format fake fuzz fuzz-build deb deb-test
FAKE_BIN := $(if $(wildcard tools/vomo-fake/main.c),$(BUILD)/vomo-fake)

all: $(BUILD)/vomo-sync $(FAKE_BIN)
	@ln -sf $(BUILD)/vomo-sync vomo-sync

$(BUILD)/vomo-sync: $(MAIN_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/vomo-fake: $(FAKE_MAIN_OBJ) $(FAKE_LIB_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

fake: $(BUILD)/vomo-fake

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itools/vomo-fake $(ALL_CFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests -Itests/fuzz -Itools/vomo-fake -DVOMO_SYNC_BIN='"$(abspath $(BUILD))/vomo-sync"' \
	  -DVOMO_FAKE_BIN='"$(abspath $(BUILD))/vomo-fake"' -DSOURCE_ROOT='"$(CURDIR)"' \
	  $(ALL_CFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/check_%: $(BUILD)/tests/check_%.o $(TESTLIB_OBJ) $(LIB_OBJ) $(FAKE_LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/check_fuzz: $(FUZZ_OBJ)

# A libFuzzer binary per target (make fuzz sets CC=clang and the flags).
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/tests/fuzz/fuzz_common.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/fuzz -DFUZZ_LIBFUZZER $(ALL_CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer \
	  -o $@ $(filter %.c %.o,$^) $(LIBS)

fuzz-build: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

$(BUILD)/bench/%: tests/bench/%.c $(TESTLIB_OBJ) $(LIB_OBJ) $(FAKE_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests -Itools/vomo-fake -DVOMO_SYNC_BIN='"$(abspath $(BUILD))/vomo-sync"' \
	  -DVOMO_FAKE_BIN='"$(abspath $(BUILD))/vomo-fake"' $(ALL_CFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) \
	  -o $@ $(filter %.c %.o,$^) $(LIBS) $(TEST_LIBS)

# Migrations are embedded into the binary: the daemon never reads SQL files
# at run time, so an installed binary cannot drift from its schema.
$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations
	@mkdir -p $(@D)
	sh scripts/embed-migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

setup:
	@sh scripts/setup

# make check: set up the machine, build everything with ASan + UBSan and run
# every suite.  Suites run one after another; the summary names the failures.
check:
	@sh scripts/setup check
	@$(MAKE) --no-print-directory SANITIZE=address,undefined test-build
	@sh scripts/run-tests build/san

test-build: $(BUILD)/vomo-sync $(FAKE_BIN) $(TEST_BINS)

demo: setup
	@$(MAKE) --no-print-directory all
	@sh scripts/demo $(BUILD)

# make fuzz: installs clang and libFuzzer (only here, never for make check),
# builds every target with ASan + UBSan into build/fuzz and runs each for
# FUZZ_SECONDS, starting from the corpus in tests/fuzz/corpus.
fuzz:
	@sh scripts/fuzz-setup
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANFLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" fuzz-build
	@sh scripts/fuzz build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: setup
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@sh scripts/bench $(BUILD)

# make deb: dpkg-buildpackage -us -uc -b on a copy of the tree in
# build/deb/src (nothing lands beside the checkout), the .deb files copied
# to build/deb, lintian run on them (an error fails).  make deb-test: dpkg -i,
# --version, check-config on the shipped example, dpkg -r and --purge, each
# step asserted (root; it refuses where vomo-sync is already installed).
deb:
	@sh scripts/setup deb
	@sh scripts/deb

deb-test:
	@sh scripts/setup deb
	@sh scripts/deb-test

install: $(BUILD)/vomo-sync
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/vomo-sync \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/vomo-sync $(DESTDIR)$(PREFIX)/bin/vomo-sync
	for u in vomo-sync.service vomo-sync@.service; do \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/$$u.in \
	    > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 systemd/vomo-sync.socket $(DESTDIR)$(UNITDIR)/vomo-sync.socket
	test -e $(DESTDIR)$(SYSCONFDIR)/vomo-sync/vomo-sync.ini || \
	  install -m 0640 config/vomo-sync.ini $(DESTDIR)$(SYSCONFDIR)/vomo-sync/vomo-sync.ini
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done; true
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/; done; true
	# What operators load elsewhere: Prometheus rules (and their promtool
	# tests), the Grafana dashboard, the Litestream sibling unit and config.
	for d in prometheus grafana litestream; do \
	  install -d $(DESTDIR)$(DATADIR)/$$d && \
	  install -m 0644 contrib/$$d/* $(DESTDIR)$(DATADIR)/$$d/ || exit 1; \
	done

format:
	clang-format -i src/*.c include/*.h tests/*.c tests/fuzz/*.c tests/fuzz/*.h tools/vomo-fake/*.c \
	  tools/vomo-fake/*.h

clean:
	rm -rf build vomo-sync

-include $(shell find build -name '*.d' 2>/dev/null)
