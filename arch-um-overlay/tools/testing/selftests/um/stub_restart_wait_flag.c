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
 *
 * The hardened protocol has no such flag.  What it has instead is the
 * repeated report: a host stop, freeze or ptrace attach can make the stub
 * issue its last report again, and the monitor tells a repeat from a new
 * report by the report_seq it passes.  The second test repeats reports
 * itself through the report syscall, each with a frame that asks for a
 * write().  The monitor must answer a repeat without running anything.
 * The third skips the report and jumps to where the stub takes the
 * monitor's answer, with "resume" in hand: the stub may resume, from a
 * frame the process wrote, but nothing may run.
 */
#include "stub_forge.h"

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

/*
 * Run @fn in a child that drops to uid 65534, with the write end of a pipe
 * as its argument, and read what it wrote.  Returns the number of bytes
 * read, or -1 (the test failed) if the child is still alive after 20 s.
 */
static ssize_t flag_run(struct __test_metadata *_metadata,
			struct stub_call *c,
			long (*fn)(struct stub_call *, void *),
			char *bytes, size_t size, int *status)
{
	ssize_t n;
	pid_t pid;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	pid = stub_fork_call(c, 1, fn, &p[1]);
	ASSERT_GE(pid, 0);
	close(p[1]);
	if (!stub_wait_child(pid, 20000, status)) {
		stub_kill_wait(pid, 5000, status);
		STUB_FAIL(return -1, "child still alive after 20 s (stage %d)",
			  c->stage);
	}
	n = read(p[0], bytes, size);
	close(p[0]);
	return n > 0 ? n : 0;
}

/* Log formats, kept on one line so that they can be grepped for */
#define CHILD_STATE_FMT "child %s, stage %d, %ld write(s) done, %zd byte(s) in the pipe, getppid %ld, flag afterwards %ld"

TEST_F_TIMEOUT(stub_flag, restart_wait_set_by_guest_is_harmless, 60)
{
	struct stub_call *c = self->c;
	char buf[64], bytes[4 * ROUNDS];
	int status;
	ssize_t n;

	n = flag_run(_metadata, c, set_flag_and_syscall, bytes, sizeof(bytes),
		     &status);
	if (n < 0)
		return;
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

/*
 * Each round: a write() of its own, a forged new report of a write() (the
 * control: it must run, exactly once, as any syscall of the process), and
 * a forged repeat of that report asking for a third write(), which must
 * not run.
 */
static long repeat_reports(struct stub_call *c, void *arg)
{
	int fd = *(int *)arg, i;

	if (stub_find_report())
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		if (write(fd, "w", 1) != 1)
			return -1000 - i;
		if (stub_forge(0, SIGSYS, SYS_write, fd, (long)"n", 1))
			return -2000 - i;
		c->aux[0] = i + 1;
		if (stub_forge(1, SIGSYS, SYS_write, fd, (long)"r", 1))
			return -3000 - i;
		c->aux[1] = i + 1;
	}
	return syscall(SYS_getppid);
}

/* Each round: a write() of its own, then a resume nobody answered */
static long jump_to_answer(struct stub_call *c, void *arg)
{
	int fd = *(int *)arg, i, ret;

	if (stub_find_report())
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		if (write(fd, "w", 1) != 1)
			return -1000 - i;
		stub_forged.answer = STUB_FORGE_RESUME;
		ret = stub_forge(0, SIGSYS, SYS_write, fd, (long)"a", 1);
		stub_forged.answer = 0;
		if (ret)
			return -2000 - i;
		c->aux[1] = i + 1;
	}
	return syscall(SYS_getppid);
}

#define FORGED_STATE_FMT "child %s, stage %d, %ld new forged report(s), %ld %s(s) done, pipe \"%.*s\""

/*
 * Judge the child of the two tests below: the pipe must hold @want,
 * where @bad, the byte the frame of each @what asked to write, never
 * shows; or the child was killed for a @what.
 */
static void flag_judge(struct __test_metadata *_metadata,
		       const struct stub_call *c, int status,
		       const char *bytes, ssize_t n, const char *want,
		       char bad, const char *what)
{
	char buf[64];

	TH_LOG(FORGED_STATE_FMT, stub_status_str(status, buf, sizeof(buf)),
	       c->stage, c->aux[0], c->aux[1], what, (int)n, bytes);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == -1)
		SKIP(return,
		     "no hardened report path in the stub: the unpatched protocol, attacked by restart_wait_set_by_guest_is_harmless");
	if (memchr(bytes, bad, n))
		STUB_FAIL(return, "the kernel ran the write() of a %s", what);
	if (c->stage < STUB_ST_CALLED) {
		if (!stub_defended_kill(status))
			STUB_FAIL(return, "child died in an unexpected way");
		TH_LOG("defended: the process was killed for a %s", what);
		return;
	}
	if (c->ret != getpid() || n != (ssize_t)strlen(want) ||
	    memcmp(bytes, want, n))
		STUB_FAIL(return,
			  "syscalls misbehaved: ret %ld (getppid wants %d), pipe \"%.*s\" (want \"%s\")",
			  c->ret, getpid(), (int)n, bytes, want);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		STUB_FAIL(return, "child did not exit cleanly");
	TH_LOG("defended: %d %ss ran nothing", ROUNDS, what);
}

TEST_F_TIMEOUT(stub_flag, repeated_report_runs_nothing, 60)
{
	char bytes[4 * ROUNDS], want[2 * ROUNDS + 1] = "";
	int status, i;
	ssize_t n;

	n = flag_run(_metadata, self->c, repeat_reports, bytes, sizeof(bytes),
		     &status);
	if (n < 0)
		return;
	for (i = 0; i < ROUNDS; i++)
		strcat(want, "wn");
	/* the control: a forged report like any syscall, before any repeat */
	if (self->c->stage >= STUB_ST_CALLING && self->c->ret != -1 &&
	    !self->c->aux[0] && !memchr(bytes, 'r', n))
		STUB_FAIL(return,
			  "the first forged report was not answered (ret %ld): nothing tested",
			  self->c->ret);
	flag_judge(_metadata, self->c, status, bytes, n, want, 'r',
		   "repeated report");
}

TEST_F_TIMEOUT(stub_flag, forged_answer_runs_nothing, 60)
{
	char bytes[4 * ROUNDS], want[ROUNDS + 1] = "";
	int status, i;
	ssize_t n;

	n = flag_run(_metadata, self->c, jump_to_answer, bytes, sizeof(bytes),
		     &status);
	if (n < 0)
		return;
	for (i = 0; i < ROUNDS; i++)
		strcat(want, "w");
	flag_judge(_metadata, self->c, status, bytes, n, want, 'a',
		   "forged answer");
}

TEST_HARNESS_MAIN
