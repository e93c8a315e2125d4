// SPDX-License-Identifier: GPL-2.0
/*
 * Timer blocking, bounded: how long can a process that blocks the timer
 * delay the other processes of its vCPU?
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

/*
 * Runs with SIGALRM blocked: spin, report once with a real syscall, block
 * SIGALRM again (a kernel may restore the mask on the way back) and start
 * over on a fresh stack.
 */
static void hog_cycle(void)
{
	stub_spin_ms(HOG_PERIOD_MS);
	syscall(SYS_getppid);
	__atomic_add_fetch(&lat_hog_shared->hog_reports, 1, __ATOMIC_SEQ_CST);
	lat_hog_block_timer(hog_cycle);
}

TEST_F_TIMEOUT(stub_watchdog, victim_latency_next_to_reporting_hog, 90)
{
	struct lat_shared *s = self->s;
	unsigned long worst_ms, reports;
	int hstatus = 0, hog_dead;
	pid_t vpid, hpid;
	char buf[64];

	TH_LOG("%d vCPU(s), hog reports every %d ms of spinning",
	       self->ncpus, HOG_PERIOD_MS);
	LAT_START_VICTIM(s, self->ncpus, vpid);

	hpid = fork();
	ASSERT_GE(hpid, 0);
	if (hpid == 0)
		lat_hog(s, self->ncpus, hog_cycle);

	hog_dead = lat_watch(hpid, WATCH_MS, &hstatus);
	worst_ms = __atomic_load_n(&s->victim_worst_us, __ATOMIC_SEQ_CST) /
		   1000;
	reports = __atomic_load_n(&s->hog_reports, __ATOMIC_SEQ_CST);
	ASSERT_TRUE(lat_stop(hpid, hog_dead, &hstatus, vpid));

	TH_LOG("hog %s after %lu report(s); the victim woke %lu times, at worst %lu ms late",
	       hog_dead ? "killed" : "alive", reports, s->victim_wakeups, worst_ms);
	if (!s->hog_ready)
		STUB_FAIL(return, "the hog never blocked SIGALRM: %s", s->err);
	if (worst_ms > LATENCY_LIMIT_MS)
		STUB_VULNERABLE(return,
				"uid %d blocked SIGALRM and reported every %d ms: a process on its vCPU woke %lu ms late from a 1 ms sleep (limit %d ms), the hog %s",
				STUB_NOBODY, HOG_PERIOD_MS, worst_ms,
				LATENCY_LIMIT_MS, hog_dead ? "was killed late" :
				"is still alive");
	if (!hog_dead)
		STUB_FAIL(return, "the victim kept its latency but the hog was not killed");
	if (!stub_defended_kill(hstatus))
		STUB_FAIL(return, "the hog ended in an unexpected way: %s",
			  stub_status_str(hstatus, buf, sizeof(buf)));
	TH_LOG("defended: the hog was killed, the victim woke at worst %lu ms late", worst_ms);
}

TEST_HARNESS_MAIN
