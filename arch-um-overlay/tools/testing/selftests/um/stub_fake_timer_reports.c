// SPDX-License-Identifier: GPL-2.0
/*
 * Hide from the scheduler behind fake timer reports.
 *
 * Like stub_sigreturn_blocks_timer, the hog blocks SIGALRM with a
 * crafted rt_sigreturn and spins, but every 20 ms it fakes the report
 * the stub would make for SIGALRM (futex word set to "in kernel",
 * FUTEX_WAKE through the gadget).  The
 * unpatched monitor takes each one for a timer interrupt, the guest keeps
 * scheduling, and any watchdog that counts reports is satisfied, while
 * the hog never stops running on the host.  The guest cannot even stop
 * it: after SIGSTOP the guest shows the hog stopped ('T') but it goes on
 * spinning.
 *
 * The hardened kernel must not let a process run on the host while the
 * guest believes it stopped, and must kill a process that stops reporting
 * genuinely within a bounded time: after SIGSTOP the hog either dies
 * or really stops.  Where the stub has the hardened report path, the hog
 * makes its SIGALRM reports through it, with frames of its own, and
 * blocks SIGALRM again after each.
 */
#include "stub_forge.h"

#define FAKE_EVERY_MS	20
#define WINDOW_S	20	/* the kernel's 10 s default plus slack */

struct fake_timer_shared {
	unsigned long hog_count;
	unsigned long fakes;
	unsigned long answered;	/* forged reports the monitor answered */
	int hardened;		/* forged through the hardened report path */
	int hog_ready;
	char err[128];
};

FIXTURE(stub_fake_timer) {
	struct fake_timer_shared *s;
};

FIXTURE_SETUP(stub_fake_timer)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(stub_fake_timer)
{
	munmap(self->s, sizeof(*self->s));
}

static struct fake_timer_shared *hog_shared;
static ucontext_t hog_frame;
static unsigned char hog_stack[65536] __aligned(16);

static void hog_spin(void);

/* A forged SIGALRM report, then SIGALRM blocked again */
static void hog_forge(struct fake_timer_shared *s)
{
	if (stub_forge(0, SIGALRM, 0, 0, 0, 0))
		return;
	WRITE_ONCE(s->answered, READ_ONCE(s->answered) + 1);
	stub_run_with_timer_blocked(&hog_frame, hog_spin, hog_stack,
				    sizeof(hog_stack), &s->hog_ready);
}

/* SIGALRM blocked; no trap ever, only fake SIGALRM reports. */
static void hog_spin(void)
{
	struct fake_timer_shared *s = hog_shared;
	unsigned long next = stub_tsc_deadline(FAKE_EVERY_MS);

	for (;;) {
		WRITE_ONCE(s->hog_count, READ_ONCE(s->hog_count) + 1);
		if (stub_tsc_passed(next)) {
			WRITE_ONCE(s->fakes, READ_ONCE(s->fakes) + 1);
			if (s->hardened)
				hog_forge(s);
			else
				stub_fake_report(SIGALRM);
			next = stub_tsc_deadline(FAKE_EVERY_MS);
		}
	}
}

static void hog(struct fake_timer_shared *s)
{
	stub_prefault(s, sizeof(*s));
	if (stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "setuid failed");
		_exit(1);
	}
	if (stub.data_pages < 2) {
		snprintf(s->err, sizeof(s->err), "no stub_data to fake with");
		_exit(2);
	}
	hog_shared = s;
	s->hardened = !stub_find_report();
	stub_run_with_timer_blocked(&hog_frame, hog_spin, hog_stack,
				    sizeof(hog_stack), &s->hog_ready);
}

TEST_F_TIMEOUT(stub_fake_timer, hog_faking_timer_reports_is_stopped, 90)
{
	struct fake_timer_shared *s = self->s;
	unsigned long end, c0, c1, f0, f1;
	char buf[64], st = 0;
	int status, dead = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		hog(s);

	end = stub_now_ms() + 10000;
	while (!s->hog_count && stub_now_ms() < end && !dead) {
		dead = waitpid(pid, &status, WNOHANG) == pid;
		stub_sleep_ms(10);
	}
	if (!s->hog_count) {
		if (!dead && !stub_kill_wait(pid, 5000, &status))
			STUB_FAIL(return, "the hog never started and cannot be killed");
		TH_LOG("hog %s before spinning (ready %d)",
		       stub_status_str(status, buf, sizeof(buf)), s->hog_ready);
		if (!s->hog_ready || !stub_defended_kill(status))
			STUB_FAIL(return, "hog failed to set up: %s", s->err);
		TH_LOG("defended: the crafted rt_sigreturn was refused");
		return;
	}

	/* let it run a little, then stop it the way the guest can */
	stub_sleep_ms(1000);
	if (s->hardened && !READ_ONCE(s->answered)) {
		dead = waitpid(pid, &status, WNOHANG) == pid;
		if (!dead) {
			stub_kill_wait(pid, 5000, &status);
			STUB_FAIL(return,
				  "no forged report was answered in 1 s (%lu made): nothing tested",
				  s->fakes);
		}
	}
	kill(pid, SIGSTOP);
	end = stub_now_ms() + WINDOW_S * 1000UL;
	while (stub_now_ms() < end) {
		if (dead || waitpid(pid, &status, WNOHANG) == pid) {
			TH_LOG("hog %s (%lu fake reports, %lu forged ones answered)",
			       stub_status_str(status, buf, sizeof(buf)),
			       s->fakes, s->answered);
			if (!stub_defended_kill(status))
				STUB_FAIL(return, "hog died in an unexpected way");
			TH_LOG("defended: the hog was killed");
			return;
		}
		st = stub_proc_state(pid);
		if (st == 'T' || st == 't')
			break;
		stub_sleep_ms(20);
	}
	c0 = s->hog_count;
	f0 = s->fakes;
	stub_sleep_ms(1000);
	c1 = s->hog_count;
	f1 = s->fakes;
	TH_LOG("guest state of the hog '%c'; in 1 s: +%lu iterations, +%lu fake reports",
	       st ? st : '?', c1 - c0, f1 - f0);
	if (s->hardened)
		TH_LOG("forged through the hardened report path: %lu of %lu answered",
		       s->answered, s->fakes);

	kill(pid, SIGKILL);
	kill(pid, SIGCONT);
	if (!stub_wait_child(pid, 10000, &status))
		TH_LOG("the hog cannot even be killed");
	if ((st == 'T' || st == 't') && c1 != c0)
		STUB_VULNERABLE(return,
				"uid %d hid behind fake SIGALRM reports: the guest shows it stopped ('%c') while it ran %lu more iterations and sent %lu more fake reports in 1 s",
				STUB_NOBODY, st, c1 - c0, f1 - f0);
	if (st != 'T' && st != 't')
		STUB_VULNERABLE(return,
				"uid %d hid behind fake SIGALRM reports: %d s after SIGSTOP it is neither stopped nor killed (state '%c', +%lu iterations in 1 s)",
				STUB_NOBODY, WINDOW_S, st ? st : '?', c1 - c0);
	TH_LOG("defended: the stopped hog does not run");
}

TEST_HARNESS_MAIN
