// SPDX-License-Identifier: GPL-2.0
/*
 * A frame freed on one vCPU stays host-mapped in a process that runs
 * on another.
 *
 * No hijack is needed.  UML's flush_tlb_*() only mark a range of the mm for
 * a later sync; the host munmap runs when a task of that mm next enters
 * its stub (userspace() -> current_mm_sync()).  So a page can be unmapped
 * in the guest and freed on one vCPU while the stub of its mm keeps
 * running guest code on another vCPU, which keeps its host mapping of the
 * frame until its next trap (up to a timer tick).  If the frame is reused
 * meanwhile, the process reads (and could write) somebody else's memory.
 *
 * Two ways to get there, one test each, both needing two vCPUs:
 *  - another process frees the page: root truncates a memfd whose pages
 *    an unprivileged process, pinned to the other vCPU, keeps reading,
 *    and then allocates and fills fresh memory;
 *  - the process frees it itself: one thread munmaps the pages another
 *    thread keeps reading on the other vCPU; root, which stops the first
 *    thread at the exit of its munmap() (see the test), allocates and
 *    fills fresh memory.
 * The reader uses plain loads only, so its stub traps for nothing but the
 * timer tick.  A read counts only when it shows root's pattern, which can
 * never legitimately be at that address: before the free the page holds
 * the reader's own pattern, after it the access must fault.  Each test
 * tries again and again (for up to STALE_BUDGET_MS) and stops at the first
 * such read.
 *
 * A third test adds a hijack to the first: the memfd's reader blocks
 * SIGALRM with a crafted rt_sigreturn (as stub_sigreturn_blocks_timer
 * does) before it reads, so neither the tick nor the kick that stops a
 * stub for a sync (SIGALRM too) interrupts it, and the window stays
 * open as long as it likes.  A
 * kernel that stops the stubs of an mm before its pages are freed can
 * only wait for such a stub or kill it; root's truncate is timed.
 *
 * The hardened kernel must not let a host mapping outlive the guest PTE:
 * the reader sees its own data, then a fault, never root's data;
 * a reader that blocks SIGALRM may be killed instead.
 */
#include "stub_util.h"
#include <pthread.h>
#include <sys/ptrace.h>

#define STALE_PAGES		32	/* pages freed per attempt */
#define STALE_FILL_PAGES	128	/* fresh pages root fills after a free */
#define STALE_WORD		2048	/* where in each page the reader looks */
#define STALE_PAT		32	/* pattern length; STALE_WORD is a multiple */
#define STALE_BUDGET_MS		20000	/* per test, at most */
#define STALE_LOOK_MS		300	/* one attempt's reading (a tick is 10 ms) */

static const char stale_memfd_pat[STALE_PAT] = "SMP root's memfd, reader may see";
static const char stale_own_pat[STALE_PAT] = "SMP the attacker's own anon page";
static const char stale_root_pat[STALE_PAT] = "SMP ROOT'S FRESH MEMORY, SECRET!";

enum { LOOK_RUNNING, LOOK_FOREIGN, LOOK_FAULT, LOOK_STOPPED, LOOK_TIMEOUT };

/* What one attempt's reader saw. */
struct stale_look {
	int how;		/* LOOK_* */
	int sig;		/* the fault that ended it */
	int page;		/* page index of the foreign read */
	int other_page;		/* first read of neither pattern, or -1 */
	unsigned long sweeps;
	unsigned long own_tsc;	/* start of the last sweep of own data only */
	unsigned long seen_tsc;	/* when root's bytes were read */
	unsigned long end_tsc;	/* when the reading ended */
	unsigned char seen[STALE_PAT];
	unsigned char other[STALE_PAT];
};

enum { ST_START, ST_READING, ST_DONE };

/* Shared between root and the attacker (MAP_SHARED). */
struct stale_shared {
	int stage;
	int quit;		/* root: no more attempts */
	int go;			/* root: attempt n's memfd pages are ready */
	int ready;		/* reader: attempt n mapped, being read */
	int stop;		/* root: end attempt n's reading */
	int done;		/* reader: attempt n over, look filled in */
	int armed;		/* reading thread: unmap attempt n's pages */
	int unmapping;		/* unmapping thread: munmap() of n under way */
	int unmapped;		/* unmapping thread: munmap() of n returned */
	int released;		/* root: attempt n's fill memory freed */
	int tid;		/* the unmapping thread */
	int traced;		/* root traces it */
	int blocked;		/* hijacked reader: SIGALRM blocked (1) */
	unsigned long base;	/* the reader's mapping */
	unsigned long cut_tsc;	/* truncate returned / munmap called */
	struct stale_look look;	/* the current attempt */
	char err[128];
};

/* What root makes of the attempts. */
struct stale_tally {
	int attempts;
	int faults;		/* reads that ended in the expected fault */
	int stale_own;		/* own data read after the free and fill */
	int other;		/* bytes of neither pattern read */
	int found;		/* attempt that read root's bytes, or 0 */
	struct stale_look look;	/* that attempt's (else the last one's) */
	unsigned long base;
	unsigned long us;	/* from the free to the foreign read */
	unsigned char other_bytes[STALE_PAT];
};

