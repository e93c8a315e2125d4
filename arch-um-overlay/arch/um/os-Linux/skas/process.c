// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2021 Benjamin Berg <benjamin@sipsolutions.net>
 * Copyright (C) 2015 Thomas Meyer (thomas@m3y3r.de)
 * Copyright (C) 2002- 2007 Jeff Dike (jdike@{addtoit,linux.intel}.com)
 */

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <mem_user.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <asm/unistd.h>
#include <as-layout.h>
#include <init.h>
#include <kern_util.h>
#include <mem.h>
#include <os.h>
#include <ptrace_user.h>
#include <registers.h>
#include <skas.h>
#include <smp.h>
#include <sysdep/stub.h>
#include <sysdep/mcontext.h>
#include <linux/seccomp.h>
#include <linux/threads.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/ioctl.h>
#include <timetravel.h>
#include <asm-generic/rwonce.h>
#include "../internal.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS	SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP	(1UL << 0)
#endif

int is_skas_winch(int pid, int fd, void *data)
{
	return pid == getpgrp();
}

static const char *ptrace_reg_name(int idx)
{
#define R(n) case HOST_##n: return #n

	switch (idx) {
#ifdef __x86_64__
	R(BX);
	R(CX);
	R(DI);
	R(SI);
	R(DX);
	R(BP);
	R(AX);
	R(R8);
	R(R9);
	R(R10);
	R(R11);
	R(R12);
	R(R13);
	R(R14);
	R(R15);
	R(ORIG_AX);
	R(CS);
	R(SS);
	R(EFLAGS);
#elif defined(__i386__)
	R(IP);
	R(SP);
	R(EFLAGS);
	R(AX);
	R(BX);
	R(CX);
	R(DX);
	R(SI);
	R(DI);
	R(BP);
	R(CS);
	R(SS);
	R(DS);
	R(FS);
	R(ES);
	R(GS);
	R(ORIG_AX);
#endif
	}
	return "";
}

static int ptrace_dump_regs(int pid)
{
	unsigned long regs[MAX_REG_NR];
	int i;

	if (ptrace(PTRACE_GETREGS, pid, 0, regs) < 0)
		return -errno;

	printk(UM_KERN_ERR "Stub registers -\n");
	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		const char *regname = ptrace_reg_name(i);

		printk(UM_KERN_ERR "\t%s\t(%2d): %lx\n", regname, i, regs[i]);
	}

	return 0;
}

/*
 * Signals that are OK to receive in the stub - we'll just continue it.
 * SIGWINCH will happen when UML is inside a detached screen.
 */
#define STUB_SIG_MASK ((1 << SIGALRM) | (1 << SIGWINCH))

/* Signals that the stub will finish with - anything else is an error */
#define STUB_DONE_MASK (1 << SIGTRAP)

void wait_stub_done(int pid)
{
	int n, status, err;

	while (1) {
		CATCH_EINTR(n = waitpid(pid, &status, WUNTRACED | __WALL));
		if ((n < 0) || !WIFSTOPPED(status))
			goto bad_wait;

		if (((1 << WSTOPSIG(status)) & STUB_SIG_MASK) == 0)
			break;

		err = ptrace(PTRACE_CONT, pid, 0, 0);
		if (err) {
			printk(UM_KERN_ERR "%s : continue failed, errno = %d\n",
			       __func__, errno);
			fatal_sigsegv();
		}
	}

	if (((1 << WSTOPSIG(status)) & STUB_DONE_MASK) != 0)
		return;

bad_wait:
	err = ptrace_dump_regs(pid);
	if (err)
		printk(UM_KERN_ERR "Failed to get registers from stub, errno = %d\n",
		       -err);
	printk(UM_KERN_ERR "%s : failed to wait for SIGTRAP, pid = %d, n = %d, errno = %d, status = 0x%x\n",
	       __func__, pid, n, errno, status);
	fatal_sigsegv();
}

/*
 * Hand-offs between the monitor and the stub are synchronous, so let the
 * host switch directly between the two (Linux 6.6 and later).
 */
static int seccomp_sync_wake_up = 1;

static int __init seccomp_sync_wake_up_setup(char *line, int *add)
{
	seccomp_sync_wake_up = !!strtoul(line, NULL, 0);
	return 0;
}

__uml_setup("seccomp_sync_wake_up=", seccomp_sync_wake_up_setup,
"seccomp_sync_wake_up=<0|1>\n"
"    In SECCOMP mode, ask the host to hand the CPU over directly when the\n"
"    stub reports to the kernel and back (default 1, where supported).\n\n"
);

/*
 * Watchdog: a stub that blocks SIGALRM with a crafted rt_sigreturn never
 * reports and would keep its vCPU for ever. What it takes from the other
 * tasks of that vCPU is the host CPU time spent on it between two reports:
 * its own, and the vCPU's serving its mmap and munmap calls. The host
 * accounts both, the guest cannot fake them, and a stub that does not get
 * the CPU (loaded host) accrues nothing. A stub that runs guest code is sent
 * SIGALRM at every tick and reports, so it accrues about a tick: the default
 * of 100 ms is ten ticks at HZ=100, and bounds how long a stub can hold its
 * vCPU.
 */
static unsigned int seccomp_watchdog_ms = 100;

static int __init seccomp_watchdog_setup(char *line, int *add)
{
	seccomp_watchdog_ms = strtoul(line, NULL, 0);
	return 0;
}

__uml_setup("seccomp_watchdog=", seccomp_watchdog_setup,
"seccomp_watchdog=<ms>\n"
"    In SECCOMP mode, kill a userspace process whose stub consumed this much\n"
"    host CPU time without reporting to the kernel (default 100, 0 disables;\n"
"    disabled with time-travel=inf-cpu and time-travel=ext). The process is\n"
"    killed within about 1.5 times this value once it starts running.\n\n"
);

