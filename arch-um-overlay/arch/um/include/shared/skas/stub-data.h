/* SPDX-License-Identifier: GPL-2.0 */
/*

 * Copyright (C) 2015 Thomas Meyer (thomas@m3y3r.de)
 * Copyright (C) 2005 Jeff Dike (jdike@karaya.com)
 */

#ifndef __STUB_DATA_H
#define __STUB_DATA_H

#include <linux/compiler_types.h>
#include <as-layout.h>
#include <sysdep/tls.h>
#include <sysdep/stub-data.h>
#include <mm_id.h>

/*
 * In SECCOMP mode the stub reports to the monitor with this syscall. The
 * filter that comes with the stub's seccomp listener turns it into a
 * SECCOMP_RET_USER_NOTIF notification, so the syscall itself never runs.
 */
#define STUB_REPORT_NR		__NR_sched_yield

/*
 * The monitor's answers to a report, which the stub issues from
 * stub_report_ip only. sched_yield never returns these values, so a
 * report the filter let through by mistake is not taken for a command.
 */
#define STUB_CMD_RESUME		0x5ec1
#define STUB_CMD_REPORT		0x5ec2

/*
 * The stub's syscall thread runs the queued mmap and munmap calls, which
 * the guest thread may not issue at all. It asks for a batch with this
 * syscall, from stub_batch_ip, which likewise only ever notifies: its
 * arguments are the sequence number of the batch it ran, how many of the
 * calls succeeded and the result of the one that failed. The monitor's
 * reply packs the next sequence number and the length of the next batch.
 */
#define STUB_BATCH_NR		__NR_getppid
#define STUB_BATCH_LEN_BITS	16
#define STUB_BATCH_LEN_MASK	((1 << STUB_BATCH_LEN_BITS) - 1)
#define STUB_BATCH_SEQ_MASK	0x7fffffffUL

extern char stub_report_ip[];
extern char stub_batch_ip[];

/* Descriptors of the stub process in SECCOMP mode */
#define STUB_MEM_FD		1	/* physical memory, kept for mmap */

struct stub_init_data {
	int seccomp;
	unsigned long report_ip;

	unsigned long stub_start;

	int stub_code_fd;
	unsigned long stub_code_offset;
	int stub_data_fd;
	unsigned long stub_data_offset;

	unsigned long signal_handler;
	unsigned long signal_restorer;
	unsigned long syscall_thread;
};

#define STUB_NEXT_SYSCALL(s) \
	((struct stub_syscall *) (((unsigned long) s) + (s)->cmd_len))

enum stub_syscall_type {
	STUB_SYSCALL_UNSET = 0,
	STUB_SYSCALL_MMAP,
	STUB_SYSCALL_MUNMAP,
};

struct stub_syscall {
	struct {
		unsigned long addr;
		unsigned long length;
		unsigned long offset;
		int fd;
		int prot;
	} mem;

	enum stub_syscall_type syscall;
};

struct stub_data {
	/*
	 * The first page is written by the monitor only. SECCOMP stubs map
	 * it read-only, so the queued syscalls, resume_sp, report_seq and
	 * the arch state are what the monitor wrote, whatever the guest does.
	 */
	long err;

	int syscall_data_len;
	/* 128 leaves enough room for additional fields in the struct */
	struct stub_syscall syscall_data[(UM_KERN_PAGE_SIZE - 128) / sizeof(struct stub_syscall)] __aligned(16);

	/*
	 * Written by the monitor before every reply to a report: the stub
	 * reads resume_sp right after it and passes report_seq back with its
	 * next report.
	 */
	unsigned long resume_sp;
	unsigned long report_seq;

	/* seccomp architecture specific state restore */
	struct stub_data_arch arch_data;

	/*
	 * Written by the stub's signal handler (only used in seccomp mode).
	 * The guest can write these at any time: the monitor reads each
	 * field once and checks it.
	 */
	int signal __aligned(UM_KERN_PAGE_SIZE);
	unsigned short si_offset;
	unsigned short mctx_offset;

	/* Stack for our signal handlers and for calling into . */
	unsigned char sigstack[UM_KERN_PAGE_SIZE - 8] __aligned(8);
};

#endif
