#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/fcntl.h>
#include <sys/socket.h>
#include <linux/sched.h>
#include <asm/unistd.h>
#include <sysdep/stub.h>
#include <stub-data.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <generated/asm-offsets.h>

/* Built against the UAPI headers only, which have no ARRAY_SIZE() */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef __NR_mseal
#define __NR_mseal 462
#endif

void _start(void);

/* The syscall that sets the TLS, and how long the check of its arguments is */
#ifdef __i386__
#define STUB_TLS_NR		__NR_set_thread_area
#define STUB_TLS_CHECK_LEN	0
#else
#define STUB_TLS_NR		__NR_arch_prctl
#define STUB_TLS_CHECK_LEN	4
#endif

/* Send @fd over the socket @sock, as the only payload of a one-byte message */
static int stub_send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = {
		.iov_base = &byte,
		.iov_len = 1,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	*(int *)CMSG_DATA(cmsg) = fd;

	return stub_syscall3(__NR_sendmsg, sock, (unsigned long)&msg, 0) == 1 ?
	       0 : -1;
}

/*
 * A filter with a listener, shared by both threads of the stub, that only
 * turns reports and batch requests into notifications. Each thread then
 * installs a filter of its own: the host takes the notification for a
 * syscall both filters allow, and traps or kills a syscall the thread's
 * own filter traps or kills.
 */
static long stub_install_listener(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_REPORT_NR, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_BATCH_NR, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	/*
	 * Not SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: a parked stub must stay
	 * stoppable and freezable by the host. A host signal interrupts its
	 * pending notification instead, and the monitor answers the restarted
	 * one (see stub_answer_report()).
	 */
	return stub_syscall3(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_NEW_LISTENER,
			     (unsigned long)&prog);
}

/*
 * Start the syscall thread, which runs no guest code and so needs no trap:
 * it may only ask for batches and run their mmap and munmap calls. It
 * starts with every signal blocked, so that only SIGKILL and a host stop
 * ever interrupt it, and installs its filter itself.
 */
static int stub_start_syscall_thread(unsigned long ip)
{
	static const struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 UM_SECCOMP_ARCH_NATIVE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_BATCH_NR, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_MMAP_NR, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	static const struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = (struct sock_filter *)filter,
	};
	unsigned long long all = ~0ULL, mask;
	long res;

	if (stub_syscall4(__NR_rt_sigprocmask, SIG_SETMASK,
			  (unsigned long)&all, (unsigned long)&mask,
			  sizeof(all)))
		return -1;

	res = stub_start_thread(CLONE_VM | CLONE_FS | CLONE_FILES |
				CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM,
				ip, (void *)&prog);

	if (stub_syscall4(__NR_rt_sigprocmask, SIG_SETMASK,
			  (unsigned long)&mask, 0, sizeof(mask)))
		return -1;

	return res > 0 ? 0 : -1;
}

