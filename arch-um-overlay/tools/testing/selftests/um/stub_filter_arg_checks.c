// SPDX-License-Identifier: GPL-2.0
/*
 * The unpatched seccomp filter of the stub allows futex, recvmsg,
 * close, mmap, munmap, arch_prctl and rt_sigreturn from the code page
 * with any arguments.  A guest process can use the gadget to close the
 * stub's socket (self-DoS), to reach arch_prctl sub-operations the stub
 * never needs, and to run futex operations on words other than the
 * stub's own.  The hardened filter must check the arguments: each call
 * below has to fail (an error returned to the caller) or get the process
 * killed.
 */
#include "stub_util.h"

FIXTURE(stub_filter) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_filter)
{
	ASSERT_STUB_FOUND();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_filter)
{
	munmap(self->c, STUB_PAGE);
}

/*
 * Parent side: the call must have returned an error or the child must
 * have been killed during it; a non-negative return is the attack.
 */
static void judge_call(struct __test_metadata *_metadata, struct stub_call *c,
		       pid_t pid, const char *call)
{
	char buf[64];
	int status;

	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still alive 20 s after %s (stage %d)", call,
			  c->stage);
	}
	TH_LOG("child %s, stage %d", stub_status_str(status, buf, sizeof(buf)),
	       c->stage);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED) {
		if (!stub_is_errno(c->ret))
			STUB_VULNERABLE(return, "hijacked %s from uid %d returned %ld",
					call, STUB_NOBODY, c->ret);
		TH_LOG("defended: %s returned %ld (%s)", call, c->ret,
		       strerror(-c->ret));
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died during %s in an unexpected way", call);
	TH_LOG("defended: the process was killed on %s", call);
}

static long call_close0(struct stub_call *c, void *arg)
{
	return stub_syscall1(SYS_close, 0);
}

/* Closing fd 0 breaks the stub's fd passing: only the monitor may. */
TEST_F(stub_filter, close_of_stub_socket_is_denied)
{
	pid_t pid = stub_fork_call(self->c, 1, call_close0, NULL);

	ASSERT_GE(pid, 0);
	judge_call(_metadata, self->c, pid, "close(0)");
}

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#endif

static long call_get_cpuid(struct stub_call *c, void *arg)
{
	return stub_syscall2(SYS_arch_prctl, ARCH_GET_CPUID, 0);
}

/* The stub needs ARCH_SET_FS/ARCH_SET_GS, nothing else. */
TEST_F(stub_filter, arch_prctl_get_cpuid_is_denied)
{
	pid_t pid = stub_fork_call(self->c, 1, call_get_cpuid, NULL);

	ASSERT_GE(pid, 0);
	judge_call(_metadata, self->c, pid, "arch_prctl(ARCH_GET_CPUID)");
}

static long call_foreign_futex(struct stub_call *c, void *arg)
{
	/* a word in the process's own memory, not the stub's futex */
	return stub_syscall3(SYS_futex, &c->aux[0], FUTEX_WAKE_PRIVATE, 1);
}

/* The stub only ever waits on and wakes its own futex word. */
TEST_F(stub_filter, futex_on_foreign_word_is_denied)
{
	pid_t pid = stub_fork_call(self->c, 1, call_foreign_futex, NULL);

	ASSERT_GE(pid, 0);
	judge_call(_metadata, self->c, pid,
		   "futex(FUTEX_WAKE_PRIVATE) on a word outside stub_data");
}

TEST_HARNESS_MAIN
