/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the hijacked-stub selftests.
 *
 * These programs run as ordinary processes inside a UML guest booted with
 * seccomp=on.  Every guest process is backed by a host process whose top
 * three pages are the UML stub: one code page followed by the two pages of
 * struct stub_data.  The guest kernel has no VMA for them, but they are
 * ordinary host mappings, so a guest process can read them, write the data
 * pages and call into the code page.  The seccomp filter of the unpatched
 * stub only checks that a host syscall comes from the code page, and that
 * page ends its signal restorer with "syscall; ret": calling that gadget
 * issues a raw host syscall that the guest kernel never sees.
 *
 * Everything here is written for x86_64 hosts with a 47-bit user address
 * space, the only configuration UML's seccomp mode supports today.
 */
#ifndef STUB_UTIL_H
#define STUB_UTIL_H

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <linux/futex.h>
/* READ_ONCE(), WRITE_ONCE(), __aligned() etc. from tools/include */
#include <linux/compiler.h>

/* Harness diagnostics go to stdout, so the TAP stream is complete. */
#define TH_LOG_STREAM stdout
#include "kselftest_harness.h"

/*
 * 1 when /proc/cpuinfo says this is a UML kernel, 0 when it says it is
 * not, -1 when it cannot be read.
 */
static inline int stub_on_uml(void)
{
	char line[256];
	int ret = -1;
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "vendor_id", 9))
			continue;
		ret = !!strstr(line, "User Mode Linux");
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Line-buffered output: under a pipe the harness's lines must not sit in
 * a buffer when a test wedges or the kernel panics.  A write to a pipe
 * whose reader (an attacker the kernel killed) is gone must fail, not
 * kill the test.  Anywhere but in a UML guest there is no stub to
 * attack: skip the whole program.
 */
static void __attribute__((constructor)) stub_test_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (stub_on_uml() == 0) {
		ksft_print_header();
		ksft_exit_skip("not a UML kernel: there is no stub to attack\n");
	}
}

#define STUB_PAGE		4096UL
/* One past the highest user address of a 47-bit x86_64 host. */
#define STUB_PROBE_TOP		0x800000000000UL
/* How far below the top to look for the stub (1 MiB). */
#define STUB_PROBE_PAGES	256

/* The uid/gid an unprivileged attacker runs as. */
#define STUB_NOBODY		65534

/*
 * Addresses far below the guest's TASK_SIZE where no test program has
 * a VMA; used as targets of hijacked host mmaps.
 */
#define STUB_SCRATCH_ADDR	0x200000000000UL
#define STUB_PHYSMEM_ADDR	0x210000000000UL

/*
 * struct stub_data as laid out by the UNPATCHED base kernel
 * (arch/um/include/shared/skas/stub-data.h and
 * arch/x86/um/shared/sysdep/stub-data.h, x86_64).  The tests that fake
 * a trap write these fields the way the unpatched stub does.  The
 * hardened monitor may not read them at all; writing them must then
 * simply have no effect, which is what the tests check.
 */
#define STUB_FUTEX_IN_CHILD	0
#define STUB_FUTEX_IN_KERN	1

struct unpatched_stub_syscall {
	struct {
		unsigned long addr;
		unsigned long length;
		unsigned long offset;
		int fd;
		int prot;
	} mem;
	int syscall;
};

struct unpatched_stub_data {
	long err;
	int syscall_data_len;
	struct unpatched_stub_syscall
		syscall_data[(STUB_PAGE - 128) /
			     sizeof(struct unpatched_stub_syscall)]
		__aligned(16);
	short restart_wait;
	unsigned int futex;
	int signal;
	unsigned short si_offset;
	unsigned short mctx_offset;
	struct {
		int sync;
		unsigned long fs_base;
		unsigned long gs_base;
	} arch_data;
	unsigned char sigstack[STUB_PAGE] __aligned(4096);
};

static_assert(sizeof(struct unpatched_stub_syscall) == 40, "stub_syscall");
static_assert(offsetof(struct unpatched_stub_data, syscall_data) == 16, "syscall_data");
static_assert(offsetof(struct unpatched_stub_data, restart_wait) == 3976, "restart_wait");
static_assert(offsetof(struct unpatched_stub_data, futex) == 3980, "futex");
static_assert(offsetof(struct unpatched_stub_data, signal) == 3984, "signal");
static_assert(offsetof(struct unpatched_stub_data, si_offset) == 3988, "si_offset");
static_assert(offsetof(struct unpatched_stub_data, mctx_offset) == 3990, "mctx_offset");
static_assert(offsetof(struct unpatched_stub_data, sigstack) == 4096, "sigstack");
static_assert(sizeof(struct unpatched_stub_data) == 2 * STUB_PAGE, "size");