FIXTURE(stub_stale_frame) {
	struct stale_shared *s;
	int cpu[2];
};

/* The first two CPUs this process may run on; returns how many (0-2). */
static int stale_pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	return n;
}

/* Pin the calling thread to @cpu. */
static int stale_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

FIXTURE_SETUP(stub_stale_frame)
{
	/* main() skips the whole binary with fewer than two */
	ASSERT_EQ(2, stale_pick_cpus(self->cpu));
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	TH_LOG("reader on vCPU %d, root and the freeing side on vCPU %d",
	       self->cpu[0], self->cpu[1]);
}

FIXTURE_TEARDOWN(stub_stale_frame)
{
	munmap(self->s, sizeof(*self->s));
}

/* The TSC after every earlier load has completed. */
static inline unsigned long stale_tsc(void)
{
	__asm__ volatile("lfence" : : : "memory");
	return stub_rdtsc();
}

static unsigned long stale_us(unsigned long from, unsigned long to)
{
	return (long)(to - from) <= 0 ? 0 : (to - from) * 1000 / stub_tsc_per_ms;
}

static void stale_fill_pages(void *p, size_t pages, const char *pat)
{
	unsigned char *c = p;
	size_t off;

	for (off = 0; off < pages * STUB_PAGE; off += STALE_PAT)
		memcpy(c + off, pat, STALE_PAT);
}

