// SPDX-License-Identifier: GPL-2.0
/*
 * A11: no hijack at all.  Every page the guest maps becomes a host
 * mapping in the process's stub, and pages next to each other rarely
 * merge into one host VMA.  An unprivileged process that reads enough
 * pages of a big anonymous mapping (each read maps the shared zero page)
 * exhausts the host's vm.max_map_count (65530 by default) for its stub.
 * The stub's mmap in the next batch then fails; the unpatched stub
 * reports the failure as SIGSYS, the monitor runs a bogus syscall from
 * the faulting registers, the page is never mapped and the process
 * faults on it for ever: it neither finishes nor dies.
 *
 * The hardened kernel must not wedge the process (H3, H5): a failed
 * batch kills it with a log line (or the mapping succeeds).
 *
 * STUB_MAP_PAGES overrides the number of pages touched (default 70000,
 * enough for the default host limit).
 */
#include "stub_util.h"

#define DEFAULT_PAGES	70000
#define STALL_MS	5000
#define GIVE_UP_MS	90000

struct a11_shared {
	int stage;
	unsigned long pages;
	unsigned long progress;	/* pages touched so far */
	char err[128];
};

enum { ST_START, ST_TOUCHING, ST_DONE };

FIXTURE(stub_map_count) {
	struct a11_shared *s;
};

FIXTURE_SETUP(stub_map_count)
{
	ASSERT_STUB_FOUND();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(stub_map_count)
{
	munmap(self->s, sizeof(*self->s));
}

/*
 * Read one byte.  rdi is -1 so that the bogus syscall the unpatched
 * monitor runs from these registers (number 0, read) fails with EBADF
 * instead of reading the console; rax is given up to its result.
 */
static inline void touch(const char *p)
{
	__asm__ volatile("movb (%0), %%al" : : "r"(p), "D"(-1L)
			 : "rax", "memory");
}

static void a11_child(struct a11_shared *s)
{
	unsigned long i, n = s->pages;
	char *base;

	stub_prefault(s, sizeof(*s));
	if (stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "setuid failed");
		_exit(1);
	}
	base = mmap(NULL, n * STUB_PAGE, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(s->err, sizeof(s->err), "mmap of %lu pages: %s", n,
			 strerror(errno));
		_exit(1);
	}
	s->stage = ST_TOUCHING;
	for (i = 0; i < n; i++) {
		touch(base + i * STUB_PAGE);
		s->progress = i + 1;
	}
	s->stage = ST_DONE;
	_exit(0);
}

TEST_F_TIMEOUT(stub_map_count, host_mapping_limit_does_not_wedge, 115)
{
	struct a11_shared *s = self->s;
	unsigned long last = 0, last_change, start;
	const char *env = getenv("STUB_MAP_PAGES");
	char buf[64];
	int status, done = 0, stalled = 0;
	pid_t pid;

	s->pages = env ? strtoul(env, NULL, 0) : DEFAULT_PAGES;
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		a11_child(s);

	start = last_change = stub_now_ms();
	while (stub_now_ms() - start < GIVE_UP_MS) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			done = 1;
			break;
		}
		if (s->progress != last) {
			last = s->progress;
			last_change = stub_now_ms();
		} else if (s->stage == ST_TOUCHING &&
			   stub_now_ms() - last_change > STALL_MS) {
			stalled = 1;
			break;
		}
		stub_sleep_ms(50);
	}
	if (!done && !stalled) {
		stub_kill_wait(pid, 10000, &status);
		STUB_FAIL("still touching pages after %d s (%lu of %lu): too "
			  "slow to tell", GIVE_UP_MS / 1000, s->progress,
			  s->pages);
	}
	if (!done) {
		int killed = stub_kill_wait(pid, 10000, &status);

		STUB_VULNERABLE("uid %d touched %lu of %lu pages (one host "
				"mapping each) in %lu ms, then made no progress "
				"for %d s without dying: wedged once the host's "
				"vm.max_map_count was reached (SIGKILL %s)",
				STUB_NOBODY, s->progress, s->pages,
				last_change - start, STALL_MS / 1000,
				killed ? "ended it" : "did not end it either");
	}
	TH_LOG("child %s after %lu of %lu pages, %lu ms",
	       stub_status_str(status, buf, sizeof(buf)), s->progress,
	       s->pages, stub_now_ms() - start);
	if (s->stage < ST_TOUCHING)
		STUB_FAIL("set-up failed: %s", s->err);
	if (s->stage == ST_DONE) {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		TH_LOG("all %lu pages mapped: the host limit was not reached "
		       "(raise STUB_MAP_PAGES if the host's vm.max_map_count "
		       "is above %lu)", s->pages, s->pages);
		return;
	}
	/* a failed page-in may also end in SIGBUS, like a failed swap-in */
	if (!stub_defended_kill(status) &&
	    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS))
		STUB_FAIL("child died in an unexpected way");
	TH_LOG("defended: the process was killed when its host mappings "
	       "ran out");
}

TEST_HARNESS_MAIN
