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
#include "stub_util.h"

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
 * The hardened stub reports with "mov $__NR_sched_yield, %eax; syscall"
 * from one instruction, which the filter hands to the monitor.  A process
 * can jump there itself with stub_data full of garbage: the monitor must
 * not trust any of it.  The unpatched stub has no such instruction (this
 * test fails there; the boot has panicked in the test above anyway).
 */
static const unsigned char report_insn[] = {
	0xb8, 0x18, 0x00, 0x00, 0x00,	/* mov $24, %eax */
	0x0f, 0x05,			/* syscall */
};

static long forge_at_report_insn(struct stub_call *c, void *arg)
{
	unsigned char *code = (unsigned char *)stub.code;
	static const unsigned long seq_at[2] = { 3984, 3992 };
	unsigned char garbage[128 - 32];
	unsigned long seq;
	unsigned char *tail;
	void *site;
	int i;

	site = memmem(code, STUB_PAGE, report_insn, sizeof(report_insn));
	if (!site || stub.data_pages < 2)
		return -1;
	c->aux[1] = (unsigned long)site;

	/*
	 * Everything after the syscall batch of the first stub_data page:
	 * signal number, frame offsets, the resume stack pointer.  Leave the
	 * last 32 bytes (the FS/GS base the stub restores) alone so that a
	 * surviving process keeps its TLS.  Where the stub maps that page
	 * read-only, the write faults, and the signal number and frame
	 * offsets are at the start of the second page.
	 */
	tail = (unsigned char *)stub.data + STUB_PAGE - 128;
	memset(garbage, 0xa5, sizeof(garbage));
	c->aux[2] = !stub_try_write((unsigned long)tail, garbage,
				    sizeof(garbage));
	/*
	 * The report passes the report_seq the kernel wrote to the first
	 * page; with another value the kernel takes it for a repeat of the
	 * last report and only resumes the process. Pass each candidate: at
	 * 3984 since patch 20, at 3992 before. One of them makes the kernel
	 * take the garbage for a new report.
	 */
	for (i = 0; i < 2; i++) {
		syscall(SYS_getppid);	/* a fresh, genuine frame */
		memset((unsigned char *)stub.data + STUB_PAGE, 0xa5, 8);
		seq = READ_ONCE(*(unsigned long *)(stub.data + seq_at[i]));
		c->aux[0] = i + 1;
		__asm__ volatile("call *%1"
				 : "+D"(seq) : "r"(site)
				 : "rax", "rcx", "rdx", "rsi", "r8", "r9",
				   "r10", "r11", "memory");
		/* resumed from the kernel's frame: back from getppid() */
	}
	return 0;
}

/* Log formats, kept on one line so that they can be grepped for */
#define CHILD_STATE_FMT "child %s, stage %d, report instruction %#lx, forged report %ld, first data page writable %ld"
#define DEFENDED_RESUMED_MSG "defended: the forged report resumed the process from the kernel's own frame"

TEST_F_TIMEOUT(stub_siginfo, forged_report_with_garbage_is_harmless, 60)
{
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	pid = stub_fork_call(c, 1, forge_at_report_insn, NULL);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 30000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still alive after 30 s (stage %d)", c->stage);
	}
	TH_LOG(CHILD_STATE_FMT, stub_status_str(status, buf, sizeof(buf)), c->stage, c->aux[1],
	       c->aux[0], c->aux[2]);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == -1)
		STUB_FAIL(return,
			  "no report instruction in the stub code page: not the hardened protocol, nothing tested");
	if (!c->aux[0])
		STUB_FAIL(return, "the forged report was not made");
	/* Killed for the garbage signal number, or resumed harmlessly */
	if (c->stage >= STUB_ST_CALLED) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			STUB_FAIL(return, "child did not exit cleanly");
		TH_LOG(DEFENDED_RESUMED_MSG);
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed for its forged report");
}

TEST_HARNESS_MAIN