/* Root allocates fresh memory and fills it with its pattern. */
static void *stale_root_fill(void)
{
	void *m = mmap(NULL, STALE_FILL_PAGES * STUB_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	stale_fill_pages(m, STALE_FILL_PAGES, stale_root_pat);
	return m;
}

static void stale_root_free(void *m)
{
	if (m)
		munmap(m, STALE_FILL_PAGES * STUB_PAGE);
}

static void stale_look_init(struct stale_look *lk)
{
	memset(lk, 0, sizeof(*lk));
	lk->other_page = -1;
}

/*
 * Read the word at STALE_WORD of each of the @npages pages at @base, over
 * and over, with plain loads: no syscall, so the stub traps only for the
 * timer tick or a fault.  Sets *@ready to @n after the first sweep (if
 * @ready).  Returns at the first read of root's pattern (LOOK_FOREIGN),
 * when *@stop reads @n (LOOK_STOPPED) or at @deadline (TSC, LOOK_TIMEOUT);
 * a fault is the caller's to catch.
 */
static int stale_sweep(const unsigned char *base, int npages,
		       const char *own, int *ready, const int *stop, int n,
		       unsigned long deadline, struct stale_look *lk)
{
	const unsigned char *p;
	unsigned char b[STALE_PAT];
	uint64_t own_word;
	unsigned long t;
	int i, j, all_own;

	memcpy(&own_word, own, sizeof(own_word));
	for (;;) {
		t = stale_tsc();
		all_own = 1;
		for (i = 0; i < npages; i++) {
			p = base + i * STUB_PAGE + STALE_WORD;
			if (READ_ONCE(*(const uint64_t *)p) == own_word)
				continue;
			all_own = 0;
			for (j = 0; j < STALE_PAT; j++)
				b[j] = READ_ONCE(p[j]);
			if (!memcmp(b, stale_root_pat, STALE_PAT)) {
				lk->seen_tsc = stale_tsc();
				lk->page = i;
				memcpy(lk->seen, b, STALE_PAT);
				return LOOK_FOREIGN;
			}
			if (lk->other_page < 0) {
				lk->other_page = i;
				memcpy(lk->other, b, STALE_PAT);
			}
		}
		if (all_own)
			lk->own_tsc = t;
		if (!lk->sweeps++ && ready)
			__atomic_store_n(ready, n, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(stop, __ATOMIC_RELAXED) == n)
			return LOOK_STOPPED;
		if (stub_tsc_passed(deadline))
			return LOOK_TIMEOUT;
	}
}

/* stale_sweep() with a fault caught and ending the reading (LOOK_FAULT). */
static void stale_read(const unsigned char *base, int npages,
		       const char *own, int *ready, const int *stop, int n,
		       unsigned long deadline, struct stale_look *lk)
{
	struct stub_probe_state st;

	stale_look_init(lk);
	stub_probe_sig = 0;
	stub_probe_begin(&st);
	if (sigsetjmp(stub_probe_jmp, 1)) {
		lk->how = LOOK_FAULT;
		lk->sig = stub_probe_sig;
	} else {
		lk->how = stale_sweep(base, npages, own, ready, stop, n,
				      deadline, lk);
	}
	lk->end_tsc = stale_tsc();
	stub_probe_end(&st);
	if (ready && __atomic_load_n(ready, __ATOMIC_SEQ_CST) != n)
		__atomic_store_n(ready, n, __ATOMIC_SEQ_CST);
}

/* Wait up to @ms for *@word to read @n (1 ms polls). */
static int stale_wait_for(const int *word, int n, unsigned long ms)
{
	unsigned long end = stub_now_ms() + ms;

	while (__atomic_load_n(word, __ATOMIC_SEQ_CST) != n) {
		if (stub_now_ms() >= end)
			return -1;
		stub_sleep_ms(1);
	}
	return 0;
}

/* Root's view of one finished attempt; returns 1 if it read root's bytes. */
static int stale_count(struct stale_tally *t, const struct stale_look *lk,
		       unsigned long base, unsigned long freed_tsc, int n)
{
	t->attempts = n;
	t->look = *lk;
	t->base = base;
	t->faults += lk->how == LOOK_FAULT;
	t->stale_own += lk->own_tsc && (long)(lk->own_tsc - freed_tsc) > 0;
	if (lk->other_page >= 0 && !t->other++)
		memcpy(t->other_bytes, lk->other, STALE_PAT);
	if (lk->how != LOOK_FOREIGN)
		return 0;
	t->found = n;
	t->us = stale_us(freed_tsc, lk->seen_tsc);
	return 1;
}

static void stale_text(char *out, const unsigned char *b)
{
	int i;

	for (i = 0; i < STALE_PAT; i++)
		out[i] = b[i] >= 32 && b[i] < 127 ? b[i] : '.';
	out[i] = 0;
}

/* Log formats, kept on one line so that they can be grepped for */
#define TALLY_FMT "%d attempt(s): %d ended in the expected fault, %d read the old data after the pages were %s (stale, not yet reused), %d read bytes of neither pattern"

static void stale_log_tally(struct __test_metadata *_metadata,
			    const struct stale_tally *t, const char *freed)
{
	char text[STALE_PAT + 1];

	TH_LOG(TALLY_FMT, t->attempts, t->faults, t->stale_own, freed, t->other);
	if (t->other) {
		stale_text(text, t->other_bytes);
		TH_LOG("first such read: \"%s\"", text);
	}
}

/*
 * Reap @who, the child that made the attempts: 0 once it has ended
 * cleanly or in a way to judge, -1 (the test failed) if it hangs or
 * failed to set up.
 */
static int stale_reap(struct __test_metadata *_metadata,
		      const struct stale_shared *s, const struct stale_tally *t,
		      const char *who, pid_t pid, int dead, int *status)
{
	char buf[64];

	if (!dead && !stub_wait_child(pid, 10000, status)) {
		stub_kill_wait(pid, 5000, status);
		STUB_FAIL(return -1, "%s still alive (stage %d, attempt %d)",
			  who, s->stage, t->attempts);
	}
	TH_LOG("%s %s, stage %d", who,
	       stub_status_str(*status, buf, sizeof(buf)), s->stage);
	if (s->stage < ST_READING || s->err[0])
		STUB_FAIL(return -1, "%s failed: %s", who, s->err);
	return 0;
}

/* No stale read: the attempts must have run and the child ended cleanly */
static void stale_defended(struct __test_metadata *_metadata,
			   const struct stale_tally *t, int status,
			   const char *freed)
{
	ASSERT_LT(0, t->attempts) TH_LOG("no attempt completed");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TH_LOG("defended: root's data never showed through the %s pages",
	       freed);
}

/* Pin to @cpu and drop to uid 65534, or give up with s->err set. */
static void stale_become_reader(struct stale_shared *s, int cpu)
{
	stub_prefault(s, sizeof(*s));
	if (stale_pin(cpu)) {
		snprintf(s->err, sizeof(s->err), "pinning to vCPU %d: %s",
			 cpu, strerror(errno));
		_exit(1);
	}
	if (stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "setuid failed");
		_exit(1);
	}
}

/* ---- another process frees the page: truncate a shared memfd --------- */

/* Map root's memfd read-only, host mappings of every page included. */
static unsigned char *stale_memfd_map(struct stale_shared *s, int fd)
{
	unsigned char *m;
	int i;

	m = mmap(NULL, STALE_PAGES * STUB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(s->err, sizeof(s->err), "mmap of the memfd: %s",
			 strerror(errno));
		_exit(1);
	}
	/* map every page in the host, and check what is there */
	for (i = 0; i < STALE_PAGES; i++)
		if (memcmp(m + i * STUB_PAGE + STALE_WORD, stale_memfd_pat,
			   STALE_PAT)) {
			snprintf(s->err, sizeof(s->err),
				 "page %d of the memfd lacks root's pattern",
				 i);
			_exit(1);
		}
	return m;
}

