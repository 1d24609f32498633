# isorun build. `make` builds; `make check` builds with ASan+UBSan and runs
# every test; `make demo` runs the main job. See README.md.

CC	?= gcc
ifeq ($(origin CC),default)
CC	 = gcc
endif
SAN	?= 0
PREFIX	?= /usr/local

# Library modules, in dependency order. A new module is a folder under src/
# with a header that is its contract; add it here.
LIB_DIRS = common policy profiles gateway peek dns audit proxy endpoint secrets tlsca sandbox runner api

PKGS	 = libidn2 jansson libnftables libmnl libcares libseccomp libarchive sqlite3 libmicrohttpd openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	   -Wvla -Wwrite-strings -Wundef -Wnull-dereference -Wimplicit-fallthrough \
	   -Wno-format-truncation
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong $(WARN) $(PKG_CFLAGS)
LDLIBS	+= $(PKG_LIBS) -lpthread

ifeq ($(SAN),1)
BUILD	?= build/san
CFLAGS	+= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=address,undefined
else
BUILD	?= build/rel
CFLAGS	+= -D_FORTIFY_SOURCE=2
endif

LIB_SRCS = $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB	 = $(BUILD)/libisorun.a

CLI_SRCS = $(wildcard src/cli/*.c)
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/%.o)
CLI	 = $(BUILD)/isorun

DAEMON_SRCS = $(wildcard src/isorund/*.c)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
DAEMON	 = $(BUILD)/isorund

# The sandbox's PID 1 and exec agent: static, so that it runs in any image.
INIT	 = $(BUILD)/isorun-init

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Helper programs of the shell tests in tests/net (not tests themselves).
NET_SRCS = $(wildcard tests/net/*.c)
NET_BINS = $(NET_SRCS:tests/net/%.c=$(BUILD)/tests/%)

BENCH_SRCS = $(wildcard bench/*/bench_*.c)
BENCH_BINS = $(patsubst bench/%.c,build/bench/%,$(BENCH_SRCS))

FUZZ_SRCS = $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 10
JOBS	?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps check test demo bench bench-build fuzz fuzz-build clean format
all: $(LIB) $(CLI) $(DAEMON) $(INIT) $(UNIT_BINS) $(NET_BINS)

deps:
	@./scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(DAEMON): $(DAEMON_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIB) $(LDLIBS)

# No sanitizers: it is PID 1 of a sandbox, linked statically.
$(INIT): src/sandbox/init/isorun-init.c src/sandbox/proto.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) -static -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/net/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The test command of the README: installs what is missing, builds with
# ASan+UBSan, runs every test; the last line is "N passed, N failed".
check: deps
	$(MAKE) -j$(JOBS) SAN=1 all
	$(MAKE) -j$(JOBS) fuzz-build
	ISORUN_BUILD=build/san FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/run

test: all
	ISORUN_BUILD=$(BUILD) ./tests/run

# The main job of the README.
demo: deps
	$(MAKE) all
	ISORUN=$(BUILD)/isorun ./demo/run

# Benchmarks always use the release build.
bench: deps
	$(MAKE) SAN=0 all
	$(MAKE) SAN=0 bench-build
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

bench-build: $(BENCH_BINS)
build/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LIB) $(LDLIBS)

# libFuzzer targets: clang, linked with the library sources compiled for fuzzing.
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	      -fno-sanitize-recover=all $(WARN) -Wno-unknown-warning-option $(PKG_CFLAGS) -Isrc
# The library is compiled once for all targets (build/fuzz/obj/), then each
# target links it.
FUZZ_OBJS = $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
FUZZ_LIB  = build/fuzz/libisorun-fuzz.a
fuzz-build: $(FUZZ_BINS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJS)
build/fuzz/%: fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lpthread

fuzz: fuzz-build
	./fuzz/run $(FUZZ_SECONDS)

# The long run of issue 8: every target until it used FUZZ_CPU seconds of CPU.
FUZZ_CPU = 600
fuzz-long: fuzz-build
	./fuzz/campaign $(FUZZ_CPU)

format:
	clang-format -i $(wildcard src/*/*.[ch] tests/unit/*.[ch] fuzz/*.c bench/*/*.c)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
