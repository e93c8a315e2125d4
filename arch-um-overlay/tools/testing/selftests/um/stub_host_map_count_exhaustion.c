// SPDX-License-Identifier: GPL-2.0
/*
 * No hijack at all.  Every page the guest maps becomes a host
 * mapping in the process's stub, and pages next to each other rarely
 * merge into one host VMA.  An unprivileged process that reads enough
 * pages of a big anonymous mapping (each read maps the shared zero page)
 * exhausts the host's vm.max_map_count (65530 by default) for its stub.
 *
 * host_mapping_limit_does_not_wedge: the stub's mmap in the next batch
 * fails; the unpatched stub reports the failure as SIGSYS, the monitor
 * runs a bogus syscall from the faulting registers, the page is never
 * mapped and the process faults on it for ever: it neither finishes nor
 * dies.
 *
 * failed_early_flush_kills: the same failure in the first part of a
 * batch too long for the stub's data page.  That part is flushed early,
 * and when it failed the rest of the batch, including its munmaps, was
 * dropped while the process went on with host mappings its page table
 * does not describe (a page moved away could stay mapped at its old
 * address, the moved pages are missing at the new one).  The child
 * first finds how many pages it can touch (a probe that runs into the
 * limit), then touches a few fewer and moves 256 pages to a lower
 * address: the sync maps them at the new address first, the 41st mmap
 * fails, and the munmap of the old range comes after the early flush.
 *
 * The hardened kernel must not wedge the process or let it go on with
 * host mappings it did not ask for: a failed batch kills it with a log
 * line (or the mapping succeeds).
 *
 * STUB_MAP_PAGES overrides the number of pages touched (default 70000,
 * enough for the default host limit).
 */
#include "stub_util.h"

#define DEFAULT_PAGES	70000
#define STALL_MS	5000
#define GIVE_UP_MS	90000
/* Pages moved by mremap(): more than a batch holds (about 100) */
#define MOVE_PAGES	256
/* Host mappings left free before the move: its 41st mmap fails */
#define MOVE_MARGIN	40

struct map_count_shared {
	int stage;
	unsigned long pages;
	unsigned long progress;	/* pages touched so far */
	int move;		/* failed_early_flush_kills: then mremap() */
	unsigned char seen;	/* the byte read at the old address */
	unsigned long from;	/* the old address */
	unsigned long fault;	/* where the read of it faulted */
	char err[128];
};

enum { ST_START, ST_TOUCHING, ST_DONE, ST_MOVING, ST_MOVED, ST_STALE };

FIXTURE(stub_map_count) {
	struct map_count_shared *s;
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

static struct map_count_shared *map_count_segv_shared;

static void map_count_segv(int sig, siginfo_t *info, void *uc)
{
	map_count_segv_shared->fault = (unsigned long)info->si_addr;
	_exit(0);
}

static void map_count_fail(struct map_count_shared *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, strerror(errno));
	_exit(1);
}

/*
 * Fill @len bytes at @moved with 0x5a, one page at a time alternating
 * with a page of @other, so that the frames of @moved are not contiguous
 * and each page of it needs an mmap of its own.
 */
static void map_count_fill_apart(char *moved, char *other, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += STUB_PAGE) {
		memset(moved + i, 0x5a, STUB_PAGE);
		other[i] = 1;
	}
}

/*
 * Both tests lay out the same mappings, so that the probe's count of the
 * pages it could touch holds for the run that moves pages.
 */