static void stale_memfd_reader(struct stale_shared *s, int fd, int cpu)
{
	size_t len = STALE_PAGES * STUB_PAGE;
	unsigned char *m;
	int n = 0;

	stale_become_reader(s, cpu);
	s->stage = ST_READING;
	for (;;) {
		unsigned long end = stub_now_ms() + 10000;

		while (__atomic_load_n(&s->go, __ATOMIC_SEQ_CST) == n &&
		       !__atomic_load_n(&s->quit, __ATOMIC_SEQ_CST)) {
			if (stub_now_ms() >= end) {
				snprintf(s->err, sizeof(s->err),
					 "no attempt %d from root", n + 1);
				_exit(1);
			}
			stub_sleep_ms(1);
		}
		if (__atomic_load_n(&s->quit, __ATOMIC_SEQ_CST))
			break;
		n = __atomic_load_n(&s->go, __ATOMIC_SEQ_CST);
		m = stale_memfd_map(s, fd);
		stub_prefault_stack(16384);
		s->base = (unsigned long)m;
		stale_read(m, STALE_PAGES, stale_memfd_pat, &s->ready, &s->stop, n,
			   stub_tsc_deadline(STALE_LOOK_MS), &s->look);
		munmap(m, len);
		__atomic_store_n(&s->done, n, __ATOMIC_SEQ_CST);
		if (s->look.how == LOOK_FOREIGN)
			break;
	}
	s->stage = ST_DONE;
	_exit(0);
}

TEST_F_TIMEOUT(stub_stale_frame, truncated_memfd_page_never_shows_root_data, 60)
{
	struct stale_shared *s = self->s;
	size_t len = STALE_PAGES * STUB_PAGE;
	unsigned long start, delay;
	struct stale_tally t = { 0 };
	char text[STALE_PAT + 1];
	unsigned char *pages;
	int fd, n, status = 0, dead = 0;
	void *fill;
	pid_t pid;

	pages = malloc(len);
	ASSERT_NE(NULL, pages);
	stale_fill_pages(pages, STALE_PAGES, stale_memfd_pat);
	fd = memfd_create("stub-stale-frame", 0);
	ASSERT_LE(0, fd) TH_LOG("memfd_create: %s", strerror(errno));
	ASSERT_EQ(0, stale_pin(self->cpu[1]))
		TH_LOG("pinning to vCPU %d: %s", self->cpu[1], strerror(errno));

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		stale_memfd_reader(s, fd, self->cpu[0]);

	start = stub_now_ms();
	for (n = 1; stub_now_ms() - start < STALE_BUDGET_MS; n++) {
		if (ftruncate(fd, len) || pwrite(fd, pages, len, 0) != (ssize_t)len) {
			TH_LOG("refilling the memfd: %s", strerror(errno));
			break;
		}
		__atomic_store_n(&s->go, n, __ATOMIC_SEQ_CST);
		if (stale_wait_for(&s->ready, n, 10000)) {
			dead = waitpid(pid, &status, WNOHANG) == pid;
			break;
		}
		/* cut at a varying point of the reader's tick */
		delay = (stub_rdtsc() >> 8) % 5;
		stub_spin_ms(delay);

		ftruncate(fd, 0);
		s->cut_tsc = stale_tsc();
		fill = stale_root_fill();

		if (stale_wait_for(&s->done, n, STALE_LOOK_MS + 500)) {
			__atomic_store_n(&s->stop, n, __ATOMIC_SEQ_CST);
			stale_wait_for(&s->done, n, 5000);
		}
		stale_root_free(fill);
		if (__atomic_load_n(&s->done, __ATOMIC_SEQ_CST) != n) {
			dead = waitpid(pid, &status, WNOHANG) == pid;
			break;
		}
		if (stale_count(&t, &s->look, s->base, s->cut_tsc, n))
			break;
	}
	__atomic_store_n(&s->quit, 1, __ATOMIC_SEQ_CST);
	close(fd);
	free(pages);
	if (stale_reap(_metadata, s, &t, "reader", pid, dead, &status))
		return;
	stale_log_tally(_metadata, &t, "truncated");
	if (t.found) {
		stale_text(text, t.look.seen);
		STUB_VULNERABLE(return,
				"uid %d on vCPU %d read \"%s\" at +%d of page %d of its shared mapping %#lx of a memfd, %lu us after root truncated the memfd on vCPU %d, without a fault: bytes root wrote into memory it allocated after the truncate (attempt %d, %lu ms)",
				STUB_NOBODY, self->cpu[0], text,
				STALE_WORD, t.look.page, t.base, t.us,
				self->cpu[1], t.found,
				stub_now_ms() - start);
	}
	stale_defended(_metadata, &t, status, "truncated");
}

/* ---- the process frees the page itself: munmap from another thread --- */

struct stale_thread_arg {
	struct stale_shared *s;
	int cpu;
	int err;
};

