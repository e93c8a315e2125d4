/*
 * Copyright (C) 2004 Jeff Dike (jdike@addtoit.com)
 * Licensed under the GPL
 */

#ifndef __SYSDEP_STUB_H
#define __SYSDEP_STUB_H

#include <stddef.h>
#include <sysdep/ptrace_user.h>
#include <generated/asm-offsets.h>
#include <linux/stddef.h>
#include <asm/prctl.h>

#define STUB_MMAP_NR __NR_mmap
#define MMAP_OFFSET(o) (o)

#define __syscall_clobber "r11","rcx","memory"
#define __syscall "syscall"

static __always_inline long stub_syscall0(long syscall)
{
	long ret;

	__asm__ volatile (__syscall
		: "=a" (ret)
		: "0" (syscall) : __syscall_clobber );

	return ret;
}

static __always_inline long stub_syscall1(long syscall, long arg1)
{
	long ret;

	__asm__ volatile (__syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1) : __syscall_clobber );

	return ret;
}

static __always_inline long stub_syscall2(long syscall, long arg1, long arg2)
{
	long ret;

	__asm__ volatile (__syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1), "S" (arg2) : __syscall_clobber );

	return ret;
}

static __always_inline long stub_syscall3(long syscall, long arg1, long arg2,
					  long arg3)
{
	long ret;

	__asm__ volatile (__syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1), "S" (arg2), "d" (arg3)
		: __syscall_clobber );

	return ret;
}

static __always_inline long stub_syscall4(long syscall, long arg1, long arg2, long arg3,
				 long arg4)
{
	long ret;

	__asm__ volatile ("movq %5,%%r10 ; " __syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1), "S" (arg2), "d" (arg3),
		  "g" (arg4)
		: __syscall_clobber, "r10" );

	return ret;
}

static __always_inline long stub_syscall5(long syscall, long arg1, long arg2,
					  long arg3, long arg4, long arg5)
{
	long ret;

	__asm__ volatile ("movq %5,%%r10 ; movq %6,%%r8 ; " __syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1), "S" (arg2), "d" (arg3),
		  "g" (arg4), "g" (arg5)
		: __syscall_clobber, "r10", "r8" );

	return ret;
}

static __always_inline long stub_syscall6(long syscall, long arg1, long arg2,
					  long arg3, long arg4, long arg5,
					  long arg6)
{
	long ret;

	__asm__ volatile ("movq %5,%%r10 ; movq %6,%%r8 ; movq %7,%%r9 ; "
		__syscall
		: "=a" (ret)
		: "0" (syscall), "D" (arg1), "S" (arg2), "d" (arg3),
		  "g" (arg4), "g" (arg5), "g" (arg6)
		: __syscall_clobber, "r10", "r8", "r9");

	return ret;
}

static __always_inline void trap_myself(void)
{
	__asm("int3");
}

static __always_inline void *get_stub_data(void)
{
	unsigned long ret;

	asm volatile (
		"lea 0(%%rip), %0;"
		"andq %1, %0 ;"
		"addq %2, %0 ;"
		: "=a" (ret)
		: "g" (~(UM_KERN_PAGE_SIZE - 1)),
		  "g" (UM_KERN_PAGE_SIZE));

	return (void *)ret;
}

/*
 * Report and act on the answer. Only the answer in %rax survives the
 * report: the stack pointer is reloaded through %rip from stub_data, which
 * the monitor wrote while the stub was parked, so a jump to the report
 * with forged registers gains nothing.
 */