static void map_count_child(struct map_count_shared *s)
{
	struct sigaction segv = {
		.sa_sigaction = map_count_segv,
		.sa_flags = SA_SIGINFO,
	};
	size_t move_len = MOVE_PAGES * STUB_PAGE;
	unsigned long i, n = s->pages;
	char *base, *from, *to, *other;

	stub_prefault(s, sizeof(*s));
	if (stub_drop_privs())
		map_count_fail(s, "setuid");
	base = mmap(NULL, n * STUB_PAGE, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		map_count_fail(s, "mmap of the pages to touch");
	/* The move goes down: the sync then maps before it unmaps */
	from = mmap(NULL, move_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	to = mmap(NULL, move_len, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	other = mmap(NULL, move_len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (from == MAP_FAILED || other == MAP_FAILED || to == MAP_FAILED)
		map_count_fail(s, "mmap of the pages to move");
	if (to > from) {
		char *tmp = to;

		to = from;
		from = tmp;
	}
	map_count_fill_apart(from, other, move_len);

	s->stage = ST_TOUCHING;
	for (i = 0; i < n; i++) {
		touch(base + i * STUB_PAGE);
		s->progress = i + 1;
	}
	if (!s->move) {
		s->stage = ST_DONE;
		_exit(0);
	}

	s->stage = ST_MOVING;
	if (mremap(from, move_len, move_len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   to) != to)
		map_count_fail(s, "mremap");
	s->from = (unsigned long)from;
	s->stage = ST_MOVED;
	/* Nothing is mapped at @from any more: this must fault */
	map_count_segv_shared = s;
	sigaction(SIGSEGV, &segv, NULL);
	s->seen = READ_ONCE(*(char *)from);
	s->stage = ST_STALE;
	_exit(0);
}

enum { RUN_ENDED, RUN_STALLED, RUN_TOO_SLOW };

/*
 * Run map_count_child() until it ends (*status filled), makes no progress
 * touching pages for STALL_MS or is still touching after GIVE_UP_MS; the
 * last two are killed.
 */
static int map_count_run(struct __test_metadata *_metadata, struct map_count_shared *s,
			 int *status)
{
	unsigned long last = 0, last_change, start;
	int ret = RUN_STALLED;
	pid_t pid;

	s->stage = ST_START;
	s->progress = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(s->err, sizeof(s->err), "fork: %s", strerror(errno));
		return RUN_TOO_SLOW;
	}
	if (pid == 0)
		map_count_child(s);

	start = stub_now_ms();
	last_change = start;
	while (stub_now_ms() - last_change <= STALL_MS) {
		if (stub_wait_child(pid, 50, status)) {
			ret = RUN_ENDED;
			break;
		}
		if (s->progress != last) {
			last = s->progress;
			last_change = stub_now_ms();
		}
		if (stub_now_ms() - start > GIVE_UP_MS) {
			snprintf(s->err, sizeof(s->err),
				 "still touching pages after %d s: too slow to tell",
				 GIVE_UP_MS / 1000);
			ret = RUN_TOO_SLOW;
			break;
		}
	}
	if (ret != RUN_ENDED && !stub_kill_wait(pid, 10000, status))
		TH_LOG("SIGKILL did not end the child either");
	TH_LOG("child %s after %lu of %lu pages, %lu ms",
	       ret == RUN_ENDED ? "ended" : "killed by the test", s->progress,
	       s->pages, stub_now_ms() - start);
	return ret;
}

static void map_count_set_pages(struct map_count_shared *s)
{
	const char *env = getenv("STUB_MAP_PAGES");

	s->pages = env ? strtoul(env, NULL, 0) : DEFAULT_PAGES;
}

/*
 * A child that ran into the host limit must have died the defended way;
 * a failed page-in may also end in SIGBUS, like a failed swap-in.
 */
static bool map_count_killed_ok(struct __test_metadata *_metadata, int status)
{
	char buf[64];

	TH_LOG("child %s", stub_status_str(status, buf, sizeof(buf)));
	return stub_defended_kill(status) ||
	       (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
}

/* Log formats, kept on one line so that they can be grepped for */
#define ALL_MAPPED_FMT "all %lu pages mapped: the host limit was not reached (raise STUB_MAP_PAGES if the host's vm.max_map_count is above %lu)"

TEST_F_TIMEOUT(stub_map_count, host_mapping_limit_does_not_wedge, 115)
{
	struct map_count_shared *s = self->s;
	int status, ret;

	map_count_set_pages(s);
	ret = map_count_run(_metadata, s, &status);
	if (ret == RUN_TOO_SLOW)
		STUB_FAIL(return, "%s", s->err);
	if (ret == RUN_STALLED)
		STUB_VULNERABLE(return,
				"uid %d touched %lu of %lu pages (one host mapping each), then made no progress for %d s without dying: wedged once the host's vm.max_map_count was reached",
				STUB_NOBODY, s->progress, s->pages,
				STALL_MS / 1000);
	if (s->stage < ST_TOUCHING)
		STUB_FAIL(return, "set-up failed: %s", s->err);
	if (s->stage == ST_DONE) {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		TH_LOG(ALL_MAPPED_FMT, s->pages, s->pages);
		return;
	}
	if (!map_count_killed_ok(_metadata, status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed when its host mappings ran out");
}

TEST_F_TIMEOUT(stub_map_count, failed_early_flush_kills, 230)
{
	struct map_count_shared *s = self->s;
	unsigned long limit;
	int status, ret;
	char buf[64];

	/* The probe: how many pages fit before the host limit */
	map_count_set_pages(s);
	if (map_count_run(_metadata, s, &status) == RUN_TOO_SLOW)
		STUB_FAIL(return, "probe: %s", s->err);
	if (s->stage < ST_TOUCHING)
		STUB_FAIL(return, "set-up failed: %s", s->err);
	if (s->stage == ST_DONE)
		SKIP(return,
		     "all %lu pages mapped: the host limit was not reached (raise STUB_MAP_PAGES)",
		     s->pages);
	limit = s->progress;
	if (limit <= MOVE_MARGIN)
		STUB_FAIL(return, "only %lu pages fit before the host limit", limit);

	s->pages = limit - MOVE_MARGIN;
	s->move = 1;
	ret = map_count_run(_metadata, s, &status);
	if (ret == RUN_TOO_SLOW)
		STUB_FAIL(return, "%s", s->err);
	if (ret == RUN_STALLED && s->stage == ST_MOVING)
		STUB_VULNERABLE(return,
				"wedged in an mremap() of %d pages %d host mappings short of the limit",
				MOVE_PAGES,
				MOVE_MARGIN);
	if (ret == RUN_STALLED)
		STUB_VULNERABLE(return,
				"wedged at stage %d after %lu of %lu pages, below the limit the probe found (%lu)",
				s->stage, s->progress, s->pages, limit);
	switch (s->stage) {
	case ST_STALE:
		STUB_VULNERABLE(return,
				"uid %d moved %d pages with mremap() %d host mappings short of the limit, and still read 0x%02x at their old address: the munmap after the failed part of the batch was dropped",
				STUB_NOBODY, MOVE_PAGES, MOVE_MARGIN, s->seen);
	case ST_MOVED:
		TH_LOG("the child went on after the mremap(), %s, fault at %#lx (old address %#lx)",
		       stub_status_str(status, buf, sizeof(buf)), s->fault,
		       s->from);
		if (WIFEXITED(status) && s->fault == s->from)
			STUB_FAIL(return,
				  "the batch did not fail: is the host limit not %d mappings away?",
				  MOVE_MARGIN);
		STUB_VULNERABLE(return,
				"uid %d moved %d pages with mremap() %d host mappings short of the limit, went on after the sync failed and then could not even take the fault at the old address: its host mappings no longer match its page table",
				STUB_NOBODY, MOVE_PAGES, MOVE_MARGIN);
	case ST_MOVING:
		if (!map_count_killed_ok(_metadata, status))
			STUB_FAIL(return, "child died in an unexpected way");
		TH_LOG("defended: killed in the mremap() whose batch failed");
		return;
	default:
		STUB_FAIL(return, "stopped at stage %d, after %lu of %lu pages: %s",
			  s->stage, s->progress, s->pages, s->err);
	}
}

TEST_HARNESS_MAIN
