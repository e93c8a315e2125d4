// SPDX-License-Identifier: GPL-2.0
/*
 * A5, bounded: how long can a process that blocks the timer delay the
 * other processes of its vCPU?
 *
 * A process that blocks SIGALRM with a crafted rt_sigreturn (see
 * stub_sigreturn_blocks_timer.c) but makes one real syscall every 1.9 s
 * reports to the kernel often enough to look alive, and holds its vCPU
 * for 1.9 s at a time: a process sharing that vCPU sleeps 1 ms and wakes
 * up to 1.9 s late, again and again.  The hardened kernel bounds the host
 * CPU time a stub may use between two reports (seccomp_watchdog=, 100 ms
 * by default), so such a hog is killed and the victim's worst wake-up
 * latency stays below LATENCY_LIMIT_MS.
 *
 * The hog and the victim are pinned to CPU 0 on SMP guests; on one vCPU
 * everything shares it and the test itself only runs between the hog's
 * reports.
 */
#include "stub_latency.h"

#define HOG_PERIOD_MS		1900	/* spin this long between reports */
#define WATCH_MS		6000	/* how long the victim measures */

FIXTURE(stub_watchdog) {
	struct lat_shared *s;
	int ncpus;
};

FIXTURE_SETUP(stub_watchdog)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	self->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE_TEARDOWN(stub_watchdog)
{
	munmap(self->s, sizeof(*self->s));
}

static struct lat_shared *hog_shared;
static ucontext_t hog_frame;
static unsigned char hog_stack[65536] __attribute__((aligned(16)));

/*
 * Runs with SIGALRM blocked: spin, report once with a real syscall, block
 * SIGALRM again (a kernel may restore the mask on the way back) and start
 * over on a fresh stack.
 */
static void hog_cycle(void)
{
	stub_spin_ms(HOG_PERIOD_MS);
	syscall(SYS_getppid);
	__atomic_add_fetch(&hog_shared->hog_reports, 1, __ATOMIC_SEQ_CST);
	stub_run_with_timer_blocked(&hog_frame, hog_cycle, hog_stack,
				    sizeof(hog_stack), &hog_shared->hog_ready);
}

static void hog(struct lat_shared *s, int ncpus)
{
	stub_prefault(s, sizeof(*s));
	if (lat_pin(0, ncpus) || stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "pin/setuid failed");
		_exit(1);
	}
	hog_shared = s;
	stub_run_with_timer_blocked(&hog_frame, hog_cycle, hog_stack,
				    sizeof(hog_stack), &s->hog_ready);
}

TEST_F_TIMEOUT(stub_watchdog, victim_latency_next_to_reporting_hog, 90)
{
	struct lat_shared *s = self->s;
	unsigned long end, worst_ms, reports;
	int status, hstatus = 0, hog_dead = 0;
	pid_t vpid, hpid;
	char buf[64];

	TH_LOG("%d vCPU(s), hog reports every %d ms of spinning",
	       self->ncpus, HOG_PERIOD_MS);
	LAT_START_VICTIM(s, self->ncpus, vpid);

	hpid = fork();
	ASSERT_GE(hpid, 0);
	if (hpid == 0)
		hog(s, self->ncpus);

	end = stub_now_ms() + WATCH_MS;
	while (stub_now_ms() < end) {
		if (!hog_dead && waitpid(hpid, &hstatus, WNOHANG) == hpid)
			hog_dead = 1;
		stub_sleep_ms(20);
	}
	worst_ms = __atomic_load_n(&s->victim_worst_us, __ATOMIC_SEQ_CST) /
		   1000;
	reports = __atomic_load_n(&s->hog_reports, __ATOMIC_SEQ_CST);
	if (!hog_dead)
		stub_kill_wait(hpid, 10000, &hstatus);
	kill(vpid, SIGKILL);
	ASSERT_TRUE(stub_wait_child(vpid, 10000, &status));

	TH_LOG("hog %s after %lu report(s); the victim woke %lu times, at "
	       "worst %lu ms late", hog_dead ? "killed" : "alive",
	       reports, s->victim_wakeups, worst_ms);
	if (!s->hog_ready)
		STUB_FAIL("the hog never blocked SIGALRM: %s", s->err);
	if (worst_ms > LATENCY_LIMIT_MS)
		STUB_VULNERABLE("uid %d blocked SIGALRM and reported every "
				"%d ms: a process on its vCPU woke %lu ms late "
				"from a 1 ms sleep (limit %d ms), the hog %s",
				STUB_NOBODY, HOG_PERIOD_MS, worst_ms,
				LATENCY_LIMIT_MS, hog_dead ? "was killed late" :
				"is still alive");
	if (!hog_dead)
		STUB_FAIL("the victim kept its latency but the hog was not "
			  "killed");
	if (!stub_defended_kill(hstatus))
		STUB_FAIL("the hog ended in an unexpected way: %s",
			  stub_status_str(hstatus, buf, sizeof(buf)));
	TH_LOG("defended: the hog was killed, the victim woke at worst %lu ms "
	       "late", worst_ms);
}

TEST_HARNESS_MAIN
