// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-batch host mmap, against the syscall thread: the hardened stub
 * runs the queued mmap and munmap calls in a second host thread, from
 * code in the stub page that reads each batch from the first page of
 * stub_data.  An
 * unprivileged guest process tries to use both for itself:
 *
 *  - it jumps to that thread's own mmap instruction with registers of its
 *    choosing, to map anonymous host memory its guest page table knows
 *    nothing about.  The host must kill it there: only the syscall
 *    thread may call mmap.  Where the stub has no such instruction (the
 *    unpatched base), the same call goes through the "syscall; ret"
 *    gadget, as in stub_mmap_out_of_batch;
 *  - it writes a call into the batch page, which only the monitor may
 *    write.  The write must fault.
 *
 * After the jump the thread's loop goes on with the attacker's registers:
 * %r15 points at unmapped memory, so the loop's next load faults and the
 * SIGSEGV handler gets back the mmap result in %rax.
 */
#include "stub_util.h"
#include <setjmp.h>

#define GADGET_ADDR	STUB_SCRATCH_ADDR
#define GADGET_BAD_PTR	0x10UL

/* mov $__NR_mmap, %eax; syscall */
static const unsigned char thread_mmap[] = { 0xb8, 0x09, 0, 0, 0, 0x0f, 0x05 };

static sigjmp_buf gadget_jmp;
/* Set by gadget_handler(): READ_ONCE()/WRITE_ONCE() only. */
static long gadget_rax;
static int gadget_sig;

static void gadget_handler(int sig, siginfo_t *info, void *p)
{
	ucontext_t *uc = p;

	WRITE_ONCE(gadget_sig, sig);
	WRITE_ONCE(gadget_rax, uc->uc_mcontext.gregs[REG_RAX]);
	siglongjmp(gadget_jmp, 1);
}

/* The syscall thread's mmap instruction in the stub code page, or 0 */
static unsigned long find_thread_mmap(void)
{
	const unsigned char *p = (const unsigned char *)stub.code;
	unsigned long i;

	for (i = 0; i + sizeof(thread_mmap) <= STUB_PAGE; i++)
		if (!memcmp(p + i, thread_mmap, sizeof(thread_mmap)))
			return stub.code + i;
	return 0;
}

static long jump_to_thread_mmap(unsigned long insn, unsigned long addr)
{
	struct sigaction sa = {
		.sa_sigaction = gadget_handler,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	if (sigsetjmp(gadget_jmp, 1))
		return READ_ONCE(gadget_rax);

	__asm__ volatile("mov %[addr], %%rdi\n\t"
			 "mov %[len], %%rsi\n\t"
			 "mov %[prot], %%rdx\n\t"
			 "mov %[flags], %%r10\n\t"
			 "mov $-1, %%r8\n\t"
			 "xor %%r9d, %%r9d\n\t"
			 "xor %%r12d, %%r12d\n\t"
			 "mov $1000, %%rbx\n\t"
			 "mov %[bad], %%r15\n\t"
			 "sub $128, %%rsp\n\t"
			 "jmp *%[insn]"
			 :: [addr] "r"(addr), [len] "r"(STUB_PAGE),
			    [prot] "r"((long)(PROT_READ | PROT_WRITE)),
			    [flags] "r"((long)(MAP_PRIVATE | MAP_ANONYMOUS |
					       MAP_FIXED)),
			    [bad] "i"(GADGET_BAD_PTR), [insn] "r"(insn)
			 : "rax", "rdi", "rsi", "rdx", "r10", "r8", "r9",
			   "r12", "rbx", "r15", "memory");
	__builtin_unreachable();
}

static long call_thread_mmap(struct stub_call *c, void *arg)
{
	unsigned long insn = (unsigned long)arg;
	long ret;

	if (insn)
		ret = jump_to_thread_mmap(insn, GADGET_ADDR);
	else
		ret = stub_syscall6(SYS_mmap, GADGET_ADDR, STUB_PAGE,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				    -1, 0);
	c->aux[0] = READ_ONCE(gadget_sig);
	if (ret == (long)GADGET_ADDR) {
		/* usable host memory the guest never mapped? */
		WRITE_ONCE(*(long *)GADGET_ADDR, 0x5ec5ec);
		c->aux[1] = READ_ONCE(*(long *)GADGET_ADDR) == 0x5ec5ec;
	}
	return ret;
}

static long call_write_batch(struct stub_call *c, void *arg)
{
	static const long junk = 0x5ec0000;

	/* syscall_data[0].mem.addr in struct stub_data */
	return stub_try_write(stub.data + 16, &junk, sizeof(junk));
}

FIXTURE(stub_thread) {
	struct stub_call *c;
};

FIXTURE_SETUP(stub_thread)
{
	ASSERT_STUB_FOUND();
	self->c = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(stub_thread)
{
	munmap(self->c, STUB_PAGE);
}

TEST_F_TIMEOUT(stub_thread, mmap_through_the_syscall_thread_code_kills, 60)
{
	unsigned long insn = find_thread_mmap();
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	ASSERT_EQ(0, stub_guest_has_vma(GADGET_ADDR));
	if (insn)
		TH_LOG("the syscall thread's mmap is at stub + %#lx",
		       insn - stub.code);
	else
		TH_LOG("no syscall thread mmap in the stub: using the gadget");

	pid = stub_fork_call(c, 1, call_thread_mmap, (void *)insn);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still running 20 s after the jump (stage %d)",
			  c->stage);
	}
	TH_LOG("child %s at stage %d, ret %#lx, signal %ld",
	       stub_status_str(status, buf, sizeof(buf)), c->stage, c->ret,
	       c->aux[0]);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == (long)GADGET_ADDR &&
	    c->aux[1])
		STUB_VULNERABLE(return,
				"mmap(%#lx, MAP_ANONYMOUS) from uid %d through %s returned the address and the page is usable",
				GADGET_ADDR, STUB_NOBODY,
				insn ? "the syscall thread's code" :
				       "the gadget");
	if (c->stage >= STUB_ST_CALLED) {
		if (!stub_is_errno(c->ret))
			STUB_FAIL(return, "the hijacked mmap returned %#lx", c->ret);
		TH_LOG("defended: the hijacked mmap returned %ld", c->ret);
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed on the hijacked mmap");
}

TEST_F_TIMEOUT(stub_thread, batch_page_is_read_only, 60)
{
	struct stub_call *c = self->c;
	char buf[64];
	int status;
	pid_t pid;

	ASSERT_GE(stub.data_pages, 1);
	pid = stub_fork_call(c, 1, call_write_batch, NULL);
	ASSERT_GE(pid, 0);
	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return, "child still running 20 s after the write (stage %d)",
			  c->stage);
	}
	TH_LOG("child %s at stage %d, write result %ld",
	       stub_status_str(status, buf, sizeof(buf)), c->stage, c->ret);
	if (c->stage < STUB_ST_CALLING)
		STUB_FAIL(return, "set-up failed: %s", c->err);
	if (c->stage >= STUB_ST_CALLED && c->ret == 0)
		STUB_VULNERABLE(return,
				"uid %d wrote a call into the stub's batch page",
				STUB_NOBODY);
	if (c->stage >= STUB_ST_CALLED) {
		TH_LOG("defended: the write faulted (%ld)", c->ret);
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "child died in an unexpected way");
	TH_LOG("defended: the process was killed on the write");
}

TEST_HARNESS_MAIN
