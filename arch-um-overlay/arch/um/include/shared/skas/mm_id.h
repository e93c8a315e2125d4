/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2005 Jeff Dike (jdike@karaya.com)
 */

#ifndef __MM_ID_H
#define __MM_ID_H

#include <linux/compiler_types.h>

struct stub_syscall;

/*
 * Where the host placed the stub's signal frame inside stub_data->sigstack.
 * Recorded from the stub's first report, before any guest code ran in it,
 * and never re-read from the shared page afterwards.
 */
struct stub_frame {
	unsigned short si_offset;
	unsigned short mctx_offset;
	unsigned short fp_offset;
	unsigned short fp_size;
};

struct mm_id {
	int pid;
	unsigned long stack;
	int syscall_data_len;
	/* Monitor-private copy of the queued stub syscalls */
	struct stub_syscall *syscall_data;

	/* Only used with SECCOMP mode */
	int listener;
	/* Of the stub process, which the watchdog checks before it kills */
	unsigned long long start_time;
	/* The stub waits in the report notification report_id */
	int parked;
	/* Set by um_tlb_shootdown(): sync before the stub runs guest code */
	int shootdown;
	unsigned long long report_id;
	/* Written to stub_data with the last answer to a report */
	unsigned long report_seq;
	/* Calls of the last batch the syscall thread ran without error */
	int syscall_done;
	/* The syscall thread waits for a batch in notification batch_id */
	unsigned long long batch_id;
	/* Passed to the syscall thread with its last batch */
	unsigned long batch_seq;
	struct stub_frame frame;
};

struct mutex *__get_turnstile(struct mm_id *mm_id);
void enter_turnstile(struct mm_id *mm_id) __acquires(__get_turnstile(mm_id));
void exit_turnstile(struct mm_id *mm_id) __releases(__get_turnstile(mm_id));
void release_turnstile(void);

void notify_mm_kill(int pid);

#endif