static void *stale_unmapper(void *arg)
{
	struct stale_thread_arg *a = arg;
	struct stale_shared *s = a->s;
	struct timespec ts = { 0, 100000000 };
	int seen = 0, n;

	if (stale_pin(a->cpu)) {
		a->err = errno;
		return NULL;
	}
	__atomic_store_n(&s->tid, gettid(), __ATOMIC_SEQ_CST);
	for (;;) {
		n = __atomic_load_n(&s->armed, __ATOMIC_SEQ_CST);
		if (n < 0)
			break;
		if (n == seen) {
			syscall(SYS_futex, &s->armed, FUTEX_WAIT, seen, &ts,
				NULL, 0);
			continue;
		}
		seen = n;
		s->cut_tsc = stale_tsc();
		__atomic_store_n(&s->unmapping, n, __ATOMIC_SEQ_CST);
		munmap((void *)s->base, STALE_PAGES * STUB_PAGE);
		__atomic_store_n(&s->unmapped, n, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void stale_thread_reader(struct stale_shared *s, const int cpu[2])
{
	struct stale_thread_arg arg = { .s = s, .cpu = cpu[1] };
	size_t len = STALE_PAGES * STUB_PAGE;
	pthread_t thread;
	unsigned char *m;
	int n;

	stale_become_reader(s, cpu[0]);
	if (pthread_create(&thread, NULL, stale_unmapper, &arg)) {
		snprintf(s->err, sizeof(s->err), "pthread_create failed");
		_exit(1);
	}
	if (stale_wait_for(&s->traced, 1, 10000)) {
		snprintf(s->err, sizeof(s->err),
			 "root did not trace the unmapping thread%s",
			 arg.err ? " (pinning it failed)" : "");
		_exit(1);
	}
	s->stage = ST_READING;
	for (n = 1; !__atomic_load_n(&s->quit, __ATOMIC_SEQ_CST); n++) {
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(s->err, sizeof(s->err), "mmap: %s",
				 strerror(errno));
			break;
		}
		stale_fill_pages(m, STALE_PAGES, stale_own_pat);
		stub_prefault_stack(16384);
		s->base = (unsigned long)m;
		__atomic_store_n(&s->armed, n, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &s->armed, FUTEX_WAKE, 1, NULL, NULL, 0);
		stale_read(m, STALE_PAGES, stale_own_pat, NULL, &s->stop, n,
			   stub_tsc_deadline(STALE_LOOK_MS), &s->look);
		__atomic_store_n(&s->done, n, __ATOMIC_SEQ_CST);
		if (stale_wait_for(&s->unmapped, n, 5000)) {
			snprintf(s->err, sizeof(s->err),
				 "the unmapping thread did not unmap attempt %d",
				 n);
			break;
		}
		if (s->look.how == LOOK_FOREIGN)
			break;
		/* root frees its memory before the next attempt */
		while (__atomic_load_n(&s->released, __ATOMIC_SEQ_CST) != n &&
		       !__atomic_load_n(&s->quit, __ATOMIC_SEQ_CST))
			stub_sleep_ms(1);
	}
	__atomic_store_n(&s->armed, -1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &s->armed, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_join(thread, NULL);
	s->stage = ST_DONE;
	_exit(0);
}

/* Seize @tid and let it run until its next syscall stop. */
static int stale_trace(pid_t tid)
{
	int st;

	if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) ||
	    ptrace(PTRACE_INTERRUPT, tid, 0, 0) ||
	    waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
		return -1;
	return ptrace(PTRACE_SYSCALL, tid, 0, 0) ? -1 : 0;
}

/*
 * One attempt, with the unmapping thread stopped at the exit of its
 * munmap(): fill fresh memory, wait for the reader's verdict.
 */
static int stale_thread_attempt(struct stale_shared *s, struct stale_tally *t)
{
	int n = __atomic_load_n(&s->unmapping, __ATOMIC_SEQ_CST);
	unsigned long fill_tsc = stale_tsc();
	void *fill = stale_root_fill();
	int done;

	done = !stale_wait_for(&s->done, n, STALE_LOOK_MS + 1000);
	stale_root_free(fill);
	if (!done)
		return -1;
	if (stale_count(t, &s->look, s->base, fill_tsc, n)) {
		t->us = stale_us(s->cut_tsc, s->look.seen_tsc);
		return 1;
	}
	__atomic_store_n(&s->released, n, __ATOMIC_SEQ_CST);
	return 0;
}

TEST_F_TIMEOUT(stub_stale_frame, munmapped_page_never_shows_root_data, 60)
{
	struct stale_shared *s = self->s;
	struct __ptrace_syscall_info info;
	struct stale_tally t = { 0 };
	char text[STALE_PAT + 1];
	int status = 0, st, sig, r;
	unsigned long start;
	long nr = -1;
	pid_t pid, tid;

	ASSERT_EQ(0, stale_pin(self->cpu[1]))
		TH_LOG("pinning to vCPU %d: %s", self->cpu[1], strerror(errno));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		stale_thread_reader(s, self->cpu);

	/*
	 * A thread returning from munmap() waits (spinning) for the stub the
	 * reading thread holds, and any interrupt on its vCPU meanwhile
	 * kicks that stub, which ends the race before anybody else could
	 * run there.  So root traces the unmapping thread: it stops at the
	 * exit of its munmap(), the pages already freed, and root runs at
	 * once on that vCPU, allocating (first from the frames just freed)
	 * and filling fresh memory.
	 */
	start = stub_now_ms();
	while (!(tid = __atomic_load_n(&s->tid, __ATOMIC_SEQ_CST)) &&
	       stub_now_ms() - start < 10000)
		stub_sleep_ms(1);
	if (!tid || stale_trace(tid)) {
		__atomic_store_n(&s->quit, 1, __ATOMIC_SEQ_CST);
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "cannot trace the unmapping thread %d: %s", tid,
			  strerror(errno));
	}
	__atomic_store_n(&s->traced, 1, __ATOMIC_SEQ_CST);

	start = stub_now_ms();
	while (waitpid(tid, &st, __WALL) == tid && WIFSTOPPED(st)) {
		sig = 0;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info),
				   &info) <= 0)
				info.op = PTRACE_SYSCALL_INFO_NONE;
			if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
				nr = info.entry.nr;
			} else if (info.op == PTRACE_SYSCALL_INFO_EXIT &&
				   nr == SYS_munmap) {
				nr = -1;
				r = stale_thread_attempt(s, &t);
				if (r < 0)
					TH_LOG("attempt %d: the reading thread did not finish",
					       t.attempts + 1);
				if (r)
					__atomic_store_n(&s->quit, 1,
							 __ATOMIC_SEQ_CST);
			}
		} else if (st >> 16 != PTRACE_EVENT_STOP) {
			sig = WSTOPSIG(st);	/* a signal: deliver it */
		}
		if (stub_now_ms() - start >= STALE_BUDGET_MS)
			__atomic_store_n(&s->quit, 1, __ATOMIC_SEQ_CST);
		if (ptrace(PTRACE_SYSCALL, tid, 0, sig))
			break;
	}
	__atomic_store_n(&s->quit, 1, __ATOMIC_SEQ_CST);
	if (stale_reap(_metadata, s, &t, "attacker", pid, 0, &status))
		return;
	stale_log_tally(_metadata, &t, "unmapped");
	if (t.found) {
		stale_text(text, t.look.seen);
		STUB_VULNERABLE(return,
				"uid %d's thread on vCPU %d read \"%s\" at +%d of page %d of its mapping %#lx, %lu us after its other thread on vCPU %d called munmap() on it, without a fault: bytes root wrote into memory it allocated after the munmap (attempt %d, %lu ms)",
				STUB_NOBODY, self->cpu[0], text,
				STALE_WORD, t.look.page, t.base, t.us,
				self->cpu[1], t.found,
				stub_now_ms() - start);
	}
	stale_defended(_metadata, &t, status, "unmapped");
}