/* Where the stub is in this process; filled in by stub_locate(). */
struct stub_loc {
	unsigned long code;	/* the stub code page */
	unsigned long data;	/* the first page after it (stub_data) */
	unsigned long gadget;	/* a "syscall; ret" sequence in the code page */
	int data_pages;		/* readable pages after the code page (0-2) */
};

static struct stub_loc stub;

/*
 * The stub, the host-side monitor and other threads change stub_data
 * behind the compiler's back: access its fields with READ_ONCE() and
 * WRITE_ONCE() (or __atomic builtins).
 */
static inline struct unpatched_stub_data *stub_data(void)
{
	return (struct unpatched_stub_data *)stub.data;
}

/* ---- probing memory without dying ------------------------------------- */

static sigjmp_buf stub_probe_jmp;
/* Set by the signal handler: READ_ONCE()/WRITE_ONCE() only. */
static int stub_probe_sig;

static void stub_probe_handler(int sig)
{
	WRITE_ONCE(stub_probe_sig, sig);
	siglongjmp(stub_probe_jmp, 1);
}

/*
 * Run with SIGSEGV/SIGBUS caught: *_readable/_writable return whether a
 * byte can be read (or written back unchanged) without a fault.
 */
struct stub_probe_state {
	struct sigaction segv, bus;
};

static inline void stub_probe_begin(struct stub_probe_state *st)
{
	struct sigaction sa = { .sa_handler = stub_probe_handler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &st->segv);
	sigaction(SIGBUS, &sa, &st->bus);
}

static inline void stub_probe_end(struct stub_probe_state *st)
{
	sigaction(SIGSEGV, &st->segv, NULL);
	sigaction(SIGBUS, &st->bus, NULL);
}

/* Must be called between stub_probe_begin() and stub_probe_end(). */
static inline int stub_readable(unsigned long addr)
{
	if (sigsetjmp(stub_probe_jmp, 1))
		return 0;
	(void)READ_ONCE(*(unsigned char *)addr);
	return 1;
}

static inline int stub_writable(unsigned long addr)
{
	unsigned char *p = (unsigned char *)addr;

	if (sigsetjmp(stub_probe_jmp, 1))
		return 0;
	WRITE_ONCE(*p, READ_ONCE(*p));
	return 1;
}

/*
 * Read or write @len bytes at @addr, reporting a fault instead of dying.
 * Returns 0 on success, the signal number on a fault.
 */
static inline int stub_try_write(unsigned long addr, const void *buf, size_t len)
{
	struct stub_probe_state st;

	WRITE_ONCE(stub_probe_sig, 0);
	stub_probe_begin(&st);
	if (!sigsetjmp(stub_probe_jmp, 1))
		memcpy((void *)addr, buf, len);
	stub_probe_end(&st);
	return READ_ONCE(stub_probe_sig);
}

static inline int stub_try_read(unsigned long addr, void *buf, size_t len)
{
	struct stub_probe_state st;

	WRITE_ONCE(stub_probe_sig, 0);
	stub_probe_begin(&st);
	if (!sigsetjmp(stub_probe_jmp, 1))
		memcpy(buf, (void *)addr, len);
	stub_probe_end(&st);
	return READ_ONCE(stub_probe_sig);
}

/* ---- finding the stub ------------------------------------------------- */

static inline unsigned long stub_find_gadget(unsigned long page)
{
	const unsigned char *p = (const unsigned char *)page;
	unsigned long i;

	for (i = 0; i + 3 <= STUB_PAGE; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x05 && p[i + 2] == 0xc3)
			return page + i;
	return 0;
}

/*
 * Locate the stub by probing downward from the top of the address space.
 * The code page is the highest readable, non-writable page that contains
 * a "syscall; ret" gadget (0f 05 c3).  Returns 0 on success, -1 if no such
 * page was found (the tests then FAIL: without the gadget they test
 * nothing).
 */
