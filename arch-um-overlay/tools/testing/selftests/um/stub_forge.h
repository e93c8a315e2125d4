/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forging a report through the report instruction of the hardened stub.
 *
 * The stub of the hardened series reports with sched_yield from one
 * instruction, which its filter turns into a seccomp notification, and
 * passes the report_seq the monitor wrote into the read-only first page
 * of stub_data:
 *
 *	lea 0(%rip), %rdi; and $-4096, %rdi; mov 4096+report_seq(%rdi), %rdi
 *	mov $__NR_sched_yield, %eax; syscall
 *
 * When the monitor answers, the stub rt_sigreturns from the frame on the
 * second stub_data page, which the guest can write.  A forged report is a
 * jump to that syscall with a frame of the attacker's making; a forged
 * answer is a jump right after it, with the answer in %rax.
 */
#ifndef STUB_FORGE_H
#define STUB_FORGE_H

#include "stub_util.h"

struct stub_report_path {
	unsigned long syscall;	/* the report's syscall instruction */
	unsigned long *seq;	/* report_seq in stub_data */
};

static struct stub_report_path stub_report __maybe_unused;

/* The monitor's answer that resumes the stub (STUB_CMD_RESUME) */
#define STUB_FORGE_RESUME	0x5ec1

/* The forged report stub_forge() makes, and where it comes back to */
static struct {
	sigjmp_buf back;
	ucontext_t uc;
	int repeat;
	int answer;		/* jump past the report with this in %rax */
	int bad_offsets;	/* also write out-of-range frame offsets */
	int sig;
	long nr, a1, a2, a3;
	unsigned char stack[16384] __aligned(16);
} stub_forged __maybe_unused;

/* The second page of struct stub_data as the hardened series lays it out */
struct hardened_stub_frames {
	int signal;
	unsigned short si_offset;
	unsigned short mctx_offset;
	unsigned char sigstack[STUB_PAGE - 8];
};

static_assert(sizeof(struct hardened_stub_frames) == STUB_PAGE, "frames");

static inline struct hardened_stub_frames *stub_frames(void)
{
	return (struct hardened_stub_frames *)(stub.data + STUB_PAGE);
}

/*
 * Find the report sequence above in the code page.  Returns 0 and fills
 * in stub_report if the stub has it, -1 if not: the unpatched stub
 * reports through a futex word and has no such instruction.
 */
static inline int stub_find_report(void)
{
	static const unsigned char insn[] = {
		0x48, 0x8d, 0x3d, 0, 0, 0, 0,		  /* lea 0(%rip),%rdi */
		0x48, 0x81, 0xe7, 0x00, 0xf0, 0xff, 0xff, /* and $-4096,%rdi */
		0x48, 0x8b, 0xbf, 0, 0, 0, 0,		  /* mov d32(%rdi),%rdi */
		0xb8, SYS_sched_yield, 0, 0, 0,		  /* mov $nr,%eax */
		0x0f, 0x05,				  /* syscall */
	};
	const unsigned int disp_at = 17, disp_end = 21;
	const unsigned char *code = (const unsigned char *)stub.code;
	unsigned long i;
	int32_t disp;

	memset(&stub_report, 0, sizeof(stub_report));
	if (!stub.code || stub.data_pages < 2)
		return -1;
	for (i = 0; i + sizeof(insn) <= STUB_PAGE; i++) {
		if (memcmp(code + i, insn, disp_at) ||
		    memcmp(code + i + disp_end, insn + disp_end,
			   sizeof(insn) - disp_end))
			continue;
		memcpy(&disp, code + i + disp_at, sizeof(disp));
		/* report_seq lies in the first stub_data page */
		if (disp < (int32_t)STUB_PAGE ||
		    disp > (int32_t)(2 * STUB_PAGE - sizeof(long)))
			continue;
		stub_report.syscall = stub.code + i + sizeof(insn) - 2;
		stub_report.seq = (unsigned long *)(stub.code + disp);
		stub_prefault(&stub_forged, sizeof(stub_forged));
		return 0;
	}
	return -1;
}

/* Where a forged report resumes: back into stub_forge() */
static __maybe_unused void stub_forge_back(void)
{
	siglongjmp(stub_forged.back, 1);
}

