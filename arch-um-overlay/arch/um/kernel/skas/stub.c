// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2021 Benjamin Berg <benjamin@sipsolutions.net>
 */

#include <sysdep/stub.h>
#include <stub-data.h>

#include <sys/socket.h>
#include <errno.h>
#include <linux/seccomp.h>

/*
 * Security model (SECCOMP mode)
 *
 * Guest userspace can jump into this page and issue any syscall the filter
 * in stub_exe.c lets through, with any arguments, and it can write the
 * second page of struct stub_data at any time. The design therefore never
 * relies on the guest thread of the stub behaving:
 *  - the stub reports to the monitor with a syscall that the filter turns
 *    into a seccomp notification, and only from stub_report_ip; while the
 *    monitor handles a report the guest thread is parked in the host
 *    kernel and cannot change its memory,
 *  - after a report the stub only uses the monitor's reply and what the
 *    monitor wrote to the first page of stub_data, which the stub maps
 *    read-only, so a jump to the report with forged registers ends in the
 *    same rt_sigreturn of the monitor's frame, which also resets the
 *    signal mask and stack,
 *  - the guest thread may not call mmap or munmap at all. A second thread,
 *    started before any guest code runs, has a filter of its own and runs
 *    only the batches the monitor writes to that read-only page,
 *  - a stub that stops reporting is killed by the monitor's watchdog.
 * What remains open is listed in Documentation/virt/uml/.
 */
static __always_inline int syscall_handler(void)
{
	struct stub_data *d = get_stub_data();
	int i;
	unsigned long res;

	for (i = 0; i < d->syscall_data_len; i++) {
		struct stub_syscall *sc = &d->syscall_data[i];

		switch (sc->syscall) {
		case STUB_SYSCALL_MMAP:
			res = stub_syscall6(STUB_MMAP_NR,
					    sc->mem.addr, sc->mem.length,
					    sc->mem.prot,
					    MAP_SHARED | MAP_FIXED,
					    sc->mem.fd, sc->mem.offset);
			if (res != sc->mem.addr) {
				d->err = res;
				d->syscall_data_len = i;
				return -1;
			}
			break;
		case STUB_SYSCALL_MUNMAP:
			res = stub_syscall2(__NR_munmap,
					    sc->mem.addr, sc->mem.length);
			if (res) {
				d->err = res;
				d->syscall_data_len = i;
				return -1;
			}
			break;
		default:
			d->err = -95; /* EOPNOTSUPP */
			d->syscall_data_len = i;
			return -1;
		}
	}

	d->err = 0;
	d->syscall_data_len = 0;

	return 0;
}

void __section(".__syscall_stub")
stub_syscall_handler(void)
{
	syscall_handler();

	trap_myself();
}

/*
 * Called right after each report with the monitor's reply, on the signal
 * stack below the frame the stub resumes from. Returns 0 to resume the
 * guest with the monitor's frame.
 */
int __section(".__syscall_stub") __used noinline
stub_after_report(long cmd)
{
	struct stub_data *d = get_stub_data();

	if (cmd != STUB_CMD_RESUME) {
		/* No monitor: not permitted by the filter, kills the stub */
		stub_syscall1(__NR_exit_group, 1);
		return 1;
	}

	/* Restore arch dependent state that is not part of the mcontext */
	stub_seccomp_restore_state(&d->arch_data);
	return 0;
}

/* The monitor finds both threads' notifications by these addresses */
asm(".globl stub_report_ip\n\t.globl stub_batch_ip");

/* The syscall thread of a SECCOMP stub, started by stub_exe.c */
void __section(".__syscall_stub") __noreturn __attribute__((naked))
stub_syscall_thread(void)
{
	stub_syscall_thread_loop();
}

void __section(".__syscall_stub") __noreturn
stub_signal_interrupt(int sig, siginfo_t *info, void *p)
{
	struct stub_data *d = get_stub_data();
	ucontext_t *uc = p;

	d->signal = sig;
	d->si_offset = (unsigned long)info - (unsigned long)&d->sigstack[0];
	d->mctx_offset = (unsigned long)&uc->uc_mcontext - (unsigned long)&d->sigstack[0];

	stub_report_loop();
	__builtin_unreachable();
}

void __section(".__syscall_stub")
stub_signal_restorer(void)
{
	/* We must not have anything on the stack when doing rt_sigreturn */
	stub_syscall0(__NR_rt_sigreturn);
}
