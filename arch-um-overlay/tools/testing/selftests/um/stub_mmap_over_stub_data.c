// SPDX-License-Identifier: GPL-2.0
/*
 * An unprivileged guest process maps fresh anonymous memory over its
 * stub data pages through the gadget.  On the unpatched base the host
 * replaces them: the stub's next report goes to a futex word the monitor
 * does not wait on, and the vCPU serving the process waits for ever.  A
 * one-vCPU guest freezes (the boot times out); with more vCPUs the test
 * sees the process wedged.  The hardened kernel must refuse the mmap or
 * kill the process.
 */
#include "stub_util.h"

FIXTURE(stub_replace) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_replace)
{
	ASSERT_STUB_FOUND();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_replace)
{
	munmap(self->c, STUB_PAGE);
}

static long call_mmap_over_data(struct stub_call *c, void *arg)
{
	return stub_syscall6(SYS_mmap, stub.data, 2 * STUB_PAGE,
			     PROT_READ | PROT_WRITE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Log formats, kept on one line so that they can be grepped for */
#define VULNERABLE_STUCK_FMT "VULNERABLE: hijacked mmap over the stub data (%#lx) from uid %d returned %#lx and the process has been stuck in the kernel for 15 s"

TEST_F_TIMEOUT(stub_replace, anon_mmap_over_stub_data_is_denied, 60)
{
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	pid = stub_fork_call(c, 1, call_mmap_over_data, NULL);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 15000, &status)) {
		if (c->stage >= STUB_ST_CALLED && c->ret == (long)stub.data)
			TH_LOG(VULNERABLE_STUCK_FMT, stub.data, STUB_NOBODY, c->ret);
		else
			TH_LOG("child stuck for 15 s at stage %d (ret %#lx)",
			       c->stage, c->ret);
		if (!stub_kill_wait(pid, 5000, &status))
			TH_LOG("the stuck process cannot even be killed");
		STUB_FAIL(return, "vCPU wedged by the hijacked mmap");
	}
	TH_LOG("child %s, stage %d, ret %#lx",
	       stub_status_str(status, buf, sizeof(buf)), c->stage, c->ret);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED) {
		if (c->ret == (long)stub.data)
			STUB_VULNERABLE(return,
					"hijacked mmap over the stub data from uid %d returned %#lx (the child then %s)",
					STUB_NOBODY, c->ret, buf);
		if (!stub_is_errno(c->ret))
			STUB_FAIL(return, "mmap returned unexpected %#lx", c->ret);
		TH_LOG("defended: mmap returned %ld (%s)", c->ret,
		       strerror(-c->ret));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly after the refused mmap");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died during the mmap in an unexpected way");
	TH_LOG("defended: the process was killed on the hijacked mmap");
}

TEST_HARNESS_MAIN