static inline int stub_locate(void)
{
	struct stub_probe_state st;
	unsigned long page;
	int i, found = 0;

	memset(&stub, 0, sizeof(stub));
	stub_probe_begin(&st);
	for (i = 1; i <= STUB_PROBE_PAGES && !found; i++) {
		page = STUB_PROBE_TOP - i * STUB_PAGE;
		if (!stub_readable(page) || stub_writable(page))
			continue;
		stub.gadget = stub_find_gadget(page);
		if (!stub.gadget)
			continue;
		stub.code = page;
		stub.data = page + STUB_PAGE;
		found = 1;
	}
	if (found) {
		for (i = 0; i < 2; i++)
			if (stub_readable(stub.data + i * STUB_PAGE))
				stub.data_pages++;
			else
				break;
	}
	stub_probe_end(&st);
	return found ? 0 : -1;
}

/* ---- raw host syscalls through the gadget ----------------------------- */

/*
 * Issue a host syscall from the stub code page.  The 128 bytes below the
 * stack pointer are stepped over because "call" would otherwise clobber
 * the red zone of the calling function.
 */
static inline long stub_syscall6(long nr, long a1, long a2, long a3,
				 long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("sub $128, %%rsp\n\t"
			 "call *%[g]\n\t"
			 "add $128, %%rsp"
			 : "=a"(ret), "+r"(r10), "+r"(r8), "+r"(r9)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3),
			   [g] "r"(stub.gadget)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

#define stub_syscall0(nr)		stub_syscall6(nr, 0, 0, 0, 0, 0, 0)
#define stub_syscall1(nr, a)		stub_syscall6(nr, (long)(a), 0, 0, 0, 0, 0)
#define stub_syscall2(nr, a, b)		stub_syscall6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define stub_syscall3(nr, a, b, c)	stub_syscall6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/*
 * Load @uc as the signal frame and run rt_sigreturn from the code page.
 * The host restores every register, the signal mask and the alternate
 * stack from @uc.  Never returns.
 */
static inline __noreturn void stub_rt_sigreturn(ucontext_t *uc)
{
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"	/* __NR_rt_sigreturn */
			 "jmp *%1"
			 : : "r"(uc), "r"(stub.gadget) : "rax", "memory");
	__builtin_unreachable();
}

/*
 * Fill @uc so that stub_rt_sigreturn() resumes at @fn on a fresh stack
 * [stack, stack + size) with @blocked as the host signal mask and the
 * stub's own alternate signal stack left in place.
 */
static inline void stub_build_frame(ucontext_t *uc, void (*fn)(void),
				    void *stack, size_t size,
				    const sigset_t *blocked)
{
	unsigned long sp = ((unsigned long)stack + size) & ~15UL;

	memset(uc, 0, sizeof(*uc));
	uc->uc_stack.ss_sp = (void *)stub.data;
	uc->uc_stack.ss_size = 2 * STUB_PAGE;
	uc->uc_stack.ss_flags = 0;
	uc->uc_mcontext.gregs[REG_RIP] = (unsigned long)fn;
	uc->uc_mcontext.gregs[REG_RSP] = sp - 8;	/* as after a call */
	uc->uc_mcontext.gregs[REG_EFL] = 0x202;
	/* cs = __USER_CS, ss = __USER_DS */
	uc->uc_mcontext.gregs[REG_CSGSFS] = 0x33 | (0x2bUL << 48);
	uc->uc_mcontext.fpregs = NULL;	/* reset the FPU */
	memcpy(&uc->uc_sigmask, blocked, sizeof(*blocked));
}

/*
 * Pretend the stub trapped with @sig: the unpatched monitor believes the
 * futex word and then reads everything else from stub_data.  The caller
 * keeps running in parallel with the monitor.  Returns the FUTEX_WAKE
 * result.
 */
static inline long stub_fake_report(int sig)
{
	struct unpatched_stub_data *d = stub_data();

	WRITE_ONCE(d->signal, sig);
	__atomic_store_n(&d->futex, STUB_FUTEX_IN_KERN, __ATOMIC_SEQ_CST);
	return stub_syscall3(SYS_futex, &d->futex, FUTEX_WAKE, 1);
}

/* ---- the unpatched stub's socket -------------------------------------- */

/*
 * Everything a recvmsg() of descriptors on the unpatched stub's socket
 * touches: pre-fault it before a fake report, after which a page fault
 * would be a real trap in the middle of the fake one.
 */
static struct {
	struct msghdr msg;
	struct iovec iov;
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctrl;
} stub_rx __maybe_unused;

