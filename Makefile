# Wiring only: every target runs scripts from scripts/ (see their --help).
#
#   make run           build the hardened kernel and the guest, boot it with
#                      seccomp=on and show the attack tests' verdict table,
#                      beside the unpatched kernel's outcomes
#   make test          everything CI checks: host packages, both kernels,
#                      guest, arch-um-overlay, KUnit, selftests on baseline
#                      and hardened with 1 and 2 vCPUs, fuzz-smoke
#
#   make deps          install host packages, add the kernel's apt suite
#   make kernel        fetch and unpack the pinned kernel into build/src/linux
#   make baseline      build/baseline/linux (the unpatched base)
#   make hardened      build/hardened/linux (base + patches/series)
#   make kunit         the series' KUnit tests with kunit.py run --arch=um
#                      in their own kernel (build/kunit)
#   make guest         guest programs (scripts/build-guest: the kernel tree's
#                      kselftest target um, make -C selftests) and build/rootfs
#   make check-series  apply, build and checkpatch --strict every patch in turn
#                      (BOOT=S: also boot each kernel step, benign smp and real)
#                      (FROM=N: check from patch N on, only apply the others)
#   make series AUTHOR="Name <mail>"
#                      restamp the patches' From: and Signed-off-by: with
#                      the submitter's identity (without AUTHOR: check
#                      that they carry one identity and print it)
#   make overlay       regenerate arch-um-overlay/ from the series
#   make check-overlay check arch-um-overlay/ matches the series
#   make bench         benchmarks (scripts/bench), make bench-smoke: quick run
#   make soak          long benign runs on the hardened kernel: scripts/benign
#                      and scripts/hostfault, 600 s each, 2 and 4 vCPUs
#   make fuzz-smoke    60 s of the fuzzer: it must find a hole in the
#                      unpatched kernel (1 vCPU) and none in the hardened
#                      one (1 and 2 vCPUs)
#   make fuzz          the hijack fuzzer under the host-side oracle on the
#                      hardened kernel (scripts/fuzz), 1 and 2 vCPUs,
#                      FUZZ_SECONDS (default 600) per run
#   make clean         remove build/ except the downloaded kernel package

S := scripts

.NOTPARALLEL:
.PHONY: all run test deps kernel baseline hardened kunit guest check-series \
	series overlay check-overlay bench bench-smoke soak fuzz fuzz-smoke clean

all: hardened guest

deps:
	$(S)/setup-host

kernel: deps
	$(S)/get-kernel

baseline: kernel
	$(S)/build-kernel baseline

hardened: kernel
	$(S)/build-kernel hardened

kunit: kernel
	$(S)/kunit

guest: kernel
	$(S)/build-guest
	$(S)/mkroot

# the unpatched kernel's outcomes come from the last make test, or else
# scripts/demo boots build/baseline/linux
run: hardened guest
	@[ -f build/runs/test-baseline.outcomes ] || $(MAKE) baseline
	$(S)/demo

# baseline before hardened: the tree ends with the series pushed
test: deps kernel baseline hardened guest
	@if [ -f selftests/attacks.list ]; then $(MAKE) -C selftests check; fi
	@if [ -d arch-um-overlay ]; then $(S)/check-overlay; \
	else echo "test: no arch-um-overlay/, not checked"; fi
	$(S)/kunit
	$(S)/run-tests
	$(MAKE) fuzz-smoke

check-series: kernel
	$(S)/check-series $(if $(BOOT),--boot $(BOOT)) $(if $(FROM),--from $(FROM))

series:
	$(S)/restamp $(if $(AUTHOR),"$(AUTHOR)",--check)

overlay: kernel
	$(S)/gen-overlay

check-overlay: kernel
	$(S)/check-overlay

bench: baseline hardened guest
	@if [ -x $(S)/bench ]; then $(S)/bench; \
	else echo "bench: no scripts/bench yet" >&2; exit 1; fi

bench-smoke: baseline hardened guest
	@if [ -x $(S)/bench ]; then $(S)/bench --smoke; \
	else echo "bench-smoke: no scripts/bench yet" >&2; exit 1; fi

# both scripts run even when the first fails; the target fails if either
# failed (hostfault's status 4: no failure, some fault kind SKIPPED)
soak: hardened guest
	@rc=0; \
	$(S)/benign --kernel hardened --ncpus "2 4" --seconds 600 || rc=1; \
	st=0; $(S)/hostfault --kernel hardened --ncpus "2 4" --seconds 600 || st=$$?; \
	case $$st in 0) ;; 4) echo "soak: some host faults were SKIPPED (see above)" ;; *) rc=1 ;; esac; \
	exit $$rc

# not part of test: ten minutes per run by default
FUZZ_SECONDS ?= 600
fuzz-smoke: baseline hardened guest
	$(S)/fuzz --kernel baseline --ncpus 1 --seconds 60 --expect-holes \
		--out-prefix build/runs/test-fuzz-baseline
	$(S)/fuzz --kernel hardened --ncpus "1 2" --seconds 60 \
		--out-prefix build/runs/test-fuzz-hardened

fuzz: hardened guest
	$(S)/fuzz --kernel hardened --ncpus "1 2" --seconds $(FUZZ_SECONDS)

clean:
	rm -rf build/obj build/src build/baseline build/hardened build/kunit build/guest \
		build/kselftest build/rootfs build/runs build/tmp build/uml build/logs \
		build/bench build/host