/* ---- the reader blocks the timer: a window as long as it likes ------- */

#define STALE_BLOCKED_ATTEMPTS	8	/* readers, at most */
#define STALE_BLOCKED_BUDGET_MS	15000	/* for all of them, at most */
#define STALE_BLOCKED_LOOK_MS	3000	/* one reader's reading, SIGALRM blocked */

/*
 * The hijacked reader's state: it goes on at stale_blocked_read() on a stack
 * of its own, with every register from the crafted frame.
 */
static struct {
	struct stale_shared *s;
	const unsigned char *m;
	int n;
	int runs;
	int warm_ready;		/* stands in for s->ready in the first run */
} stale_blocked;
static ucontext_t stale_blocked_frame;
static unsigned char stale_blocked_stack[65536] __aligned(16);

/*
 * Runs after the crafted rt_sigreturn, SIGALRM blocked in the host:
 * neither the tick nor a kick from a flush stops the stub.  Any trap (a
 * code page not mapped yet, a copy-on-write) lets a kernel that resets
 * the mask on its way back unblock SIGALRM, so the first run only
 * touches what the second uses and blocks it again; the second reads
 * without a trap.  The verdict is in the shared page before the reader
 * traps again, for the first time, to exit.
 */
static void stale_blocked_read(void)
{
	struct stale_shared *s = stale_blocked.s;
	struct stale_look *lk = &s->look;
	int warm = !stale_blocked.runs++;

	stale_look_init(lk);
	if (sigsetjmp(stub_probe_jmp, 0)) {	/* 0: no syscall */
		lk->how = LOOK_FAULT;
		lk->sig = stub_probe_sig;
	} else {
		/* the first run: one sweep (a deadline long passed) */
		lk->how = stale_sweep(stale_blocked.m, STALE_PAGES, stale_memfd_pat,
				      warm ? &stale_blocked.warm_ready : &s->ready,
				      &s->stop, stale_blocked.n,
				      warm ? 0 : stub_tsc_deadline(STALE_BLOCKED_LOOK_MS),
				      lk);
	}
	if (warm)
		stub_run_with_timer_blocked(&stale_blocked_frame, stale_blocked_read,
					    stale_blocked_stack, sizeof(stale_blocked_stack),
					    &s->blocked);
	lk->end_tsc = stale_tsc();
	__atomic_store_n(&s->ready, stale_blocked.n, __ATOMIC_SEQ_CST);
	s->stage = ST_DONE;
	__atomic_store_n(&s->done, stale_blocked.n, __ATOMIC_SEQ_CST);
	_exit(0);
}

