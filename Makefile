# vfbd: one non-recursive Makefile, out-of-tree objects in $(BUILD).
#
#   make            build vfbd, tools and tests
#   make run        install what is missing, build, run the demo console
#   make check      install what is missing, build, run every test suite
#   make asan       the unit and integration suites under ASan + UBSan
#   make check-xen  vfbd on real Xen 4.17 booted under QEMU (root, ~3 min)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make bench      benchmarks (figures go to docs/benchmarks.md)
#   make format | compdb | check-layers | install | clean

BUILD ?= build
# V=1 shows whole command lines.
V ?= 0
ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say :=
endif
CC ?= cc
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
PKG_CONFIG ?= pkg-config

PKGS := libuv zlib libturbojpeg libvncserver xenstore xenforeignmemory xengnttab xenevtchn xencontrol xentoollog
TEST_PKGS := cmocka libvncclient

WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef \
	-Wpointer-arith -Wvla
OPT ?= -O2 -g
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARNINGS) -I. -I$(BUILD)/gen \
	-D_GNU_SOURCE -MMD -MP $(SAN_FLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LDLIBS_ALL := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LDLIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)

# Everything but main() goes into one static library; binaries and tests
# link against it, so each pulls only the objects it uses.
LIB_SRCS := $(wildcard vfbd/base/*.c fb/*.c input/*.c net/*.c) \
	$(filter-out vfbd/main.c,$(wildcard vfbd/*.c))
GEN_SRCS := $(BUILD)/gen/font-data.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/font-data.o
LIB := $(BUILD)/libvfbd.a

VFBD := $(BUILD)/vfbd
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS := $(wildcard tests/integration/test-*.c)
INTEG_TESTS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

FONT_PSF ?= /usr/share/consolefonts/Lat15-Terminus16.psf.gz

.SECONDARY:

.PHONY: all deps run check check-xen check-suites asan fuzz fuzz-replay bench \
	format tidy compdb check-layers install clean

all: $(VFBD) $(TOOLS) $(UNIT_TESTS) $(INTEG_TESTS)

deps:
	@sh tools/install-deps

run: deps
	@$(MAKE) --no-print-directory $(VFBD)
	@echo "vfbd: demo console on 127.0.0.1:5900 -- connect with: vncviewer 127.0.0.1::5900   (Ctrl-C stops)"
	$(VFBD) --source demo --listen 127.0.0.1:5900

check: deps
	@$(MAKE) --no-print-directory all $(FUZZ_TARGETS)
	@sh tools/check-layers
	@VFBD=$(VFBD) BUILD=$(BUILD) sh tests/run-all $(UNIT_TESTS) \
		$(INTEG_TESTS) $(wildcard tests/integration/*.sh) \
		$(wildcard tests/fault/*.sh) $(FUZZ_TARGETS:%=fuzz-replay:%)

check-xen: deps
	@$(MAKE) --no-print-directory all
	@VFBD=$(VFBD) BUILD=$(BUILD) sh tests/xen/run

# Unit and integration suites only (used by asan).
check-suites: all
	@VFBD=$(VFBD) BUILD=$(BUILD) sh tests/run-all $(UNIT_TESTS) \
		$(INTEG_TESTS) $(wildcard tests/integration/*.sh)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
		SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check-suites

$(VFBD): $(BUILD)/obj/vfbd/main.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/font-data.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The demo console's font comes from Debian's console-setup-linux package
# (Terminus, 8x16), converted to a C array at build time.
$(BUILD)/gen/font-data.c: $(BUILD)/host/psf2c $(FONT_PSF)
	@mkdir -p $(@D)
	$(call say,GEN,$@)gzip -dc $(FONT_PSF) | $(BUILD)/host/psf2c > $@.tmp && mv $@.tmp $@

$(BUILD)/host/psf2c: tools/host/psf2c.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 $(WARNINGS) -o $@ $<

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) $(TEST_LDLIBS)

$(BUILD)/obj/tools/%.o: tools/%.c | $(BUILD)/gen/font-data.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c | $(BUILD)/gen/font-data.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) $(TEST_LDLIBS)

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
		$(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) $(TEST_LDLIBS)

# libFuzzer targets: clang, the library rebuilt with coverage hooks.
FUZZ_CC ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -g -O1
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) \
	$(BUILD)/fuzz/obj/gen/font-data.o

$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/gen/font-data.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(filter-out $(OPT) $(SAN_FLAGS),$(CFLAGS_ALL)) $(FUZZ_FLAGS) -c -o $@ $<

$(BUILD)/fuzz/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(filter-out $(OPT) $(SAN_FLAGS),$(CFLAGS_ALL)) $(FUZZ_FLAGS) -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,FUZZLD,$@)$(FUZZ_CC) $(filter-out $(OPT) $(SAN_FLAGS),$(CFLAGS_ALL)) -Wno-missing-prototypes \
		-fsanitize=fuzzer,address,undefined -g -O1 -o $@ \
		$(filter %.c %.o,$^) $(LDLIBS_ALL)

fuzz: deps $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		name=$$(basename $$t); mkdir -p $(BUILD)/fuzz/work/$$name; \
		echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/work/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

bench: deps all
	@sh tools/bench/run-all $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

tidy: compdb
	clang-tidy -p . $(LIB_SRCS)

# A fresh build in its own folder, so every compile command is recorded.
compdb: deps
	rm -rf $(BUILD)/compdb
	bear --output compile_commands.json -- $(MAKE) --no-print-directory \
		BUILD=$(BUILD)/compdb all

compile_commands.json: compdb

# Layering rules from architecture.md, checked on #include lines.
check-layers:
	@sh tools/check-layers

install: $(VFBD)
	install -D -m 755 $(VFBD) $(DESTDIR)$(PREFIX)/bin/vfbd
	ln -sf vfbd $(DESTDIR)$(PREFIX)/bin/vfbd-dm

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' -type f 2>/dev/null)