/*
 * One non-blocking recvmsg() on the unpatched stub's socket, fd 0,
 * through the gadget.  Returns the first descriptor that came with it,
 * -EAGAIN or -EINTR if nothing came yet, -ENOMSG for a message without a
 * descriptor, or the error of the recvmsg().
 */
static inline int stub_recv_fd(void)
{
	struct cmsghdr *cm;
	long n;

	memset(&stub_rx, 0, sizeof(stub_rx));
	stub_rx.iov.iov_base = &stub_rx.byte;
	stub_rx.iov.iov_len = 1;
	stub_rx.msg.msg_iov = &stub_rx.iov;
	stub_rx.msg.msg_iovlen = 1;
	stub_rx.msg.msg_control = stub_rx.ctrl.buf;
	stub_rx.msg.msg_controllen = sizeof(stub_rx.ctrl.buf);
	n = stub_syscall3(SYS_recvmsg, 0, &stub_rx.msg, MSG_DONTWAIT);
	if (n < 0)
		return n;
	cm = CMSG_FIRSTHDR(&stub_rx.msg);
	if (n > 0 && cm && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS)
		return *(int *)CMSG_DATA(cm);
	return -ENOMSG;
}

/* ---- timing without syscalls ------------------------------------------ */

static unsigned long stub_tsc_per_ms;

static inline unsigned long stub_rdtsc(void)
{
	unsigned int lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((unsigned long)hi << 32) | lo;
}

static inline unsigned long stub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000UL + ts.tv_nsec / 1000000;
}

static inline void stub_sleep_ms(unsigned long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Calibrate the TSC against the guest clock (uses syscalls).  The guest
 * clock can jump forward when the host deschedules UML, which makes one
 * sample read too few ticks per ms and every deadline too short: keep the
 * highest of a few samples.
 */
static inline void stub_tsc_calibrate(void)
{
	unsigned long t0, c0, t1, c1, rate;
	int i;

	stub_tsc_per_ms = 0;
	for (i = 0; i < 3; i++) {
		t0 = stub_now_ms();
		c0 = stub_rdtsc();
		stub_sleep_ms(20);
		t1 = stub_now_ms();
		c1 = stub_rdtsc();
		rate = (c1 - c0) / (t1 > t0 ? t1 - t0 : 1);
		if (rate > stub_tsc_per_ms)
			stub_tsc_per_ms = rate;
	}
	if (!stub_tsc_per_ms)
		stub_tsc_per_ms = 1000000;
}

/* Deadline @ms from now, in TSC ticks; no syscalls. */
static inline unsigned long stub_tsc_deadline(unsigned long ms)
{
	return stub_rdtsc() + ms * stub_tsc_per_ms;
}

static inline int stub_tsc_passed(unsigned long deadline)
{
	return (long)(stub_rdtsc() - deadline) >= 0;
}

static inline void stub_spin_ms(unsigned long ms)
{
	unsigned long end = stub_tsc_deadline(ms);

	while (!stub_tsc_passed(end))
		__asm__ volatile("pause");
}

/* ---- faking a trap report --------------------------------------------- */

/*
 * The last real trap frame on the stub's signal stack, located the way
 * the unpatched monitor does it (si_offset, mctx_offset).  Valid right
 * after a real syscall.  Returns -1 if the offsets are out of range,
 * i.e. stub_data is not laid out as on the unpatched base.
 */
static inline int stub_last_frame(siginfo_t **info, mcontext_t **mctx)
{
	struct unpatched_stub_data *d = stub_data();
	unsigned int si = READ_ONCE(d->si_offset);
	unsigned int mc = READ_ONCE(d->mctx_offset);

	if (stub.data_pages < 2 ||
	    si > sizeof(d->sigstack) - sizeof(siginfo_t) ||
	    mc > sizeof(d->sigstack) - sizeof(mcontext_t))
		return -1;
	*info = (siginfo_t *)&d->sigstack[si];
	*mctx = (mcontext_t *)&d->sigstack[mc];
	return 0;
}

/*
 * A real signal (a tick, a page fault) that overtakes a fake report
 * resumes the process with the fake's registers.  They lead to
 * stub_fake_pad(): the attempt was spoilt, neither defended nor
 * vulnerable, and a fresh process may retry.
 */
#define STUB_EXIT_TRIPPED	75

static unsigned char stub_pad_stack[16384] __aligned(16) __maybe_unused;

static __noreturn __maybe_unused void stub_fake_pad(void)
{
	_exit(STUB_EXIT_TRIPPED);
}

static inline int stub_fake_tripped(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == STUB_EXIT_TRIPPED;
}

/*
 * Fake a SIGSYS report for guest syscall @nr(@a1, @a2, @a3).  The
 * unpatched monitor takes the syscall number from the siginfo and the
 * arguments from the mcontext of the last trap frame, both in stub_data,
 * so the guest kernel runs the syscall for this process while the
 * process keeps running.  Call it right after a real syscall, and touch
 * nothing that is not pre-faulted until the next real syscall: a page
 * fault would be a real trap in the middle of the fake one.
 * Returns -1 if stub_data does not look like the unpatched layout, else 0
 * (whether or not anybody believed the report).
 */
static inline int stub_fake_syscall(long nr, long a1, long a2, long a3)
{
	siginfo_t *info;
	mcontext_t *mctx;

	if (stub_last_frame(&info, &mctx))
		return -1;
	info->si_syscall = nr;
	mctx->gregs[REG_RAX] = nr;
	mctx->gregs[REG_RDI] = a1;
	mctx->gregs[REG_RSI] = a2;
	mctx->gregs[REG_RDX] = a3;
	/* as if called: the ABI wants rsp + 8 aligned to 16 on entry */
	mctx->gregs[REG_RIP] = (unsigned long)stub_fake_pad;
	mctx->gregs[REG_RSP] = (unsigned long)stub_pad_stack +
			       sizeof(stub_pad_stack) - 8;
	/* a refused FUTEX_WAKE is fine: the stores are the fake */
	stub_fake_report(SIGSYS);
	return 0;
}

/* Spin until the stub's futex word reads @val or @ms pass; no syscalls. */
static inline int stub_wait_futex(unsigned int val, unsigned long ms)
{
	struct unpatched_stub_data *d = stub_data();
	unsigned long end = stub_tsc_deadline(ms);

	while (__atomic_load_n(&d->futex, __ATOMIC_SEQ_CST) != val)
		if (stub_tsc_passed(end))
			return -1;
	return 0;
}

/* ---- processes -------------------------------------------------------- */

static inline int stub_drop_privs(void)
{
	if (setgroups(0, NULL) || setgid(STUB_NOBODY) || setuid(STUB_NOBODY))
		return -1;
	return getuid() == STUB_NOBODY && geteuid() == STUB_NOBODY ? 0 : -1;
}

static inline void *stub_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	return p;
}