#define stub_report_loop()						\
do {									\
	asm volatile(							\
		"1:	lea 0(%%rip), %%rdi\n"				\
		"	and %[mask], %%rdi\n"				\
		"	mov %c[page]+%c[seq](%%rdi), %%rdi\n"		\
		"	mov %[nr], %%eax\n"				\
		"	syscall\n"					\
		"stub_report_ip:\n"					\
		"	lea 0(%%rip), %%rdx\n"				\
		"	and %[mask], %%rdx\n"				\
		"	mov %c[page]+%c[sp](%%rdx), %%rsp\n"		\
		"	mov %%rax, %%rdi\n"				\
		"	call stub_after_report\n"			\
		"	test %%eax, %%eax\n"				\
		"	jnz 1b\n"					\
		"	lea 0(%%rip), %%rdx\n"				\
		"	and %[mask], %%rdx\n"				\
		"	mov %c[page]+%c[sp](%%rdx), %%rsp\n"		\
		"	mov %[sigreturn], %%eax\n"			\
		"	syscall\n"					\
		"	ud2\n"						\
		:: [nr] "i" (STUB_REPORT_NR),				\
		   [sigreturn] "i" (__NR_rt_sigreturn),			\
		   [mask] "i" (~(UM_KERN_PAGE_SIZE - 1)),		\
		   [page] "i" (UM_KERN_PAGE_SIZE),			\
		   [sp] "i" (offsetof(struct stub_data, resume_sp)),	\
		   [seq] "i" (offsetof(struct stub_data, report_seq))	\
		: "memory");						\
} while (0)

/*
 * The syscall thread, see stub_syscall_thread() in stub.c. It installs the
 * filter program it finds in %r13, then asks for batches and runs them. It
 * keeps everything in registers and reads only the read-only first page of
 * stub_data, so the guest thread can neither steer nor feed it.
 */
#define stub_syscall_thread_loop()					\
do {									\
	asm volatile(							\
		"	mov %[seccomp], %%eax\n"			\
		"	mov %[filter], %%edi\n"				\
		"	xor %%esi, %%esi\n"				\
		"	mov %%r13, %%rdx\n"				\
		"	syscall\n"					\
		"	test %%rax, %%rax\n"				\
		"	jnz 9f\n"					\
		"	xor %%edi, %%edi\n"				\
		"	xor %%esi, %%esi\n"				\
		"	xor %%edx, %%edx\n"				\
		/* report the last batch, wait for the next one */	\
		"1:	mov %[nr], %%eax\n"				\
		"	syscall\n"					\
		"stub_batch_ip:\n"					\
		"	test %%rax, %%rax\n"				\
		"	js 9f\n"					\
		"	mov %%rax, %%r14\n"				\
		"	shr %[len_bits], %%r14\n"			\
		"	mov %%rax, %%rbx\n"				\
		"	and %[len_mask], %%rbx\n"			\
		"	cmp %[max], %%rbx\n"				\
		"	ja 9f\n"					\
		"	xor %%r12d, %%r12d\n"				\
		"	lea 0(%%rip), %%r15\n"				\
		"	and %[mask], %%r15\n"				\
		"	add %[data], %%r15\n"				\
		"2:	cmp %%rbx, %%r12\n"				\
		"	jae 6f\n"					\
		"	mov %c[addr](%%r15), %%rdi\n"			\
		"	mov %c[len](%%r15), %%rsi\n"			\
		"	mov %c[type](%%r15), %%eax\n"			\
		"	cmp %[munmap_type], %%eax\n"			\
		"	je 3f\n"					\
		"	cmp %[mmap_type], %%eax\n"			\
		"	jne 8f\n"					\
		"	movslq %c[prot](%%r15), %%rdx\n"		\
		"	mov %[flags], %%r10d\n"				\
		"	mov %[fd], %%r8d\n"				\
		"	mov %c[off](%%r15), %%r9\n"			\
		"	mov %[mmap], %%eax\n"				\
		"	syscall\n"					\
		"	cmp %%rax, %%rdi\n"				\
		"	jne 7f\n"					\
		"	jmp 4f\n"					\
		"3:	mov %[munmap], %%eax\n"				\
		"	syscall\n"					\
		"	test %%rax, %%rax\n"				\
		"	jnz 7f\n"					\
		"4:	inc %%r12\n"					\
		"	add %[size], %%r15\n"				\
		"	jmp 2b\n"					\
		"6:	xor %%eax, %%eax\n"				\
		"	jmp 7f\n"					\
		"8:	mov %[eopnotsupp], %%rax\n"			\
		"7:	mov %%rax, %%rdx\n"				\
		"	mov %%r14, %%rdi\n"				\
		"	mov %%r12, %%rsi\n"				\
		"	jmp 1b\n"					\
		"9:	ud2\n"						\
		:: [seccomp] "i" (__NR_seccomp),			\
		   [filter] "i" (SECCOMP_SET_MODE_FILTER),		\
		   [nr] "i" (STUB_BATCH_NR),				\
		   [len_bits] "i" (STUB_BATCH_LEN_BITS),		\
		   [len_mask] "i" (STUB_BATCH_LEN_MASK),		\
		   [max] "i" (sizeof(((struct stub_data *)0)->syscall_data) /	\
			      sizeof(struct stub_syscall)),		\
		   [mask] "i" (~(UM_KERN_PAGE_SIZE - 1)),		\
		   [data] "i" (UM_KERN_PAGE_SIZE +			\
			       offsetof(struct stub_data, syscall_data)), \
		   [addr] "i" (offsetof(struct stub_syscall, mem.addr)),	\
		   [len] "i" (offsetof(struct stub_syscall, mem.length)), \
		   [off] "i" (offsetof(struct stub_syscall, mem.offset)), \
		   [prot] "i" (offsetof(struct stub_syscall, mem.prot)),	\
		   [type] "i" (offsetof(struct stub_syscall, syscall)),	\
		   [size] "i" (sizeof(struct stub_syscall)),		\
		   [mmap_type] "i" (STUB_SYSCALL_MMAP),			\
		   [munmap_type] "i" (STUB_SYSCALL_MUNMAP),		\
		   [flags] "i" (MAP_SHARED | MAP_FIXED),		\
		   [fd] "i" (STUB_MEM_FD),				\
		   [mmap] "i" (__NR_mmap),				\
		   [munmap] "i" (__NR_munmap),				\
		   [eopnotsupp] "i" (-95)				\
		: "memory");						\
} while (0)

