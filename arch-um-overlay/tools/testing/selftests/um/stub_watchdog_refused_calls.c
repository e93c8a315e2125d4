// SPDX-License-Identifier: GPL-2.0
/*
 * Timer blocking through the stub's own calls: block the timer, then
 * keep the stub busy with host mmap and munmap calls instead of spinning.
 *
 * On the unpatched base those calls simply run: the process never reports
 * and its vCPU waits for ever, as with a plain spin.  A kernel that checks
 * each call on a listener and answers a refused one with an error spends
 * its own CPU time on every refusal, while the stub itself uses little:
 * a watchdog that counts only the stub's CPU time then lets the stream
 * hold the vCPU for several times its bound.  The hardened kernel must
 * kill such a process quickly: a refused call alone proves the stub is
 * hijacked, and the time the kernel spends serving a stub counts against
 * it.  A victim on the same vCPU measures its worst wake-up latency.
 */
#include "stub_latency.h"

#define WATCH_MS	6000

FIXTURE(stub_refused) {
	struct lat_shared *s;
	int ncpus;
};

FIXTURE_SETUP(stub_refused)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	self->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE_TEARDOWN(stub_refused)
{
	munmap(self->s, sizeof(*self->s));
}

/* SIGALRM blocked: map and unmap a page through the stub, for ever */
static void hog_stream(void)
{
	unsigned long *count = &lat_hog_shared->hog_reports;
	long p;

	for (;;) {
		p = stub_syscall6(SYS_mmap, 0, STUB_PAGE, PROT_READ,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (!stub_is_errno(p))
			stub_syscall6(SYS_munmap, p, STUB_PAGE, 0, 0, 0, 0);
		WRITE_ONCE(*count, READ_ONCE(*count) + 1);
	}
}

/* Log formats, kept on one line so that they can be grepped for */
#define DEFENDED_FMT "defended: the hog was killed after %lu call(s), the victim woke at worst %lu ms late"

TEST_F_TIMEOUT(stub_refused, victim_latency_next_to_call_stream, 90)
{
	struct lat_shared *s = self->s;
	int hstatus = 0, hog_dead;
	unsigned long worst_ms;
	pid_t vpid, hpid;
	char buf[64];

	TH_LOG("%d vCPU(s)", self->ncpus);
	LAT_START_VICTIM(s, self->ncpus, vpid);

	hpid = fork();
	ASSERT_GE(hpid, 0);
	if (hpid == 0)
		lat_hog(s, self->ncpus, hog_stream);

	/* on one unpatched vCPU nothing below runs again */
	hog_dead = lat_watch(hpid, WATCH_MS, &hstatus);
	worst_ms = __atomic_load_n(&s->victim_worst_us, __ATOMIC_SEQ_CST) /
		   1000;
	ASSERT_TRUE(lat_stop(hpid, hog_dead, &hstatus, vpid));

	TH_LOG("hog %s after %lu call(s); the victim woke %lu times, at worst %lu ms late",
	       hog_dead ? "killed" : "alive", s->hog_reports, s->victim_wakeups, worst_ms);
	if (!s->hog_ready)
		STUB_FAIL(return, "the hog never blocked SIGALRM: %s", s->err);
	if (worst_ms > LATENCY_LIMIT_MS || !hog_dead)
		STUB_VULNERABLE(return,
				"uid %d blocked SIGALRM and made mmap/munmap calls through the stub: a process on its vCPU woke %lu ms late from a 1 ms sleep (limit %d ms), the hog %s",
				STUB_NOBODY, worst_ms,
				LATENCY_LIMIT_MS, hog_dead ? "was killed late" :
				"is still alive");
	if (!stub_defended_kill(hstatus))
		STUB_FAIL(return, "the hog ended in an unexpected way: %s",
			  stub_status_str(hstatus, buf, sizeof(buf)));
	TH_LOG(DEFENDED_FMT, s->hog_reports, worst_ms);
}

TEST_HARNESS_MAIN