/*
 * Make the report stub_forged describes, with every host signal blocked:
 * write a frame for its signal into the second stub_data page and jump to
 * the report syscall, passing the current report_seq less its repeat.
 * For SIGSYS the guest kernel takes the syscall nr(a1, a2, a3) from the
 * frame, as from a real trap.  When the monitor answers, the stub resumes
 * stub_forge_back() on stub_forged.stack with no host signal blocked.
 * The frame of the last real trap is rewritten, so that the FP state and
 * everything else the monitor checks stay genuine.  report_seq is read
 * last: a page fault on the way here is a real report, after which the
 * monitor expects the next number.  With stub_forged.answer set, jump
 * past the syscall instead, as if the monitor had answered that.  If the
 * frame offsets in the page are out of range, go back to stub_forge()
 * without reporting.
 */
static __maybe_unused void stub_forge_report(void)
{
	struct hardened_stub_frames *f = stub_frames();
	unsigned int si = READ_ONCE(f->si_offset);
	unsigned int mc = READ_ONCE(f->mctx_offset);
	const size_t uc_mctx = offsetof(ucontext_t, uc_mcontext);
	unsigned long stack_end = (unsigned long)stub_forged.stack +
				  sizeof(stub_forged.stack);
	mcontext_t *mctx;
	siginfo_t *info;
	ucontext_t *uc;

	if (si > sizeof(f->sigstack) - sizeof(*info) || mc < uc_mctx ||
	    mc > sizeof(f->sigstack) - sizeof(*mctx) -
		 sizeof(uc->uc_sigmask))
		siglongjmp(stub_forged.back, 2);
	info = (siginfo_t *)&f->sigstack[si];
	mctx = (mcontext_t *)&f->sigstack[mc];
	uc = (ucontext_t *)&f->sigstack[mc - uc_mctx];
	info->si_signo = stub_forged.sig;
	info->si_syscall = stub_forged.nr;
	mctx->gregs[REG_RAX] = stub_forged.nr;
	mctx->gregs[REG_RDI] = stub_forged.a1;
	mctx->gregs[REG_RSI] = stub_forged.a2;
	mctx->gregs[REG_RDX] = stub_forged.a3;
	mctx->gregs[REG_RIP] = (unsigned long)stub_forge_back;
	/* as right after a call */
	mctx->gregs[REG_RSP] = (stack_end & ~15UL) - 8;
	/* the host's sigset_t, as the stub's frame has it */
	memset(&uc->uc_sigmask, 0, sizeof(long));
	if (stub_forged.bad_offsets) {
		WRITE_ONCE(f->si_offset, 0xfff0);
		WRITE_ONCE(f->mctx_offset, 0xfff0);
	}
	WRITE_ONCE(f->signal, stub_forged.sig);
	if (stub_forged.answer)
		__asm__ volatile("jmp *%[ip]"
				 : : [ip] "r"(stub_report.syscall + 2),
				     "a"((long)stub_forged.answer)
				 : "memory");
	__asm__ volatile("jmp *%[ip]"
			 : : [ip] "r"(stub_report.syscall),
			     "a"((long)SYS_sched_yield),
			     "D"(READ_ONCE(*stub_report.seq) -
				 stub_forged.repeat)
			 : "memory");
	__builtin_unreachable();
}

/*
 * Make a forged report of @sig (for SIGSYS, of syscall @nr(@a1, @a2,
 * @a3)) through the hardened report path, found by stub_find_report().
 * @repeat is subtracted from the current report_seq: 0 makes a new
 * report, 1 repeats the report the monitor answered last.  The stub's
 * signal handlers report with every host signal blocked, and so does
 * this, through a crafted rt_sigreturn: a signal would interrupt the
 * parked report, and the stub then exits.  Call it right after a real
 * syscall or another forged report, whose frame it rewrites.  Returns 0
 * once the monitor has answered and the stub has resumed us, -1 if the
 * stub has no such path or its frame offsets are out of range (host
 * signals then stay blocked until the next real syscall).
 */
static noinline __maybe_unused int stub_forge(int repeat, int sig, long nr,
					      long a1, long a2, long a3)
{
	sigset_t all;

	if (!stub_report.syscall)
		return -1;
	switch (sigsetjmp(stub_forged.back, 0)) {
	case 1:
		return 0;
	case 2:
		return -1;
	}
	stub_forged.repeat = repeat;
	stub_forged.sig = sig;
	stub_forged.nr = nr;
	stub_forged.a1 = a1;
	stub_forged.a2 = a2;
	stub_forged.a3 = a3;
	sigfillset(&all);
	stub_build_frame(&stub_forged.uc, stub_forge_report, stub_forged.stack,
			 sizeof(stub_forged.stack), &all);
	stub_rt_sigreturn(&stub_forged.uc);
}

#endif /* STUB_FORGE_H */