static void stale_blocked_reader(struct stale_shared *s, int fd, int cpu, int n)
{
	struct stub_probe_state st;

	stale_become_reader(s, cpu);
	stale_blocked.s = s;
	stale_blocked.n = n;
	stale_blocked.m = stale_memfd_map(s, fd);
	s->base = (unsigned long)stale_blocked.m;
	stub_probe_sig = 0;
	stub_probe_begin(&st);		/* for good: the reader exits */
	s->stage = ST_READING;
	stub_run_with_timer_blocked(&stale_blocked_frame, stale_blocked_read, stale_blocked_stack,
				    sizeof(stale_blocked_stack), &s->blocked);
}

/*
 * Wait up to @ms for *@word to read @n (returns 0) or for @pid to end
 * (returns 1, *@status filled in); -1 if neither happened.
 */
static int stale_blocked_wait(const int *word, int n, pid_t pid, int *status,
			      unsigned long ms)
{
	unsigned long end = stub_now_ms() + ms;

	while (__atomic_load_n(word, __ATOMIC_SEQ_CST) != n) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		if (stub_now_ms() >= end)
			return -1;
		stub_sleep_ms(1);
	}
	return 0;
}

/* Root's view of one hijacked reader. */
struct stale_blocked_run {
	int status;
	int done;		/* the reader handed back its verdict */
	unsigned long cut_us;	/* how long root's truncate took */
	unsigned long sweeps[3]; /* before, during, after the truncate */
};

/*
 * Attempt @n, root's side: once the reader reads with SIGALRM blocked,
 * truncate the memfd (timed: a kernel may wait there until the reader's
 * stub is stopped) and fill fresh memory; then wait for the reader's
 * verdict or end, and reap it.  Returns 1 if it was reading when root
 * truncated, 0 if it ended before, -1 if it would not end.
 */
static int stale_blocked_attempt(struct stale_shared *s, int fd, pid_t pid, int n,
				 struct stale_blocked_run *run)
{
	unsigned long *sweeps = &s->look.sweeps;
	unsigned long t0;
	void *fill;
	int r;

	memset(run, 0, sizeof(*run));
	r = stale_blocked_wait(&s->ready, n, pid, &run->status, 10000);
	if (r > 0)
		return 0;
	if (!r) {
		run->sweeps[0] = READ_ONCE(*sweeps);
		t0 = stale_tsc();
		ftruncate(fd, 0);
		s->cut_tsc = stale_tsc();
		run->sweeps[1] = READ_ONCE(*sweeps);
		run->cut_us = stale_us(t0, s->cut_tsc);
		fill = stale_root_fill();
		r = stale_blocked_wait(&s->done, n, pid, &run->status,
				       STALE_BLOCKED_LOOK_MS + 1000);
		if (r < 0) {
			__atomic_store_n(&s->stop, n, __ATOMIC_SEQ_CST);
			r = stale_blocked_wait(&s->done, n, pid, &run->status, 5000);
		}
		stale_root_free(fill);
		run->done = __atomic_load_n(&s->done, __ATOMIC_SEQ_CST) == n;
		run->sweeps[2] = READ_ONCE(*sweeps);
		run->sweeps[2] -= run->sweeps[1];
		run->sweeps[1] -= run->sweeps[0];
		if (r > 0 || (!r && stub_wait_child(pid, 10000, &run->status)))
			return 1;
	}
	stub_kill_wait(pid, 5000, &run->status);
	return -1;
}

static const char *stale_blocked_how(const struct stale_blocked_run *run,
				     const struct stale_look *lk, char *buf, size_t len)
{
	if (!run->done)
		return stub_status_str(run->status, buf, len);
	switch (lk->how) {
	case LOOK_FOREIGN:
		return "read root's fresh bytes";
	case LOOK_FAULT:
		snprintf(buf, len, "faulted (signal %d)", lk->sig);
		return buf;
	case LOOK_STOPPED:
		return "stopped by root";
	}
	return "read until its deadline";
}

/* Log formats, kept on one line so that they can be grepped for */
#define ENDED_EARLY_FMT "attempt %d: the reader ended before it read (SIGALRM blocked %d): %s"
#define TRUNCATE_FMT "attempt %d: root's truncate took %lu us; the reader swept %lu time(s) before it, %lu while it ran, %lu after; reader: %s"
#define READERS_FMT "%d of %d reader(s) killed while reading, %d read until their deadline, %d ended before reading; root's truncate took %lu-%lu us (%lu ms in all)"
#define DEFENDED_MSG "defended: root's data never showed through the truncated pages to a reader that blocked SIGALRM"

