// SPDX-License-Identifier: GPL-2.0
/*
 * restart_wait in stub_data is a flag the monitor sets for its own
 * stub-only syscall batches and expects to find cleared.  The unpatched
 * monitor panics ("Programming error: Flag to only run syscalls in child
 * was not cleared!") when an unprivileged guest process sets it and makes
 * any syscall.  The hardened monitor must not trust anything in stub_data:
 * setting the flag is either ignored or kills the process, and the
 * kernel stays up.  On the unpatched base this test never reports: the
 * kernel panics, so the test needs a boot of its own there.
 */
#include "stub_util.h"

FIXTURE(stub_flag) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_flag)
{
	ASSERT_STUB_FOUND();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_flag)
{
	munmap(self->c, STUB_PAGE);
}

#define ROUNDS 10

/*
 * Set the flag before each of ROUNDS one-byte writes to a pipe: every
 * write must happen exactly once (a stub that obeyed the flag would make
 * the kernel run the syscall again).
 */
static long set_flag_and_syscall(struct stub_call *c, void *arg)
{
	struct unpatched_stub_data *d = stub_data();
	int fd = *(int *)arg, i;

	for (i = 0; i < ROUNDS; i++) {
		WRITE_ONCE(d->restart_wait, 1);
		if (write(fd, "x", 1) != 1)
			return -1000 - i;
		c->aux[0] = i + 1;
	}
	c->aux[1] = READ_ONCE(d->restart_wait);
	WRITE_ONCE(d->restart_wait, 0);
	return syscall(SYS_getppid);
}

/* Log formats, kept on one line so that they can be grepped for */
#define CHILD_STATE_FMT "child %s, stage %d, %ld write(s) done, %zd byte(s) in the pipe, getppid %ld, flag afterwards %ld"

TEST_F_TIMEOUT(stub_flag, restart_wait_set_by_guest_is_harmless, 60)
{
	struct stub_call *c = self->c;
	char buf[64], bytes[4 * ROUNDS];
	int status, p[2];
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = stub_fork_call(c, 1, set_flag_and_syscall, &p[1]);
	ASSERT_GE(pid, 0);
	close(p[1]);
	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return,
			  "child still alive 20 s after setting restart_wait (stage %d)",
			  c->stage);
	}
	n = read(p[0], bytes, sizeof(bytes));
	close(p[0]);
	TH_LOG(CHILD_STATE_FMT, stub_status_str(status, buf, sizeof(buf)), c->stage, c->aux[0], n,
	       c->ret, c->aux[1]);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (n > c->aux[0])
		STUB_FAIL(return,
			  "restart_wait made the kernel run a write() twice: %zd bytes for %ld writes",
			  n, c->aux[0]);
	if (c->stage >= STUB_ST_CALLED) {
		/* the kernel survived; the syscalls must have worked */
		if (c->ret != getpid() || n != ROUNDS)
			STUB_FAIL(return,
				  "syscalls misbehaved: getppid %ld (want %d), %zd bytes written (want %d)",
				  c->ret,
				  getpid(), n, ROUNDS);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly");
		TH_LOG("defended: restart_wait set by the guest had no effect");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed");
}

TEST_HARNESS_MAIN
