// SPDX-License-Identifier: GPL-2.0
/*
 * Block the timer with a crafted rt_sigreturn and spin.
 *
 * The guest kernel preempts a process in SECCOMP mode by sending SIGALRM
 * to its stub process.  rt_sigreturn is on the stub's allowlist, so a
 * process can call it through the gadget with a frame it built itself,
 * whose signal mask blocks SIGALRM, and then spin without ever trapping.
 * On the unpatched base the vCPU that runs it waits for a report that
 * never comes: a one-vCPU guest freezes (the boot times out); on more
 * vCPUs everything that must run on the hog's vCPU starves for ever.
 *
 * The hardened kernel must kill such a process within a bounded time
 * (seccomp_watchdog=, 100 ms of CPU time by default) and keep everything
 * else running.  stub_watchdog_latency.c measures what the bound
 * means for a process sharing the hog's vCPU.  The test
 * pins the hog and a victim process to CPU 0 (on SMP guests; the test
 * itself runs on CPU 1), waits for the hog to be killed and checks that
 * the victim runs again afterwards.
 */
#include "stub_latency.h"

#define KILL_BOUND_MS	2000	/* the kernel's 100 ms, its polls, slack */
#define GIVE_UP_S	30

struct blocked_timer_shared {
	unsigned long hog_count;
	unsigned long hog_tsc;	/* TSC when the hog started spinning */
	unsigned long victim_count;
	int hog_ready;
	char err[128];
};

FIXTURE(stub_timer) {
	struct blocked_timer_shared *s;
	int ncpus;
};

FIXTURE_SETUP(stub_timer)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	self->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE_TEARDOWN(stub_timer)
{
	munmap(self->s, sizeof(*self->s));
}

static struct blocked_timer_shared *hog_shared;
static ucontext_t hog_frame;
static unsigned char hog_stack[65536] __aligned(16);

/* Runs after the crafted rt_sigreturn: SIGALRM blocked, never traps. */
static void hog_spin(void)
{
	unsigned long *count = &hog_shared->hog_count;

	__atomic_store_n(&hog_shared->hog_tsc, stub_rdtsc(), __ATOMIC_SEQ_CST);
	for (;;)
		WRITE_ONCE(*count, READ_ONCE(*count) + 1);
}

static void hog(struct blocked_timer_shared *s, int ncpus)
{
	stub_prefault(s, sizeof(*s));
	if (lat_pin(0, ncpus) || stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "pin/setuid failed");
		_exit(1);
	}
	hog_shared = s;
	stub_run_with_timer_blocked(&hog_frame, hog_spin, hog_stack,
				    sizeof(hog_stack), &s->hog_ready);
}

static void victim(struct blocked_timer_shared *s, int ncpus)
{
	stub_prefault(s, sizeof(*s));
	if (lat_pin(0, ncpus))
		_exit(1);
	for (;;) {
		__atomic_add_fetch(&s->victim_count, 1, __ATOMIC_SEQ_CST);
		stub_sleep_ms(1);
	}
}

TEST_F_TIMEOUT(stub_timer, timer_blocking_hog_is_killed, 90)
{
	struct blocked_timer_shared *s = self->s;
	unsigned long start, end, killed_after = 0, v0, v1, h0, h1;
	pid_t vpid, hpid;
	int status, dead = 0;
	char buf[64];

	TH_LOG("%d vCPU(s)", self->ncpus);
	ASSERT_EQ(0, lat_pin(1, self->ncpus));
	fflush(NULL);
	vpid = fork();
	ASSERT_GE(vpid, 0);
	if (vpid == 0)
		victim(s, self->ncpus);
	hpid = fork();
	ASSERT_GE(hpid, 0);
	if (hpid == 0)
		hog(s, self->ncpus);

	/* the hog spins; on one unpatched vCPU nothing below ever runs */
	end = stub_now_ms() + 10000;
	while (!s->hog_count && stub_now_ms() < end && !dead) {
		dead = waitpid(hpid, &status, WNOHANG) == hpid;
		stub_sleep_ms(10);
	}
	start = stub_now_ms();
	if (!s->hog_count) {
		kill(vpid, SIGKILL);
		waitpid(vpid, NULL, 0);
		if (!dead) {
			stub_kill_wait(hpid, 5000, &status);
			STUB_FAIL(return, "the hog never started (ready %d): %s",
				  s->hog_ready, s->err);
		}
		TH_LOG("hog %s before spinning",
		       stub_status_str(status, buf, sizeof(buf)));
		if (!s->hog_ready || !stub_defended_kill(status))
			STUB_FAIL(return, "hog failed to set up: %s", s->err);
		TH_LOG("defended: the crafted rt_sigreturn was refused");
		return;
	}

	while (stub_now_ms() - start < GIVE_UP_S * 1000UL) {
		if (dead || waitpid(hpid, &status, WNOHANG) == hpid) {
			dead = 1;
			/*
			 * From the hog's own start: on one vCPU this process
			 * only runs again once the hog is gone.
			 */
			killed_after = (stub_rdtsc() - s->hog_tsc) /
				       stub_tsc_per_ms;
			break;
		}
		stub_sleep_ms(50);
	}
	if (!dead) {
		v0 = s->victim_count;
		h0 = s->hog_count;
		stub_sleep_ms(2000);
		v1 = s->victim_count;
		h1 = s->hog_count;
		kill(hpid, SIGKILL);
		kill(vpid, SIGKILL);
		STUB_VULNERABLE(return,
				"uid %d blocked SIGALRM with a crafted rt_sigreturn: after %d s the hog is alive and still spinning (+%lu in 2 s) while a process on its vCPU made %lu steps in 2 s (%d vCPUs)",
				STUB_NOBODY, GIVE_UP_S, h1 - h0, v1 - v0,
				self->ncpus);
	}
	TH_LOG("hog %s, at most %lu ms after it started spinning",
	       stub_status_str(status, buf, sizeof(buf)), killed_after);
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "the hog ended in an unexpected way");
	v0 = s->victim_count;
	stub_sleep_ms(1000);
	v1 = s->victim_count;
	kill(vpid, SIGKILL);
	ASSERT_TRUE(stub_wait_child(vpid, 5000, &status));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		STUB_FAIL(return, "the victim ended before it was killed: %s",
			  stub_status_str(status, buf, sizeof(buf)));
	if (v1 == v0)
		STUB_FAIL(return, "the victim did not run after the hog was killed");
	if (killed_after > KILL_BOUND_MS)
		STUB_FAIL(return, "the hog was killed only after %lu ms (bound %d ms)",
			  killed_after, KILL_BOUND_MS);
	TH_LOG("defended: hog killed after %lu ms, the victim kept running (+%lu in 1 s)",
	       killed_after, v1 - v0);
}

TEST_HARNESS_MAIN