struct seccomp_wd_slot {
	int pid;
	unsigned long long start_time;
	clockid_t vcpu_clock;
	/* Odd while the stub runs; written by the vCPU, read by the watchdog */
	unsigned long gen;
	/* gen of the run the watchdog killed */
	unsigned long killed;
};

static struct seccomp_wd_slot seccomp_wd[CONFIG_NR_CPUS];
static int seccomp_wd_running;

static void seccomp_watchdog_start(struct mm_id *mm_idp)
{
	struct seccomp_wd_slot *slot = &seccomp_wd[uml_curr_cpu()];
	clockid_t vcpu_clock;

	if (!seccomp_wd_running)
		return;

	/* Cannot fail on Linux; if it did, count the stub's time alone */
	if (pthread_getcpuclockid(pthread_self(), &vcpu_clock))
		vcpu_clock = CLOCK_THREAD_CPUTIME_ID;

	__atomic_store_n(&slot->pid, mm_idp->pid, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->vcpu_clock, vcpu_clock, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->start_time, mm_idp->start_time,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&slot->gen, slot->gen + 1, __ATOMIC_SEQ_CST);
}

/* Returns true if the watchdog killed the stub during this run */
static bool seccomp_watchdog_stop(struct mm_id *mm_idp, int err)
{
	struct seccomp_wd_slot *slot = &seccomp_wd[uml_curr_cpu()];
	unsigned long gen = slot->gen;

	if (!seccomp_wd_running)
		return false;

	__atomic_store_n(&slot->gen, gen + 1, __ATOMIC_SEQ_CST);

	/* mm_idp->pid is -1 once the stub has been reaped */
	if (err && __atomic_load_n(&slot->killed, __ATOMIC_SEQ_CST) == gen) {
		printk(UM_KERN_ERR "seccomp watchdog: killed stub pid %d, it used %u ms of CPU time without reporting\n",
		       slot->pid, seccomp_watchdog_ms);
		return true;
	}
	return false;
}

/* Host CPU time spent on the stub of @slot so far: its own and its vCPU's */
static long long seccomp_wd_cpu_ns(struct seccomp_wd_slot *slot, int pid)
{
	clockid_t vcpu_clock = __atomic_load_n(&slot->vcpu_clock,
					       __ATOMIC_RELAXED);
	struct timespec stub, vcpu;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) || clock_gettime(cid, &stub) ||
	    clock_gettime(vcpu_clock, &vcpu))
		return -1;

	return (stub.tv_sec + vcpu.tv_sec) * 1000000000LL +
	       stub.tv_nsec + vcpu.tv_nsec;
}

