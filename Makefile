# chord: GGUF inference as small Unix tools.
# `make` builds every tool into bin/; `make test` runs the bats suites;
# `make san` builds ASan/UBSan tools into build/san/bin and tests them;
# `make fuzz` builds the libFuzzer harnesses of t/fuzz/ and runs each a while.

PREFIX    ?= /usr/local
MANPREFIX ?= $(PREFIX)/share/man
DESTDIR   ?=

CC       ?= cc
OPT      ?= -O2 -march=native
CFLAGS   ?= $(OPT)
CFLAGS   += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -fopenmp -Ilib
LDLIBS   += -fopenmp -lm -lxxhash -lzstd -larchive -lOpenCL -lpthread -lrt

O        ?= build/obj
BINDIR   ?= bin

# par_pool.c is the browser build's par.h (below); the tools use par_omp.c.
LIBSRC   := $(filter-out lib/par_pool.c,$(sort $(wildcard lib/*.c)))
TOOLSRC  := $(sort $(wildcard bin/*.c))
# LEAN=1: no libarchive, zstd or xxHash libraries at run time, for a machine
# without them (the lent GPU machine: build there or copy the tools over):
# compressed and archived models are refused, xxHash is inlined from its
# header, and gguf-repack, which writes them, is left out.
ifeq ($(LEAN),1)
LIBSRC   := $(filter-out lib/pack.c lib/unpack.c,$(LIBSRC)) contrib/web/nounpack.c
TOOLSRC  := $(filter-out bin/gguf-repack.c,$(TOOLSRC))
CFLAGS   += -DXXH_INLINE_ALL
LDLIBS   := $(filter-out -lxxhash -lzstd -larchive,$(LDLIBS))
endif
LIBOBJ   := $(patsubst %.c,$(O)/%.o,$(LIBSRC))
TOOLS    := $(TOOLSRC:bin/%.c=$(BINDIR)/%)
SCRIPTS  := $(notdir $(wildcard bin/chord-gen))
LIBA     := $(O)/libchord.a
# Test programs: t/NAME.c -> $(TBIN)/NAME, run by the bats suites.
TSRC     := $(sort $(wildcard t/*.c))
TBIN     ?= build/t
TPROGS   := $(TSRC:t/%.c=$(TBIN)/%)

all: $(TOOLS) $(if $(filter bin,$(BINDIR)),,$(SCRIPTS:%=$(BINDIR)/%))

$(O)/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(O)/lib
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/lib:
	mkdir -p $@

$(O)/contrib/web/%.o: contrib/web/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(BINDIR)/%: bin/%.c $(LIBA) $(wildcard lib/*.h)
	@mkdir -p $(BINDIR)
	$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS)

$(TBIN)/%: t/%.c $(LIBA) $(wildcard lib/*.h)
	@mkdir -p $(TBIN)
	$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS)

# par-test checks the pthread pool of the wasm build (lib/par_pool.c), not
# the OpenMP one in libchord.a.
$(TBIN)/par-test: t/par-test.c lib/par_pool.c lib/par.h
	@mkdir -p $(TBIN)
	$(CC) $(CFLAGS) -o $@ t/par-test.c lib/par_pool.c $(LDFLAGS) -lpthread

tprogs: $(TPROGS)

ifneq ($(BINDIR),bin)
$(BINDIR)/chord-gen: bin/chord-gen
	@mkdir -p $(BINDIR)
	cp bin/chord-gen $@
endif

# Test models (default model and Gemma 3) into $CHORD_DATA (see README).
models:
	contrib/fetch-models

test: all tprogs models
	bats t/

# test, then the slow checks (t/slow/): run before a closing note.
check-all: test
	bats t/slow/

# Same suites against tools built with AddressSanitizer and UBSan.
san:
	$(MAKE) O=build/san/obj BINDIR=build/san/bin TBIN=build/san/t all tprogs \
	    OPT='-O1 -g -march=native -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow' \
	    LDFLAGS='-fsanitize=address,undefined,float-cast-overflow'
	CHORD_TEMPLATES=$(CURDIR)/share/templates \
	CHORD_BIN=$(CURDIR)/build/san/bin CHORD_TBIN=$(CURDIR)/build/san/t ASAN_OPTIONS=detect_leaks=0 bats t/

# libFuzzer harnesses (t/fuzz/README): lib/ again with clang and the
# sanitizers into $(FUZZO) (no OpenMP: one thread fuzzes best), one binary a
# harness, each run FUZZ_SECONDS on a copy of its corpus.
FUZZCC      ?= clang
FUZZFLAGS   ?= -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fsanitize=float-cast-overflow \
    -fno-sanitize-recover=all
FUZZ_SECONDS ?= 30
FUZZO       := build/fuzz
FUZZCFLAGS  := $(FUZZFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
    -Wall -Wextra -Ilib
FUZZLIBOBJ  := $(LIBSRC:lib/%.c=$(FUZZO)/lib/%.o)
FUZZSRC     := $(sort $(wildcard t/fuzz/*.c))
FUZZBIN     := $(FUZZSRC:t/fuzz/%.c=$(FUZZO)/bin/%)

$(FUZZO)/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(FUZZO)/lib
	$(FUZZCC) $(FUZZCFLAGS) -c -o $@ $<

$(FUZZO)/lib:
	mkdir -p $@

$(FUZZO)/libchord.a: $(FUZZLIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZLIBOBJ)

$(FUZZO)/bin/%: t/fuzz/%.c t/fuzz/fuzz.h $(FUZZO)/libchord.a $(wildcard lib/*.h)
	@mkdir -p $(FUZZO)/bin
	$(FUZZCC) $(FUZZCFLAGS) -D_GNU_SOURCE -o $@ $< $(FUZZO)/libchord.a -lm -lxxhash -lzstd -larchive

$(FUZZO)/seeds: t/fuzz/mkseeds.py t/mkgguf.py
	rm -rf $@
	python3 t/fuzz/mkseeds.py $@

fuzz-build: $(FUZZBIN) $(FUZZO)/seeds

fuzz: fuzz-build models
	t/fuzz/run $(FUZZ_SECONDS) $(FUZZBIN)

# The browser build (README: In the browser): lib/ with emscripten into
# $(WASMO)/chord.js + chord.wasm, an ES module exporting contrib/web/
# chord-web.c's API, and chord-mt.js + chord-mt.wasm, the same with
# threads: shared memory and a pool of web workers under par.h's team
# (lib/par_pool.c; -fopenmp-simd keeps the simd pragmas, no OpenMP
# runtime). The page takes chord-mt where it is cross-origin isolated
# (SharedArrayBuffer needs that), chord elsewhere, with one thread.
# No libarchive or zstd (unpack.c, pack.c stay out; a stub says "not
# supported"), xxHash inlined from its header, the chat templates embedded
# at /templates, fmaf inline (contrib/web/fmaf.h).
# Debian's emscripten finds its JS parsers (acorn) under /usr/share/nodejs,
# which a node from elsewhere (NodeSource) does not search by itself.
EMCC        ?= NODE_PATH=/usr/share/nodejs emcc
WASMO       := build/wasm
WASMOPT     ?= -O3 -msimd128 -flto
WASMCFLAGS  := $(WASMOPT) -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
    -Wall -Wextra -Wno-string-concatenation -fopenmp-simd -DXXH_INLINE_ALL \
    -include contrib/web/fmaf.h \
    -I$(WASMO)/inc -Ilib
WASMLIBSRC  := $(filter-out lib/pack.c lib/unpack.c lib/tool.c lib/par_omp.c \
    contrib/web/nounpack.c,$(LIBSRC)) lib/par_pool.c contrib/web/nounpack.c
WASMOBJ     := $(WASMLIBSRC:%.c=$(WASMO)/obj/%.o)
WASMMTOBJ   := $(WASMLIBSRC:%.c=$(WASMO)/obj-mt/%.o)
WASMLDFLAGS := -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=chord \
    -sENVIRONMENT=web,worker -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
    -sINITIAL_MEMORY=64MB -sEXPORTED_FUNCTIONS=_malloc,_free \
    -sEXPORTED_RUNTIME_METHODS=ccall,UTF8ToString \
    --embed-file share/templates@/templates
# a worker per core the browser reports (at most 16), started with the
# module; pthread_create beyond them fails and par_pool.c makes do
WASMMTFLAGS := -pthread -sUSE_PTHREADS=1 \
    -sPTHREAD_POOL_SIZE='Math.min(navigator.hardwareConcurrency||1,16)' \
    -sPTHREAD_POOL_SIZE_STRICT=2 -Wno-pthreads-mem-growth

wasm: $(WASMO)/chord.js $(WASMO)/chord-mt.js

$(WASMO)/inc/xxhash.h: /usr/include/xxhash.h
	@mkdir -p $(WASMO)/inc
	cp $< $@

$(WASMO)/obj/%.o: %.c $(wildcard lib/*.h) $(WASMO)/inc/xxhash.h \
    contrib/web/fmaf.h
	@mkdir -p $(@D)
	$(EMCC) $(WASMCFLAGS) -c -o $@ $<

$(WASMO)/obj-mt/%.o: %.c $(wildcard lib/*.h) $(WASMO)/inc/xxhash.h \
    contrib/web/fmaf.h
	@mkdir -p $(@D)
	$(EMCC) $(WASMCFLAGS) -pthread -c -o $@ $<

$(WASMO)/chord.js: contrib/web/chord-web.c $(WASMOBJ) $(wildcard share/templates/*)
	$(EMCC) $(WASMCFLAGS) $(WASMLDFLAGS) -o $@ contrib/web/chord-web.c \
	    $(WASMOBJ) -lm

$(WASMO)/chord-mt.js: contrib/web/chord-web.c $(WASMMTOBJ) \
    $(wildcard share/templates/*)
	$(EMCC) $(WASMCFLAGS) $(WASMMTFLAGS) $(WASMLDFLAGS) -o $@ \
	    contrib/web/chord-web.c $(WASMMTOBJ) -lm

# Reference goldens from llama.cpp (builds it once into a private cache).
golden: all
	contrib/make-golden

# The main job of the README on the default model.
demo: all models
	contrib/demo

bench: all
	contrib/bench

BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
TOOLNAMES := $(TOOLSRC:bin/%.c=%) $(SCRIPTS)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/chord/templates \
	    $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man7 $(DESTDIR)$(BASHCOMPDIR)
	cp -f $(TOOLS) $(SCRIPTS:%=bin/%) $(DESTDIR)$(PREFIX)/bin/
	cp -f share/templates/* $(DESTDIR)$(PREFIX)/share/chord/templates/
	cp -f man/*.1 $(DESTDIR)$(MANPREFIX)/man1/
	cp -f man/*.7 $(DESTDIR)$(MANPREFIX)/man7/
	for t in $(TOOLNAMES); do \
		cp -f contrib/completion/chord.bash $(DESTDIR)$(BASHCOMPDIR)/$$t || exit 1; \
	done

uninstall:
	cd $(DESTDIR)$(PREFIX)/bin && rm -f $(TOOLNAMES)
	rm -rf $(DESTDIR)$(PREFIX)/share/chord
	cd $(DESTDIR)$(MANPREFIX) && rm -f $(TOOLNAMES:%=man1/%.1) man7/chord.7
	cd $(DESTDIR)$(BASHCOMPDIR) && rm -f $(TOOLNAMES)

# mandoc's checks of every page (cross references aside: they need the
# pages installed).
man-lint:
	mandoc -Tlint -Wstyle man/*.1 man/*.7 2>&1 | \
	    grep -v -e 'referenced manual not found' -e 'outdated mandoc.db'; test $$? -eq 1

clean:
	rm -rf build $(TOOLS)

.PHONY: all tprogs models demo test check-all san fuzz fuzz-build golden bench \
    install uninstall man-lint clean wasm
.DELETE_ON_ERROR:
