// SPDX-License-Identifier: GPL-2.0
/*
 * An unprivileged guest process unmaps its own stub through the
 * gadget.  On the unpatched base the host munmap succeeds; the next trap
 * finds no signal stack (data pages) or no handler (code page), the host
 * kills the stub process and the kernel logs "Unexpectedly lost MM
 * child!".  The hardened kernel must keep the stub's pages: the
 * munmap fails, or the process is killed before anything is unmapped.
 *
 * What the tests can see:
 *  - data pages: munmap returns to the caller either way (the gadget's
 *    "ret" is in the code page), so a return value of 0 is the attack;
 *  - code page: the gadget's "ret" is in the page being unmapped, so
 *    after a successful munmap the process cannot return and dies; the
 *    only trace is the kernel's "Unexpectedly lost MM child" line.  A
 *    hardened kernel that kills the process on purpose must say why in
 *    its own words, so that line during the attack counts as the attack.
 */
#include "stub_util.h"

FIXTURE(stub_munmap) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_munmap)
{
	ASSERT_STUB_FOUND();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_munmap)
{
	munmap(self->c, STUB_PAGE);
}

static long call_munmap_data(struct stub_call *c, void *arg)
{
	return stub_syscall2(SYS_munmap, stub.data, 2 * STUB_PAGE);
}

static long call_munmap_code(struct stub_call *c, void *arg)
{
	return stub_syscall2(SYS_munmap, stub.code, STUB_PAGE);
}

static void judge_munmap(struct __test_metadata *_metadata,
			 struct stub_call *c, pid_t pid, int lost_before,
			 const char *what)
{
	char buf[64];
	int status, lost;

	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still alive 20 s after munmap of %s (stage %d)",
			  what, c->stage);
	}
	/* the SIGCHLD of the host process may be handled a little later */
	stub_sleep_ms(200);
	lost = stub_klog_count(STUB_LOST_MSG) - lost_before;
	TH_LOG("child %s, stage %d, new \"%s\" lines: %d",
	       stub_status_str(status, buf, sizeof(buf)), c->stage,
	       STUB_LOST_MSG, lost);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == 0)
		STUB_VULNERABLE(return, "hijacked munmap of %s from uid %d returned 0; "
				"the child then %s (\"%s\" logged %d time(s))",
				what, STUB_NOBODY, buf, STUB_LOST_MSG, lost);
	if (c->stage < STUB_ST_CALLED && lost > 0)
		STUB_VULNERABLE(return,
				"hijacked munmap of %s from uid %d never returned: the child %s and the kernel lost its stub (\"%s\")",
				what, STUB_NOBODY, buf,
				STUB_LOST_MSG);
	if (c->stage >= STUB_ST_CALLED) {
		if (!stub_is_errno(c->ret))
			STUB_FAIL(return, "munmap returned unexpected %ld", c->ret);
		TH_LOG("defended: munmap returned %ld (%s)", c->ret,
		       strerror(-c->ret));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly after the refused munmap");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died during munmap in an unexpected way");
	TH_LOG("defended: the process was killed on the hijacked munmap");
}

TEST_F(stub_munmap, munmap_of_stub_data_is_denied)
{
	int lost = stub_klog_count(STUB_LOST_MSG);
	pid_t pid;

	ASSERT_GE(lost, 0) TH_LOG("cannot read the kernel log");
	pid = stub_fork_call(self->c, 1, call_munmap_data, NULL);
	ASSERT_GE(pid, 0);
	judge_munmap(_metadata, self->c, pid, lost, "the stub data pages");
}

TEST_F(stub_munmap, munmap_of_stub_code_is_denied)
{
	int lost = stub_klog_count(STUB_LOST_MSG);
	pid_t pid;

	ASSERT_GE(lost, 0) TH_LOG("cannot read the kernel log");
	pid = stub_fork_call(self->c, 1, call_munmap_code, NULL);
	ASSERT_GE(pid, 0);
	judge_munmap(_metadata, self->c, pid, lost, "the stub code page");
}

TEST_HARNESS_MAIN
