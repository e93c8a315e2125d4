// SPDX-License-Identifier: GPL-2.0
/*
 * The unpatched monitor believes the futex word in stub_data, so a
 * guest process can fake a trap report while it keeps running, with any
 * si_offset it likes.  An out-of-range offset makes the monitor panic
 * ("Invalid siginfo offset from child").  The hardened monitor must read
 * every field once, bounds-check it and kill the offending process
 * instead, or not read the field at all; either way the kernel and
 * this test survive.  On the unpatched base the kernel panics, so the
 * test needs a boot of its own there.  The second test forges a report the
 * way the hardened protocol allows, from the report instruction itself.
 */
#include "stub_forge.h"

FIXTURE(stub_siginfo) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_siginfo)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_siginfo)
{
	munmap(self->c, STUB_PAGE);
}

#define ATTEMPTS 5
/* No signal has this number */
#define GARBAGE_SIG 0x5a5a5a5a

static long fake_bad_siginfo(struct stub_call *c, void *arg)
{
	struct unpatched_stub_data *d = stub_data();
	unsigned short good;
	int i;

	if (stub.data_pages < 2)
		return -1;
	for (i = 0; i < ATTEMPTS; i++) {
		syscall(SYS_getppid);	/* a fresh, valid frame */
		good = READ_ONCE(d->si_offset);
		WRITE_ONCE(d->si_offset, 0xfff0);	/* far past the 4 KiB signal stack */
		stub_fake_report(SIGALRM);
		stub_spin_ms(1000);	/* the monitor would panic right away */
		WRITE_ONCE(d->si_offset, good);
		c->aux[0] = i + 1;
	}
	return 0;
}

TEST_F_TIMEOUT(stub_siginfo, fake_report_with_bad_si_offset_is_harmless, 60)
{
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	pid = stub_fork_call(c, 1, fake_bad_siginfo, NULL);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 30000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still alive after 30 s (stage %d)", c->stage);
	}
	TH_LOG("child %s, stage %d, fake reports %ld",
	       stub_status_str(status, buf, sizeof(buf)), c->stage, c->aux[0]);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED) {
		if (c->ret == -1)
			TH_LOG("stub_data is not readable as on the base: nothing to fake");
		else
			TH_LOG("defended: %ld fake reports with si_offset 0xfff0 had no effect",
			       c->aux[0]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed after %ld fake report(s)",
	       c->aux[0]);
}

/*
 * The hardened stub reports from one instruction, which its filter hands
 * to the monitor, and a process can jump there itself (stub_forge()).
 * Forge reports with a signal number and frame offsets that are garbage:
 * the monitor must not trust any of them.  The control, a forged report
 * of getppid() with a well-formed frame, must be answered like a real one.
 */
static long forge_garbage(struct stub_call *c, void *arg)
{
	int i;

	if (stub_find_report())
		return -1;
	c->aux[1] = stub_report.syscall;
	syscall(SYS_getppid);		/* a fresh, genuine frame */
	if (stub_forge(0, SIGSYS, SYS_getppid, 0, 0, 0))
		return -2;
	c->aux[2] = 1;
	stub_forged.bad_offsets = 1;
	for (i = 0; i < ATTEMPTS; i++) {
		syscall(SYS_getppid);
		c->aux[0] = i + 1;
		if (stub_forge(0, GARBAGE_SIG, SYS_getppid, 0, 0, 0))
			return -3;
	}
	stub_forged.bad_offsets = 0;
	return 0;
}

/* Log formats, kept on one line so that they can be grepped for */
#define CHILD_STATE_FMT "child %s, stage %d, report syscall %#lx, control answered %ld, forged garbage reports %ld, ret %ld"
#define DEFENDED_RESUMED_MSG "defended: %ld forged reports with a garbage signal number and frame offsets were answered harmlessly"

TEST_F_TIMEOUT(stub_siginfo, forged_report_with_garbage_is_harmless, 60)
{
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	pid = stub_fork_call(c, 1, forge_garbage, NULL);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 30000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still alive after 30 s (stage %d)", c->stage);
	}
	TH_LOG(CHILD_STATE_FMT, stub_status_str(status, buf, sizeof(buf)), c->stage, c->aux[1],
	       c->aux[2], c->aux[0], c->ret);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == -1)
		STUB_FAIL(return,
			  "no report instruction in the stub code page: not the hardened protocol, nothing tested");
	if (c->stage >= STUB_ST_CALLED && c->ret < 0)
		STUB_FAIL(return,
			  "the stub's frame offsets were out of range before any garbage: nothing forged");
	if (!c->aux[2])
		STUB_FAIL(return, "the well-formed forged report was not answered: nothing tested");
	/* Killed for the garbage signal number, or resumed harmlessly */
	if (c->stage >= STUB_ST_CALLED) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly");
		TH_LOG(DEFENDED_RESUMED_MSG, c->aux[0]);
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed for forged report %ld", c->aux[0]);
}

TEST_HARNESS_MAIN