noinline static void real_init(void)
{
	struct stub_init_data init_data;
	unsigned long res;
	struct {
		void  *ss_sp;
		int    ss_flags;
		size_t ss_size;
	} stack = {
		.ss_size = STUB_DATA_PAGES * UM_KERN_PAGE_SIZE,
	};
	struct {
		void *sa_handler_;
		unsigned long sa_flags;
		void *sa_restorer;
		unsigned long long sa_mask;
	} sa = {
		/* Need to set SA_RESTORER (but the handler never returns) */
		.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO | 0x04000000,
	};

	/* set a nice name */
	stub_syscall2(__NR_prctl, PR_SET_NAME, (unsigned long)"uml-userspace");

	/* Make sure this process dies if the kernel dies */
	stub_syscall2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL);

	/* Needed in SECCOMP mode (and safe to do anyway) */
	stub_syscall5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	/* read information from STDIN and close it */
	res = stub_syscall3(__NR_read, 0,
			    (unsigned long)&init_data, sizeof(init_data));
	if (res != sizeof(init_data))
		stub_syscall1(__NR_exit, 10);

	/* In SECCOMP mode, FD 0 is the socket the listener is sent over */
	if (!init_data.seccomp)
		stub_syscall1(__NR_close, 0);
	else
		stub_syscall3(__NR_fcntl, 0, F_SETFL, O_NONBLOCK);

	/* map stub code + data */
	res = stub_syscall6(STUB_MMAP_NR,
			    init_data.stub_start, UM_KERN_PAGE_SIZE,
			    PROT_READ | PROT_EXEC, MAP_FIXED | MAP_SHARED,
			    init_data.stub_code_fd, init_data.stub_code_offset);
	if (res != init_data.stub_start)
		stub_syscall1(__NR_exit, 11);

	res = stub_syscall6(STUB_MMAP_NR,
			    init_data.stub_start + UM_KERN_PAGE_SIZE,
			    STUB_DATA_PAGES * UM_KERN_PAGE_SIZE,
			    PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED,
			    init_data.stub_data_fd, init_data.stub_data_offset);
	if (res != init_data.stub_start + UM_KERN_PAGE_SIZE)
		stub_syscall1(__NR_exit, 12);

	/*
	 * In SECCOMP mode, keep only the socket and the memory FD (which the
	 * stub uses for every mmap). Seal the stub pages where the host
	 * supports it; elsewhere the monitor refuses any mmap or munmap
	 * touching them.
	 */
	if (init_data.seccomp) {
		res = stub_syscall3(__NR_close_range, STUB_MEM_FD + 1, ~0U, 0);
		if (res != 0)
			stub_syscall1(__NR_exit, 13);

		/* Only the monitor writes the first page of stub_data */
		res = stub_syscall3(__NR_mprotect,
				    init_data.stub_start + UM_KERN_PAGE_SIZE,
				    UM_KERN_PAGE_SIZE, PROT_READ);
		if (res != 0)
			stub_syscall1(__NR_exit, 25);

		stub_syscall3(__NR_mseal, init_data.stub_start, STUB_SIZE, 0);
	}

	/* setup signal stack inside stub data */
	stack.ss_sp = (void *)init_data.stub_start + UM_KERN_PAGE_SIZE;
	stub_syscall2(__NR_sigaltstack, (unsigned long)&stack, 0);

	/* register signal handlers */
	sa.sa_handler_ = (void *) init_data.signal_handler;
	sa.sa_restorer = (void *) init_data.signal_restorer;
	if (!init_data.seccomp) {
		/* In ptrace mode, the SIGSEGV handler never returns */
		sa.sa_mask = 0;

		res = stub_syscall4(__NR_rt_sigaction, SIGSEGV,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 14);
	} else {
		/* SECCOMP mode uses rt_sigreturn, need to mask all signals */
		unsigned long long alarm = 1ULL << (SIGALRM - 1);

		/*
		 * Keep SIGALRM blocked until the monitor resumes us with its
		 * own frame, so that the first report is the SIGSYS below.
		 */
		res = stub_syscall4(__NR_rt_sigprocmask, SIG_BLOCK,
				    (unsigned long)&alarm, 0, sizeof(alarm));
		if (res != 0)
			stub_syscall1(__NR_exit, 22);

		sa.sa_mask = ~0ULL;

		res = stub_syscall4(__NR_rt_sigaction, SIGSEGV,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 15);

		res = stub_syscall4(__NR_rt_sigaction, SIGSYS,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 16);

		res = stub_syscall4(__NR_rt_sigaction, SIGALRM,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 17);

		res = stub_syscall4(__NR_rt_sigaction, SIGTRAP,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 18);

		res = stub_syscall4(__NR_rt_sigaction, SIGILL,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 19);

		res = stub_syscall4(__NR_rt_sigaction, SIGFPE,
				    (unsigned long)&sa, 0, sizeof(sa.sa_mask));
		if (res != 0)
			stub_syscall1(__NR_exit, 20);
	}

	/*
	 * If in seccomp mode, install the SECCOMP filter and trigger a syscall.
	 * Otherwise set PTRACE_TRACEME and do a SIGSTOP.
	 */
	if (init_data.seccomp) {
		struct sock_filter filter[] = {
#if __BITS_PER_LONG > 32
			/* Upper 32 bits of the instruction pointer */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 (offsetof(struct seccomp_data, instruction_pointer) + 4)),
			/* Not the stub's: skip to the arch check */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (init_data.stub_start) >> 32, 0, 3),
#endif
			/* Lower 32 bits of the instruction pointer, its page */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 (offsetof(struct seccomp_data, instruction_pointer))),
			BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfffff000),
			/* Not the stub's code page: trap, the guest made the call */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (init_data.stub_start) & 0xfffff000, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),

			/* The stub's own calls: the native arch only */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 UM_SECCOMP_ARCH_NATIVE, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),

			/* Only the few it needs */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_REPORT_NR,
				 STUB_TLS_CHECK_LEN + 4, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn,
				 STUB_TLS_CHECK_LEN + 2, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUB_TLS_NR, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),

#ifndef __i386__
			/* arch_prctl: only the FS/GS base the stub sets */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[0])),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_SET_FS, 2, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_SET_GS, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),

			/* Reports only from the report instruction */
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, instruction_pointer)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 (__u32)init_data.report_ip, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			/* Reports: see stub_install_listener() */
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {
			.len = sizeof(filter) / sizeof(filter[0]),
			.filter = filter,
		};
		long listener;

		/*
		 * The listener reaches the monitor over the socket, which
		 * needs no ptrace rights on the host, before the full filter
		 * forbids sendmsg and close. The syscall thread starts between
		 * the two filters, and neither needs TSYNC.
		 */
		listener = stub_install_listener();
		if (listener < 0)
			stub_syscall1(__NR_exit, 21);
		if (stub_start_syscall_thread(init_data.syscall_thread))
			stub_syscall1(__NR_exit, 26);
		if (stub_send_fd(0, listener))
			stub_syscall1(__NR_exit, 23);
		stub_syscall1(__NR_close, listener);
		stub_syscall1(__NR_close, 0);

		if (stub_syscall3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0,
				  (unsigned long)&prog))
			stub_syscall1(__NR_exit, 24);

		/* Fall through, the exit syscall will cause SIGSYS */
	} else {
		stub_syscall4(__NR_ptrace, PTRACE_TRACEME, 0, 0, 0);

		stub_syscall2(__NR_kill, stub_syscall0(__NR_getpid), SIGSTOP);
	}

	stub_syscall1(__NR_exit, 30);

	__builtin_unreachable();
}

__attribute__((naked)) void _start(void)
{
	/*
	 * Since the stack after exec() starts at the top-most address,
	 * but that's exactly where we also want to map the stub data
	 * and code, this must:
	 *  - push the stack by 1 code and STUB_DATA_PAGES data pages
	 *  - call real_init()
	 * This way, real_init() can use the stack normally, while the
	 * original stack further down (higher address) will become
	 * inaccessible after the mmap() calls above.
	 */
	stub_start(real_init);
}