/* The start time of process @pid (field 22 of its stat), 0 if unknown */
static unsigned long long stub_start_time(int pid)
{
	unsigned long long start = 0;
	char buf[512], *p;
	int fd, n, field;

	snprintf(buf, sizeof(buf), "/proc/%d/stat", pid);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	CATCH_EINTR(n = read(fd, buf, sizeof(buf) - 1));
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';

	/* The command name may hold anything but ends with the last ')' */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

static void seccomp_wd_check(struct seccomp_wd_slot *slot,
			     unsigned long *seen_gen, long long *start_ns)
{
	unsigned long gen = __atomic_load_n(&slot->gen, __ATOMIC_SEQ_CST);
	int pid = __atomic_load_n(&slot->pid, __ATOMIC_RELAXED);
	long long ns;
	int fd;

	if (!(gen & 1))
		return;

	ns = seccomp_wd_cpu_ns(slot, pid);
	if (ns < 0)
		return;

	if (gen != *seen_gen) {
		*seen_gen = gen;
		*start_ns = ns;
		return;
	}

	if (ns - *start_ns < seccomp_watchdog_ms * 1000000LL)
		return;

	/*
	 * The stub may have died and its pid been reused meanwhile: pin the
	 * process first, then check that it is the stub of this run by its
	 * start time, which a reused pid does not share.
	 */
	fd = syscall(__NR_pidfd_open, pid, 0);
	if (fd < 0)
		return;
	if (__atomic_load_n(&slot->gen, __ATOMIC_SEQ_CST) == gen &&
	    stub_start_time(pid) ==
	    __atomic_load_n(&slot->start_time, __ATOMIC_RELAXED)) {
		__atomic_store_n(&slot->killed, gen, __ATOMIC_SEQ_CST);
		syscall(__NR_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	}
	close(fd);
}

static void *seccomp_watchdog(void *arg)
{
	unsigned long seen_gen[CONFIG_NR_CPUS] = {};
	long long start_ns[CONFIG_NR_CPUS] = {};
	unsigned long tick_ms = seccomp_watchdog_ms / 4 ? : 1;
	struct timespec tick = {
		.tv_sec = tick_ms / 1000,
		.tv_nsec = (tick_ms % 1000) * 1000000,
	};
	int cpu;

	for (;;) {
		nanosleep(&tick, NULL);

		for (cpu = 0; cpu < CONFIG_NR_CPUS; cpu++)
			seccomp_wd_check(&seccomp_wd[cpu], &seen_gen[cpu],
					 &start_ns[cpu]);
	}

	return NULL;
}

static int __init start_seccomp_watchdog(void)
{
	static struct os_helper_thread *td;

	if (!using_seccomp || !seccomp_watchdog_ms ||
	    time_travel_mode == TT_MODE_INFCPU ||
	    time_travel_mode == TT_MODE_EXTERNAL)
		return 0;

	if (os_run_helper_thread(&td, seccomp_watchdog, NULL) < 0) {
		printk(UM_KERN_ERR "%s : could not start the seccomp watchdog\n",
		       __func__);
		return 0;
	}

	seccomp_wd_running = 1;
	return 0;
}
__initcall(start_seccomp_watchdog);

/*
 * SECCOMP mode: the stub talks to the monitor only through seccomp
 * notifications on its listener. A report is a notification of the guest
 * thread from stub_report_ip; while it is pending the guest thread is
 * parked in the host kernel, so its registers cannot change and it cannot
 * write memory until we reply. The stub's syscall thread runs the queued
 * mmap and munmap calls: it asks for each batch with a notification from
 * stub_batch_ip and reads the batch from a page only we write.
 */
extern char __syscall_stub_start[];

/* A listener hangs up once the stub is gone and reaped */
static bool stub_gone(struct mm_id *mm_idp)
{
	struct pollfd pfd = { .fd = mm_idp->listener, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & ~POLLIN);
}

static int stub_notif_wait(struct mm_id *mm_idp, struct seccomp_notif *req)
{
	for (;;) {
		/* Marked dead by the SIGCHLD handler in mmu.c */
		if (__READ_ONCE(mm_idp->pid) < 0)
			return -ESRCH;

		memset(req, 0, sizeof(*req));
		if (ioctl(mm_idp->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != ENOENT)
			return -errno;

		/*
		 * ENOENT: the notification's caller was killed after it woke
		 * us, or the stub is gone and reaping it woke us (the SIGCHLD
		 * handler reaps it while we wait).
		 */
		if (stub_gone(mm_idp))
			return -ESRCH;
	}
}

/*
 * Returns 0 once the stub has the reply, -ENOENT if the notification is
 * gone: the stub died, or a host stop, freeze or ptrace attach interrupted
 * it and the stub will issue the same syscall again without having run it.
 */
static int stub_notif_reply(struct mm_id *mm_idp, unsigned long long id,
			    long val, int error, unsigned int flags)
{
	struct seccomp_notif_resp resp = {
		.id = id,
		.val = val,
		.error = error,
		.flags = flags,
	};
	int n;

	CATCH_EINTR(n = ioctl(mm_idp->listener, SECCOMP_IOCTL_NOTIF_SEND,
			      &resp));
	return n < 0 ? -errno : 0;
}

static unsigned long stub_ip(const void *label)
{
	return STUB_CODE + (unsigned long)label -
	       (unsigned long)__syscall_stub_start;
}

/*
 * Wait for the stub's next notification: a report of the guest thread or
 * a batch request of the syscall thread. Each thread's own filter keeps it
 * from issuing the other's, and only from its one instruction. Returns
 * the syscall number, having noted the notification's id, or an error.
 */
static int stub_wait_notif(struct mm_id *mm_idp, struct seccomp_notif *req)
{
	int err = stub_notif_wait(mm_idp, req);

	if (err)
		return err;

	if (req->data.nr == STUB_REPORT_NR &&
	    req->data.instruction_pointer == stub_ip(stub_report_ip)) {
		mm_idp->report_id = req->id;
		return STUB_REPORT_NR;
	}

	if (req->data.nr == STUB_BATCH_NR &&
	    req->data.instruction_pointer == stub_ip(stub_batch_ip)) {
		mm_idp->batch_id = req->id;
		return STUB_BATCH_NR;
	}

	return -EPERM;
}

/*
 * Wait for the next notification of the thread that asks with @nr: a
 * report of the guest thread or a batch request of the syscall thread.
 * The other thread is waiting for its answer meanwhile; a host stop,
 * freeze or ptrace attach can make it ask again, with the sequence number
 * it passed before, which only changes the id to answer.
 */
static int stub_wait_thread(struct mm_id *mm_idp, int nr,
			    struct seccomp_notif *req)
{
	int got;

	do {
		got = stub_wait_notif(mm_idp, req);
		if (got < 0)
			return got;
		if (got != nr && req->data.args[0] !=
		    (got == STUB_REPORT_NR ? mm_idp->report_seq :
					     mm_idp->batch_seq))
			return -EPERM;
	} while (got != nr);

	return 0;
}

/*
 * Have the syscall thread run the queued syscalls, while the guest thread
 * stays parked in its report. Before, turn each mmap that the guest page
 * table no longer allows into an munmap: another vCPU may have changed a
 * page since it was queued, and any later change waits for the stub to be
 * parked again (see um_tlb_shootdown()). Returns 0 once every call ran,
 * -EIO with the host's error in stub_data->err if one failed.
 */
static int stub_run_batch(struct mm_id *mm_idp)
{
	struct stub_data *data = (void *)mm_idp->stack;
	int len = mm_idp->syscall_data_len;
	struct seccomp_notif req;
	unsigned long seq;
	int err;

	err = stub_batch_check(mm_idp, mm_idp->syscall_data, len);
	if (err)
		return err;

	memcpy(data->syscall_data, mm_idp->syscall_data,
	       len * sizeof(data->syscall_data[0]));
	seq = (mm_idp->batch_seq + 1) & STUB_BATCH_SEQ_MASK;
	mm_idp->batch_seq = seq;

	/*
	 * As with reports, a host stop, freeze or ptrace attach can make the
	 * syscall thread ask again without having run the batch, and it then
	 * passes the sequence number of the previous one: answer it again.
	 * The parked guest thread can likewise repeat its report.
	 */
	do {
		stub_notif_reply(mm_idp, mm_idp->batch_id,
				 (seq << STUB_BATCH_LEN_BITS) | len, 0, 0);
		err = stub_wait_thread(mm_idp, STUB_BATCH_NR, &req);
		if (err)
			return err;
	} while (req.data.args[0] != seq);

	mm_idp->syscall_done = req.data.args[1];
	if (mm_idp->syscall_done == len)
		return 0;

	data->err = req.data.args[2] ? : -EIO;
	return -EIO;
}

/*
 * Answer the parked report with @cmd and wait for the next one. A host
 * stop, freeze or ptrace attach can interrupt the parked report so that
 * the stub restarts it without having seen the answer, even when the host
 * accepted the answer. The stub could not run anything since, and its
 * restarted report passes the report_seq of the report it repeats, not the
 * one written with the answer: answer it the same way. Taking it for a new
 * report would run the guest's syscall twice. A guest that passes an old
 * report_seq itself only resumes from its old frame, and the watchdog
 * counts the repeats as running time.
 */
static int stub_answer_report(struct mm_id *mm_idp, long cmd)
{
	struct seccomp_notif req;
	int err;

	do {
		stub_notif_reply(mm_idp, mm_idp->report_id, cmd, 0, 0);
		err = stub_wait_thread(mm_idp, STUB_REPORT_NR, &req);
	} while (!err && req.data.args[0] != mm_idp->report_seq);

	if (!err)
		__atomic_store_n(&mm_idp->parked, 1, __ATOMIC_SEQ_CST);
	return err;
}

/*
 * Kill a stub that is not parked, so that it neither runs on nor keeps its
 * host mappings while a shootdown waits for it (which it does until the
 * SIGCHLD handler has reaped the stub). parked is -1 from now on: nothing
 * is answered any more, and the reaping is not "unexpected".
 */
static void stub_kill(struct mm_id *mm_idp)
{
	int pid = __READ_ONCE(mm_idp->pid);

	__atomic_store_n(&mm_idp->parked, -1, __ATOMIC_SEQ_CST);
	if (pid > 0)
		kill(pid, SIGKILL);
}

/**
 * seccomp_stub_run() - let the parked stub run and wait for its next report
 * @mm_idp: the stub
 * @cmd: STUB_CMD_RESUME to return to the guest after the queued syscalls,
 *	 STUB_CMD_REPORT to only run them and keep the guest thread parked
 *
 * Return: 0 once the stub is parked again having done every queued syscall,
 * -EIO if one of them failed, -ESRCH if it died, -EPERM if it misbehaved,
 * -EAGAIN without running it if a shootdown asks for a sync before it may
 * run guest code.
 */
int seccomp_stub_run(struct mm_id *mm_idp, int cmd)
{
	struct stub_data *data = (void *)mm_idp->stack;
	int len = mm_idp->syscall_data_len;
	int pid = mm_idp->pid;
	int err = 0;

	if (mm_idp->parked != 1)
		return -ESRCH;

	/* A flush of a full batch failed earlier: the host mappings are unknown */
	if (len < 0)
		return -EIO;

	/*
	 * Once parked is clear, um_tlb_shootdown() on another vCPU stops the
	 * stub and waits for it; before, it leaves the sync to us. Each sees
	 * the other's store, or we see its flag: sync again first.
	 */
	__atomic_store_n(&mm_idp->parked, 0, __ATOMIC_SEQ_CST);
	if (cmd == STUB_CMD_RESUME &&
	    __atomic_exchange_n(&mm_idp->shootdown, 0, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&mm_idp->parked, 1, __ATOMIC_SEQ_CST);
		return -EAGAIN;
	}

	mm_idp->syscall_done = 0;

	seccomp_watchdog_start(mm_idp);
	if (len)
		err = stub_run_batch(mm_idp);
	if (!err && cmd == STUB_CMD_RESUME) {
		data->resume_sp = stub_frame_resume_sp(&mm_idp->frame);
		data->report_seq = ++mm_idp->report_seq;
		err = stub_answer_report(mm_idp, cmd);
		/* Applied by the stub when it resumed, or the guest's loss */
		data->arch_data.sync = 0;
	}
	if (!seccomp_watchdog_stop(mm_idp, err) && err == -ESRCH)
		printk(UM_KERN_ERR "%s : stub pid %d died while it ran\n",
		       __func__, pid);

	/* A failed batch leaves the guest thread parked, its task is killed */
	if (err == -EIO)
		__atomic_store_n(&mm_idp->parked, 1, __ATOMIC_SEQ_CST);
	else if (err)
		stub_kill(mm_idp);
	else if (cmd != STUB_CMD_RESUME)
		__atomic_store_n(&mm_idp->parked, 1, __ATOMIC_SEQ_CST);

	return err;
}

/* Receive the one FD, and nothing else, that the stub sends over @sock */
static int stub_recv_fd(int sock)
{
	int fds[2] = { -1, -1 };
	ssize_t n;
	char byte;

	CATCH_EINTR(n = os_rcv_fd_msg(sock, fds, ARRAY_SIZE(fds), &byte, 1));
	if (n < 0)
		return n;

	if (n != 1 || fds[0] < 0 || fds[1] >= 0 ||
	    os_set_exec_close(fds[0]) < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -EPROTO;
	}

	return fds[0];
}

/* No guest code has run in the new stub yet: its frame is trustworthy */
static int stub_record_frame(struct mm_id *mm_idp)
{
	struct stub_data *data = (void *)mm_idp->stack;
	int err;

	if (data->signal != SIGSYS)
		return -EINVAL;

	err = stub_frame_layout(data, &mm_idp->frame);
	if (err)
		return err;

	if (mm_idp->frame.si_offset > sizeof(data->sigstack) - sizeof(siginfo_t))
		return -EINVAL;

	return 0;
}

/* Receive the listener the stub created and wait for its first report. */
static int seccomp_stub_attach(struct mm_id *mm_idp, int sock)
{
	bool reported = false, ready = false;
	struct seccomp_notif req;
	__u64 no_id = 0;
	int err;

	/*
	 * For the watchdog, which kills by pid. The stub is our child and is
	 * only reaped by the SIGCHLD handler, which marks it dead: if it is
	 * not marked after the read, what was read is the stub's.
	 */
	mm_idp->start_time = stub_start_time(mm_idp->pid);
	if (!mm_idp->start_time || __READ_ONCE(mm_idp->pid) < 0)
		return -ESRCH;

	/* No guest code has run in the stub yet: what it sends is ours */
	mm_idp->listener = stub_recv_fd(sock);
	if (mm_idp->listener < 0)
		return mm_idp->listener;

	/* A listener answers an unknown id with ENOENT, anything else not */
	if (ioctl(mm_idp->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &no_id) == 0 ||
	    errno != ENOENT)
		return -EBADF;

	if (seccomp_sync_wake_up &&
	    ioctl(mm_idp->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
		seccomp_sync_wake_up = 0;

	/* Its syscall thread asks for a first batch, with sequence number 0 */
	mm_idp->batch_seq = 0;
	do {
		err = stub_wait_notif(mm_idp, &req);
		if (err < 0)
			return err;
		if (err == STUB_REPORT_NR) {
			reported = true;
			continue;
		}
		if (req.data.args[0] || req.data.args[1])
			return -EPROTO;
		ready = true;
	} while (!reported || !ready);
	__atomic_store_n(&mm_idp->parked, 1, __ATOMIC_SEQ_CST);

	return stub_record_frame(mm_idp);
}

extern unsigned long current_stub_stack(void);

static void get_skas_faultinfo(int pid, struct faultinfo *fi)
{
	int err;

	err = ptrace(PTRACE_CONT, pid, 0, SIGSEGV);
	if (err) {
		printk(UM_KERN_ERR "Failed to continue stub, pid = %d, "
		       "errno = %d\n", pid, errno);
		fatal_sigsegv();
	}
	wait_stub_done(pid);

	/*
	 * faultinfo is prepared by the stub_segv_handler at start of
	 * the stub stack page. We just have to copy it.
	 */
	memcpy(fi, (void *)current_stub_stack(), sizeof(*fi));
}

static void handle_trap(struct uml_pt_regs *regs)
{
	if ((UPT_IP(regs) >= STUB_START) && (UPT_IP(regs) < STUB_END))
		fatal_sigsegv();

	handle_syscall(regs);
}

static int stub_exe_fd;

struct tramp_data {
	struct stub_data *stub_data;
	/* 0 is inherited, 1 is the kernel side */
	int sockpair[2];
};

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

static int userspace_tramp(void *data)
{
	struct tramp_data *tramp_data = data;
	char *const argv[] = { "uml-userspace", NULL };
	unsigned long long offset;
	struct stub_init_data init_data = {
		.seccomp = using_seccomp,
		.stub_start = STUB_START,
	};
	int ret;

	if (using_seccomp) {
		init_data.report_ip = stub_ip(stub_report_ip);
		init_data.signal_handler = stub_ip(stub_signal_interrupt);
		init_data.signal_restorer = stub_ip(stub_signal_restorer);
		init_data.syscall_thread = stub_ip(stub_syscall_thread);
	} else {
		init_data.signal_handler = STUB_CODE +
					   (unsigned long) stub_segv_handler -
					   (unsigned long) __syscall_stub_start;
		init_data.signal_restorer = 0;
	}

	init_data.stub_code_fd = phys_mapping(uml_to_phys(__syscall_stub_start),
					      &offset);
	init_data.stub_code_offset = MMAP_OFFSET(offset);

	init_data.stub_data_fd = phys_mapping(uml_to_phys(tramp_data->stub_data),
					      &offset);
	init_data.stub_data_offset = MMAP_OFFSET(offset);

	/*
	 * Avoid leaking unneeded FDs to the stub by setting CLOEXEC on all FDs
	 * and then unsetting it on all memory related FDs.
	 * This is not strictly necessary from a safety perspective.
	 */
	syscall(__NR_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC);

	/* dup2 signaling FD/socket to STDIN */
	if (dup2(tramp_data->sockpair[0], 0) < 0)
		exit(3);
	close(tramp_data->sockpair[0]);

	if (using_seccomp) {
		/*
		 * The stub keeps the memory FD for all its mmap calls, so it
		 * never needs to be passed over the socket.
		 */
		if (init_data.stub_data_fd != init_data.stub_code_fd ||
		    dup2(init_data.stub_data_fd, STUB_MEM_FD) < 0)
			exit(6);
		init_data.stub_code_fd = STUB_MEM_FD;
		init_data.stub_data_fd = STUB_MEM_FD;
	} else {
		fcntl(init_data.stub_data_fd, F_SETFD, 0);
	}

	/* Write init_data and close write side */
	ret = write(tramp_data->sockpair[1], &init_data, sizeof(init_data));
	close(tramp_data->sockpair[1]);

	if (ret != sizeof(init_data))
		exit(4);

	/* Raw execveat for compatibility with older libc versions */
	syscall(__NR_execveat, stub_exe_fd, (unsigned long)"",
		(unsigned long)argv, NULL, AT_EMPTY_PATH);

	exit(5);
}

extern char stub_exe_start[];
extern char stub_exe_end[];

extern char *tempdir;

#define STUB_EXE_NAME_TEMPLATE "/uml-userspace-XXXXXX"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

static int __init init_stub_exe_fd(void)
{
	size_t written = 0;
	char *tmpfile = NULL;

	stub_exe_fd = memfd_create("uml-userspace",
				   MFD_EXEC | MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (stub_exe_fd < 0) {
		printk(UM_KERN_INFO "Could not create executable memfd, using temporary file!");

		tmpfile = malloc(strlen(tempdir) +
				  strlen(STUB_EXE_NAME_TEMPLATE) + 1);
		if (tmpfile == NULL)
			panic("Failed to allocate memory for stub binary name");

		strcpy(tmpfile, tempdir);
		strcat(tmpfile, STUB_EXE_NAME_TEMPLATE);

		stub_exe_fd = mkstemp(tmpfile);
		if (stub_exe_fd < 0)
			panic("Could not create temporary file for stub binary: %d",
			      -errno);
	}

	while (written < stub_exe_end - stub_exe_start) {
		ssize_t res = write(stub_exe_fd, stub_exe_start + written,
				    stub_exe_end - stub_exe_start - written);
		if (res < 0) {
			if (errno == EINTR)
				continue;

			if (tmpfile)
				unlink(tmpfile);
			panic("Failed write stub binary: %d", -errno);
		}

		written += res;
	}

	if (!tmpfile) {
		fcntl(stub_exe_fd, F_ADD_SEALS,
		      F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	} else {
		if (fchmod(stub_exe_fd, 00500) < 0) {
			unlink(tmpfile);
			panic("Could not make stub binary executable: %d",
			      -errno);
		}

		close(stub_exe_fd);
		stub_exe_fd = open(tmpfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (stub_exe_fd < 0) {
			unlink(tmpfile);
			panic("Could not reopen stub binary: %d", -errno);
		}

		unlink(tmpfile);
		free(tmpfile);
	}

	return 0;
}
__initcall(init_stub_exe_fd);

int using_seccomp;

void seccomp_stub_release(struct mm_id *mm_id)
{
	if (mm_id->listener >= 0)
		close(mm_id->listener);
	mm_id->listener = -1;
	mm_id->parked = 0;
}

/**
 * start_userspace() - prepare a new userspace process
 * @mm_id: The corresponding struct mm_id
 *
 * Setups a new temporary stack page that is used while userspace_tramp() runs
 * Clones the kernel process into a new userspace process, with FDs only.
 *
 * Return: When positive: the process id of the new userspace process,
 *         when negative: an error number.
 * FIXME: can PIDs become negative?!
 */
int start_userspace(struct mm_id *mm_id)
{
	struct stub_data *proc_data = (void *)mm_id->stack;
	struct tramp_data tramp_data = {
		.stub_data = proc_data,
	};
	void *stack;
	unsigned long sp;
	int status, n, err;

	/* setup a temporary stack page */
	stack = mmap(NULL, UM_KERN_PAGE_SIZE,
		     PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED) {
		err = -errno;
		printk(UM_KERN_ERR "%s : mmap failed, errno = %d\n",
		       __func__, errno);
		return err;
	}

	/* set stack pointer to the end of the stack page, so it can grow downwards */
	sp = (unsigned long)stack + UM_KERN_PAGE_SIZE;

	/* The mm_id was copied from the parent's: forget its stub */
	mm_id->listener = -1;
	mm_id->parked = 0;
	mm_id->report_seq = 0;

	/* socket pair for init data and the listener (no CLOEXEC here) */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, tramp_data.sockpair)) {
		err = -errno;
		printk(UM_KERN_ERR "%s : socketpair failed, errno = %d\n",
		       __func__, errno);
		goto out_stack;
	}

	mm_id->pid = clone(userspace_tramp, (void *) sp,
		    CLONE_VFORK | CLONE_VM | SIGCHLD,
		    (void *)&tramp_data);
	if (mm_id->pid < 0) {
		err = -errno;
		printk(UM_KERN_ERR "%s : clone failed, errno = %d\n",
		       __func__, errno);
		goto out_close;
	}

	if (using_seccomp) {
		err = seccomp_stub_attach(mm_id, tramp_data.sockpair[1]);
		if (err) {
			printk(UM_KERN_ERR "%s : no working seccomp listener for the stub, errno = %d\n",
			       __func__, -err);
			goto out_kill;
		}
	} else {
		do {
			CATCH_EINTR(n = waitpid(mm_id->pid, &status,
						WUNTRACED | __WALL));
			if (n < 0) {
				err = -errno;
				printk(UM_KERN_ERR "%s : wait failed, errno = %d\n",
				       __func__, errno);
				goto out_kill;
			}
		} while (WIFSTOPPED(status) && (WSTOPSIG(status) == SIGALRM));

		if (!WIFSTOPPED(status) || (WSTOPSIG(status) != SIGSTOP)) {
			err = -EINVAL;
			printk(UM_KERN_ERR "%s : expected SIGSTOP, got status = %d\n",
			       __func__, status);
			goto out_kill;
		}

		if (ptrace(PTRACE_SETOPTIONS, mm_id->pid, NULL,
			   (void *) PTRACE_O_TRACESYSGOOD) < 0) {
			err = -errno;
			printk(UM_KERN_ERR "%s : PTRACE_SETOPTIONS failed, errno = %d\n",
			       __func__, errno);
			goto out_kill;
		}
	}

	if (munmap(stack, UM_KERN_PAGE_SIZE) < 0) {
		err = -errno;
		printk(UM_KERN_ERR "%s : munmap failed, errno = %d\n",
		       __func__, errno);
		goto out_kill;
	}

	/* Only the start-up handshake uses the socket */
	close(tramp_data.sockpair[0]);
	close(tramp_data.sockpair[1]);

	return 0;

out_kill:
	os_kill_ptraced_process(mm_id->pid, 1);
out_close:
	close(tramp_data.sockpair[0]);
	close(tramp_data.sockpair[1]);
out_stack:
	munmap(stack, UM_KERN_PAGE_SIZE);
	seccomp_stub_release(mm_id);

	mm_id->pid = -1;

	return err;
}

static int unscheduled_userspace_iterations;
extern unsigned long tt_extra_sched_jiffies;

void userspace(struct uml_pt_regs *regs)
{
	int err, status, op;
	siginfo_t si_local;
	siginfo_t *si;
	int sig;

	/* Handle any immediate reschedules or signals */
	interrupt_end();

	while (1) {
		struct mm_id *mm_id = current_mm_id();

		/*
		 * At any given time, only one CPU thread can enter the
		 * turnstile to operate on the same stub process, including
		 * executing stub system calls (mmap and munmap).
		 */
		enter_turnstile(mm_id);

		/*
		 * When we are in time-travel mode, userspace can theoretically
		 * do a *lot* of work without being scheduled. The problem with
		 * this is that it will prevent kernel bookkeeping (primarily
		 * the RCU) from running and this can for example cause OOM
		 * situations.
		 *
		 * This code accounts a jiffie against the scheduling clock
		 * after the defined userspace iterations in the same thread.
		 * By doing so the situation is effectively prevented.
		 */
		if (time_travel_mode == TT_MODE_INFCPU ||
		    time_travel_mode == TT_MODE_EXTERNAL) {
#ifdef CONFIG_UML_MAX_USERSPACE_ITERATIONS
			if (CONFIG_UML_MAX_USERSPACE_ITERATIONS &&
			    unscheduled_userspace_iterations++ >
			    CONFIG_UML_MAX_USERSPACE_ITERATIONS) {
				tt_extra_sched_jiffies += 1;
				unscheduled_userspace_iterations = 0;
			}
#endif
		}

		time_travel_print_bc_msg();

		current_mm_sync();

		if (using_seccomp) {
			struct stub_data *proc_data = (void *) mm_id->stack;
			struct stub_frame *frame = &mm_id->frame;

			err = set_stub_state(regs, proc_data, frame,
					     singlestepping());
			if (err) {
				printk(UM_KERN_ERR "%s - failed to set regs: %d",
				       __func__, err);
				fatal_sigsegv();
			}

			while ((err = seccomp_stub_run(mm_id,
						      STUB_CMD_RESUME)) == -EAGAIN)
				current_mm_sync();
			if (err) {
				long stub_err = __READ_ONCE(proc_data->err);

				if (err == -EIO) {
					printk(UM_KERN_ERR "%s - stub did not complete its queued syscalls, killing pid %d\n",
					       __func__, mm_id->pid);
					syscall_stub_dump_error(mm_id,
								mm_id->syscall_done,
								stub_err);
					if (stub_err == -ENOMEM)
						report_enomem();
				}
				mm_id->syscall_data_len = err;
				fatal_sigsegv();
			}

			mm_id->syscall_data_len = 0;

			/*
			 * The guest can write stub_data at any time: read the
			 * signal once, take the frame from where the first
			 * report put it and copy siginfo before using it.
			 */
			sig = __READ_ONCE(proc_data->signal);

			err = get_stub_state(regs, proc_data, frame, NULL);
			if (err) {
				printk(UM_KERN_ERR "%s - failed to get regs: %d",
				       __func__, err);
				fatal_sigsegv();
			}

			si = &si_local;
			memcpy(si, &proc_data->sigstack[frame->si_offset],
			       sizeof(*si));

			regs->is_user = 1;

			/* Fill in ORIG_RAX and extract fault information */
			PT_SYSCALL_NR(regs->gp) = si->si_syscall;
			if (sig == SIGSEGV) {
				mcontext_t *mcontext;

				mcontext = (void *)&proc_data->sigstack[frame->mctx_offset];
				GET_FAULTINFO_FROM_MC(regs->faultinfo, mcontext);
			}
		} else {
			int pid = mm_id->pid;

			/* Flush out any pending syscalls */
			err = syscall_stub_flush(mm_id);
			if (err) {
				if (err == -ENOMEM)
					report_enomem();

				printk(UM_KERN_ERR "%s - Error flushing stub syscalls: %d",
					__func__, -err);
				fatal_sigsegv();
			}

			/*
			 * This can legitimately fail if the process loads a
			 * bogus value into a segment register.  It will
			 * segfault and PTRACE_GETREGS will read that value
			 * out of the process.  However, PTRACE_SETREGS will
			 * fail.  In this case, there is nothing to do but
			 * just kill the process.
			 */
			if (ptrace(PTRACE_SETREGS, pid, 0, regs->gp)) {
				printk(UM_KERN_ERR "%s - ptrace set regs failed, errno = %d\n",
				       __func__, errno);
				fatal_sigsegv();
			}

			if (put_fp_registers(pid, regs->fp)) {
				printk(UM_KERN_ERR "%s - ptrace set fp regs failed, errno = %d\n",
				       __func__, errno);
				fatal_sigsegv();
			}

			if (singlestepping())
				op = PTRACE_SYSEMU_SINGLESTEP;
			else
				op = PTRACE_SYSEMU;

			if (ptrace(op, pid, 0, 0)) {
				printk(UM_KERN_ERR "%s - ptrace continue failed, op = %d, errno = %d\n",
				       __func__, op, errno);
				fatal_sigsegv();
			}

			CATCH_EINTR(err = waitpid(pid, &status, WUNTRACED | __WALL));
			if (err < 0) {
				printk(UM_KERN_ERR "%s - wait failed, errno = %d\n",
				       __func__, errno);
				fatal_sigsegv();
			}

			regs->is_user = 1;
			if (ptrace(PTRACE_GETREGS, pid, 0, regs->gp)) {
				printk(UM_KERN_ERR "%s - PTRACE_GETREGS failed, errno = %d\n",
				       __func__, errno);
				fatal_sigsegv();
			}

			if (get_fp_registers(pid, regs->fp)) {
				printk(UM_KERN_ERR "%s -  get_fp_registers failed, errno = %d\n",
				       __func__, errno);
				fatal_sigsegv();
			}

			if (WIFSTOPPED(status)) {
				sig = WSTOPSIG(status);

				/*
				 * These signal handlers need the si argument
				 * and SIGSEGV needs the faultinfo.
				 * The SIGIO and SIGALARM handlers which constitute
				 * the majority of invocations, do not use it.
				 */
				switch (sig) {
				case SIGSEGV:
					get_skas_faultinfo(pid,
							   &regs->faultinfo);
					fallthrough;
				case SIGTRAP:
				case SIGILL:
				case SIGBUS:
				case SIGFPE:
				case SIGWINCH:
					ptrace(PTRACE_GETSIGINFO, pid, 0,
					       (struct siginfo *)&si_local);
					si = &si_local;
					break;
				default:
					si = NULL;
					break;
				}
			} else {
				sig = 0;
			}
		}

		exit_turnstile(mm_id);

		UPT_SYSCALL_NR(regs) = -1; /* Assume: It's not a syscall */

		if (sig) {
			switch (sig) {
			case SIGSEGV:
				if (using_seccomp || PTRACE_FULL_FAULTINFO)
					(*sig_info[SIGSEGV])(SIGSEGV,
							     (struct siginfo *)si,
							     regs, NULL);
				else
					segv(regs->faultinfo, 0, 1, NULL, NULL);

				break;
			case SIGSYS:
				handle_syscall(regs);
				break;
			case SIGTRAP + 0x80:
				handle_trap(regs);
				break;
			case SIGTRAP:
				relay_signal(SIGTRAP, (struct siginfo *)si, regs, NULL);
				break;
			case SIGALRM:
				break;
			case SIGIO:
			case SIGILL:
			case SIGBUS:
			case SIGFPE:
			case SIGWINCH:
				block_signals_trace();
				(*sig_info[sig])(sig, (struct siginfo *)si, regs, NULL);
				unblock_signals_trace();
				break;
			default:
				printk(UM_KERN_ERR "%s - child stopped with signal %d\n",
				       __func__, sig);
				fatal_sigsegv();
			}
			interrupt_end();

			/* Avoid -ERESTARTSYS handling in host */
			if (PT_SYSCALL_NR_OFFSET != PT_SYSCALL_RET_OFFSET)
				PT_SYSCALL_NR(regs->gp) = -1;
		}
	}
}

void new_thread(void *stack, jmp_buf *buf, void (*handler)(void))
{
	(*buf)[0].JB_IP = (unsigned long) handler;
	(*buf)[0].JB_SP = (unsigned long) stack + UM_THREAD_SIZE -
		sizeof(void *);
}

#define INIT_JMP_NEW_THREAD 0
#define INIT_JMP_CALLBACK 1
#define INIT_JMP_HALT 2
#define INIT_JMP_REBOOT 3

void switch_threads(jmp_buf *me, jmp_buf *you)
{
	unscheduled_userspace_iterations = 0;

	if (UML_SETJMP(me) == 0)
		UML_LONGJMP(you, 1);
}

static jmp_buf initial_jmpbuf;

static __thread void (*cb_proc)(void *arg);
static __thread void *cb_arg;
static __thread jmp_buf *cb_back;

int start_idle_thread(void *stack, jmp_buf *switch_buf)
{
	int n;

	set_handler(SIGWINCH);

	/*
	 * Can't use UML_SETJMP or UML_LONGJMP here because they save
	 * and restore signals, with the possible side-effect of
	 * trying to handle any signals which came when they were
	 * blocked, which can't be done on this stack.
	 * Signals must be blocked when jumping back here and restored
	 * after returning to the jumper.
	 */
	n = setjmp(initial_jmpbuf);
	switch (n) {
	case INIT_JMP_NEW_THREAD:
		(*switch_buf)[0].JB_IP = (unsigned long) uml_finishsetup;
		(*switch_buf)[0].JB_SP = (unsigned long) stack +
			UM_THREAD_SIZE - sizeof(void *);
		break;
	case INIT_JMP_CALLBACK:
		(*cb_proc)(cb_arg);
		longjmp(*cb_back, 1);
		break;
	case INIT_JMP_HALT:
		kmalloc_ok = 0;
		return 0;
	case INIT_JMP_REBOOT:
		kmalloc_ok = 0;
		return 1;
	default:
		printk(UM_KERN_ERR "Bad sigsetjmp return in %s - %d\n",
		       __func__, n);
		fatal_sigsegv();
	}
	longjmp(*switch_buf, 1);

	/* unreachable */
	printk(UM_KERN_ERR "impossible long jump!");
	fatal_sigsegv();
	return 0;
}

void initial_thread_cb_skas(void (*proc)(void *), void *arg)
{
	jmp_buf here;

	cb_proc = proc;
	cb_arg = arg;
	cb_back = &here;

	initial_jmpbuf_lock();
	if (UML_SETJMP(&here) == 0)
		UML_LONGJMP(&initial_jmpbuf, INIT_JMP_CALLBACK);
	initial_jmpbuf_unlock();

	cb_proc = NULL;
	cb_arg = NULL;
	cb_back = NULL;
}

void halt_skas(void)
{
	initial_jmpbuf_lock();
	UML_LONGJMP(&initial_jmpbuf, INIT_JMP_HALT);
	/* unreachable */
}

static bool noreboot;

static int __init noreboot_cmd_param(char *str, int *add)
{
	*add = 0;
	noreboot = true;
	return 0;
}

__uml_setup("noreboot", noreboot_cmd_param,
"noreboot\n"
"    Rather than rebooting, exit always, akin to QEMU's -no-reboot option.\n"
"    This is useful if you're using CONFIG_PANIC_TIMEOUT in order to catch\n"
"    crashes in CI\n\n");

void reboot_skas(void)
{
	initial_jmpbuf_lock();
	UML_LONGJMP(&initial_jmpbuf, noreboot ? INIT_JMP_HALT : INIT_JMP_REBOOT);
	/* unreachable */
}
