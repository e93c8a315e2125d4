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
 * In SECCOMP mode the stub reports to the monitor with this syscall, issued
 * from one fixed instruction (stub_report_ip). The filter turns it into a
 * SECCOMP_RET_USER_NOTIF notification and the monitor replies with one of the
 * STUB_CMD_* values below; the syscall itself never runs.
 */
#define STUB_REPORT_NR		__NR_sched_yield
#define STUB_CMD_RESUME		0x5ec1
#define STUB_CMD_REPORT		0x5ec2

extern char stub_report_ip[];

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
	long err;

	int syscall_data_len;
	/* 128 leaves enough room for additional fields in the struct */
	struct stub_syscall syscall_data[(UM_KERN_PAGE_SIZE - 128) / sizeof(struct stub_syscall)] __aligned(16);

	/*
	 * Data shared with the signal handler (only used in seccomp mode).
	 * The guest can write all of it at any time: the monitor reads each
	 * field once and checks it. resume_sp and report_seq are written by
	 * the monitor before every reply; the stub reads resume_sp right after
	 * it and passes report_seq back with its next report.
	 */
	int signal;
	unsigned short si_offset;
	unsigned short mctx_offset;
	unsigned long resume_sp;
	unsigned long report_seq;

	/* seccomp architecture specific state restore */
	struct stub_data_arch arch_data;

	/* Stack for our signal handlers and for calling into . */
	unsigned char sigstack[UM_KERN_PAGE_SIZE] __aligned(UM_KERN_PAGE_SIZE);
};

#endif