/*
 * Write to every page of [p, p + len) so that the host has a writable
 * mapping for it: a test that must not trap (after faking a report, say)
 * cannot afford a page fault either.
 */
static inline void stub_prefault(void *p, size_t len)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i += STUB_PAGE)
		WRITE_ONCE(c[i], READ_ONCE(c[i]));
	if (len)
		WRITE_ONCE(c[len - 1], READ_ONCE(c[len - 1]));
}

/*
 * Set *@ready, then continue at @fn on @stack with SIGALRM blocked in the
 * host, through an rt_sigreturn of a frame built in @uc: what a process
 * that wants to keep its CPU does. Never returns.
 */
static inline __noreturn void
stub_run_with_timer_blocked(ucontext_t *uc, void (*fn)(void), void *stack,
			    size_t size, int *ready)
{
	sigset_t blocked;

	stub_prefault(uc, sizeof(*uc));
	stub_prefault(stack, size);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGALRM);
	stub_build_frame(uc, fn, stack, size, &blocked);
	__atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
	stub_rt_sigreturn(uc);
}

/* Pre-fault @len bytes of the stack below the caller. */
static noinline __maybe_unused void stub_prefault_stack(size_t len)
{
	unsigned char buf[len];
	size_t i;

	for (i = 0; i < len; i += 512)
		buf[i] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/*
 * Wait up to @timeout_ms for @pid.  Returns 1 and fills *status if it
 * ended, 0 if it is still alive.
 */
static inline int stub_wait_child(pid_t pid, unsigned long timeout_ms,
				  int *status)
{
	unsigned long end = stub_now_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;	/* not ours any more: treat as gone */
		if (stub_now_ms() >= end)
			return 0;
		stub_sleep_ms(20);
	}
}

/* Kill @pid and reap it if the kernel lets it die within @timeout_ms. */
static inline int stub_kill_wait(pid_t pid, unsigned long timeout_ms,
				 int *status)
{
	kill(pid, SIGKILL);
	return stub_wait_child(pid, timeout_ms, status);
}