/*
 * Start the syscall thread at @ip, with @prog in %r13. It shares the
 * stack pointer of its creator but never uses a stack.
 */
static __always_inline long stub_start_thread(unsigned long flags,
					      unsigned long ip, void *prog)
{
	register unsigned long r12 asm("r12") = ip;
	register void *r13 asm("r13") = prog;
	register unsigned long r10 asm("r10") = 0;
	register unsigned long r8 asm("r8") = 0;
	long ret;

	asm volatile ("syscall\n"
		      "	test %%rax, %%rax\n"
		      "	jnz 1f\n"
		      "	jmp *%%r12\n"
		      "1:\n"
		      : "=a" (ret)
		      : "0" (__NR_clone), "D" (flags), "S" (0), "d" (0),
			"r" (r10), "r" (r8), "r" (r12), "r" (r13)
		      : __syscall_clobber);

	return ret;
}

#define stub_start(fn)							\
	asm volatile (							\
		"subq %0,%%rsp ;"					\
		"movq %1,%%rax ;"					\
		"call *%%rax ;"						\
		:: "i" (STUB_SIZE),					\
		   "i" (&fn))

static __always_inline void
stub_seccomp_restore_state(struct stub_data_arch *arch)
{
	/*
	 * We could use _writefsbase_u64/_writegsbase_u64 if the host reports
	 * support in the hwcaps (HWCAP2_FSGSBASE).
	 */
	if (arch->sync & STUB_SYNC_FS_BASE)
		stub_syscall2(__NR_arch_prctl, ARCH_SET_FS, arch->fs_base);
	if (arch->sync & STUB_SYNC_GS_BASE)
		stub_syscall2(__NR_arch_prctl, ARCH_SET_GS, arch->gs_base);
}

#endif