TEST_F_TIMEOUT(stub_stale_frame, timer_blocking_reader_never_sees_root_data,
	       60)
{
	struct stale_shared *s = self->s;
	size_t len = STALE_PAGES * STUB_PAGE;
	unsigned long start, cut_min = ~0UL, cut_max = 0;
	int fd, n, r, read = 0, killed = 0, gave_up = 0, early = 0;
	char buf[64], text[STALE_PAT + 1];
	struct stale_tally t = { 0 };
	struct stale_blocked_run run;
	unsigned char *pages;
	pid_t pid;

	ASSERT_STUB_FOUND();
	pages = malloc(len);
	ASSERT_NE(NULL, pages);
	stale_fill_pages(pages, STALE_PAGES, stale_memfd_pat);
	fd = memfd_create("stub-stale-frame-blocked", 0);
	ASSERT_LE(0, fd) TH_LOG("memfd_create: %s", strerror(errno));
	ASSERT_EQ(0, stale_pin(self->cpu[1]))
		TH_LOG("pinning to vCPU %d: %s", self->cpu[1], strerror(errno));

	/*
	 * A fresh reader for every attempt: handing back its verdict and
	 * mapping the memfd again take syscalls, and a kernel that kills a
	 * stub blocking SIGALRM ends the attempt with its reader anyway.
	 */
	start = stub_now_ms();
	for (n = 1; n <= STALE_BLOCKED_ATTEMPTS &&
	     stub_now_ms() - start < STALE_BLOCKED_BUDGET_MS; n++) {
		if (ftruncate(fd, len) ||
		    pwrite(fd, pages, len, 0) != (ssize_t)len)
			STUB_FAIL(return, "refilling the memfd: %s", strerror(errno));
		s->blocked = 0;
		s->stage = ST_START;
		fflush(NULL);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			stale_blocked_reader(s, fd, self->cpu[0], n);

		r = stale_blocked_attempt(s, fd, pid, n, &run);
		if (r < 0)
			STUB_FAIL(return,
				  "attempt %d: the reader neither read nor ended in time (stage %d, SIGALRM blocked %d, ready %d, done %d)",
				  n, s->stage,
				  s->blocked, s->ready, s->done);
		if (s->stage < ST_READING || s->err[0])
			STUB_FAIL(return, "reader failed: %s", s->err);
		if (!r) {
			/* a kernel may refuse the crafted rt_sigreturn */
			TH_LOG(ENDED_EARLY_FMT, n, s->blocked,
			       stub_status_str(run.status, buf, sizeof(buf)));
			if (!stub_defended_kill(run.status))
				STUB_FAIL(return, "the reader ended in an unexpected way");
			early++;
			continue;
		}
		read++;
		stale_count(&t, &s->look, s->base, s->cut_tsc, n);
		cut_min = run.cut_us < cut_min ? run.cut_us : cut_min;
		cut_max = run.cut_us > cut_max ? run.cut_us : cut_max;
		TH_LOG(TRUNCATE_FMT, n, run.cut_us, run.sweeps[0], run.sweeps[1], run.sweeps[2],
		       stale_blocked_how(&run, &s->look, buf, sizeof(buf)));
		if (t.found)
			break;
		if (stub_defended_kill(run.status)) {
			killed++;
			continue;
		}
		if (!run.done || !WIFEXITED(run.status) ||
		    WEXITSTATUS(run.status))
			STUB_FAIL(return, "the reader ended in an unexpected way: %s",
				  stub_status_str(run.status, buf,
						  sizeof(buf)));
		/*
		 * The watchdog counts CPU time: on a busy host the reader
		 * may reach its deadline first, and report.
		 */
		gave_up += s->look.how == LOOK_TIMEOUT;
	}
	close(fd);
	free(pages);
	stale_log_tally(_metadata, &t, "truncated");
	if (read)
		TH_LOG(READERS_FMT, killed, read, gave_up, early, cut_min, cut_max,
		       stub_now_ms() - start);
	if (t.found) {
		stale_text(text, t.look.seen);
		STUB_VULNERABLE(return,
				"uid %d on vCPU %d, SIGALRM blocked with a crafted rt_sigreturn, read \"%s\" at +%d of page %d of its shared mapping %#lx of a memfd, %lu us after root's truncate of the memfd on vCPU %d returned (in %lu us), without a fault: bytes root wrote into memory it allocated after the truncate (attempt %d, %lu ms)",
				STUB_NOBODY, self->cpu[0], text, STALE_WORD,
				t.look.page, t.base, t.us, self->cpu[1],
				run.cut_us, t.found, stub_now_ms() - start);
	}
	if (!t.attempts && early) {
		TH_LOG("defended: no reader got to read with SIGALRM blocked");
		return;
	}
	ASSERT_LT(0, t.attempts) TH_LOG("no attempt completed");
	TH_LOG(DEFENDED_MSG);
}

/* Log formats, kept on one line so that they can be grepped for */
#define NEEDS_TWO_CPUS_FMT "needs two vCPUs (ncpus=2), this process may run on %d (%ld online)\n"

int main(int argc, char **argv)
{
	int cpu[2];

	if (stale_pick_cpus(cpu) < 2) {
		ksft_print_header();
		ksft_exit_skip(NEEDS_TWO_CPUS_FMT, stale_pick_cpus(cpu),
			       sysconf(_SC_NPROCESSORS_ONLN));
	}
	return test_harness_run(argc, argv);
}