static inline const char *stub_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

/*
 * The ways the hardened kernel may stop a hijacked call: the call fails,
 * or the host kills the stub and the guest process dies from SIGKILL,
 * SIGSEGV or SIGSYS.
 */
static inline int stub_defended_kill(int status)
{
	return WIFSIGNALED(status) &&
	       (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGSEGV ||
		WTERMSIG(status) == SIGSYS);
}

/* The guest's state letter for @pid from /proc/<pid>/stat, or 0. */
static inline char stub_proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* ---- one hijacked call in an unprivileged child ----------------------- */

enum { STUB_ST_START, STUB_ST_CALLING, STUB_ST_CALLED, STUB_ST_DONE };

/* Shared with the child (MAP_SHARED): how far it got and what it saw. */
struct stub_call {
	int stage;
	long ret;
	long aux[4];
	char err[128];
};

/*
 * Fork a child that drops to uid/gid 65534 (if @drop), makes the
 * hijacked call @fn(@arg) and records the result in @c.  The child exits
 * with 0 after the call; what happens after that is up to the caller's
 * judge.
 */
static inline pid_t stub_fork_call(struct stub_call *c, int drop,
				   long (*fn)(struct stub_call *, void *),
				   void *arg)
{
	pid_t pid;

	memset(c, 0, sizeof(*c));
	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	stub_prefault(c, sizeof(*c));
	if (drop && stub_drop_privs()) {
		snprintf(c->err, sizeof(c->err), "dropping to uid %d failed",
			 STUB_NOBODY);
		_exit(1);
	}
	stub_prefault_stack(16384);
	__atomic_store_n(&c->stage, STUB_ST_CALLING, __ATOMIC_SEQ_CST);
	c->ret = fn(c, arg);
	__atomic_store_n(&c->stage, STUB_ST_CALLED, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->stage, STUB_ST_DONE, __ATOMIC_SEQ_CST);
	_exit(0);
}

/*
 * Fail the current test with a message (the harness's own mechanism),
 * then run @statement (usually "return"), as the harness's SKIP() does.
 */
#define STUB_FAIL(statement, fmt, ...) do { \
	TH_LOG(fmt, ##__VA_ARGS__); \
	_metadata->exit_code = KSFT_FAIL; \
	statement; \
} while (0)

/* The attack worked: say so with the evidence, then fail. */
#define STUB_VULNERABLE(statement, fmt, ...) \
	STUB_FAIL(statement, "VULNERABLE: " fmt, ##__VA_ARGS__)

/* Is @ret a raw host syscall's -errno? */
static inline int stub_is_errno(long ret)
{
	return ret < 0 && ret > -4096;
}

/* ---- the kernel log --------------------------------------------------- */

/* Occurrences of @needle in the guest kernel log buffer (root only). */
static inline int stub_klog_count(const char *needle)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *p;
	int n, count = 0;

	if (len <= 0)
		len = 1 << 20;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	n = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = 0;
	for (p = buf; (p = strstr(p, needle)); p++)
		count++;
	free(buf);
	return count;
}

/* Printed by the unpatched kernel when a stub process dies under it. */
#define STUB_LOST_MSG "Unexpectedly lost MM child"

/* Does this guest process have a VMA covering @addr? */
static inline int stub_guest_has_vma(unsigned long addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    addr >= lo && addr < hi)
			found = 1;
	fclose(f);
	return found;
}

/* Where the unpatched base puts the stub on a 47-bit host. */
#define STUB_USUAL_CODE		0x7fffffffc000UL

/* Log where the stub is (and whether that is where the base has it). */
#define STUB_LOG_LOCATION() \
	TH_LOG("stub code page %#lx%s, gadget %#lx, %d readable data page(s)", \
	       stub.code, stub.code == STUB_USUAL_CODE ? "" : \
	       " (not the usual 0x7fffffffc000)", stub.gadget, stub.data_pages)

#define STUB_NOT_FOUND_FMT "no stub code page with a syscall;ret gadget found below %#lx: cannot test, the test must not pass"

#define ASSERT_STUB_FOUND() do { \
	ASSERT_EQ(0, stub_locate()) \
		TH_LOG(STUB_NOT_FOUND_FMT, \
		       STUB_PROBE_TOP); \
	STUB_LOG_LOCATION(); \
} while (0)

#endif /* STUB_UTIL_H */
