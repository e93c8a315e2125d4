// SPDX-License-Identifier: GPL-2.0
/*
 * Checks on the mmap and munmap calls a SECCOMP mode stub runs for the
 * monitor: only calls of the stub's own form, and an mmap only if the guest
 * page table allows it right before the batch runs.
 */

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <as-layout.h>
#include <skas.h>
#include <stub-data.h>
#include "stub_check.h"

/* Page aligned, non-empty, not wrapping and ending at or below @limit */
bool stub_range_ok(unsigned long addr, unsigned long len,
		   unsigned long limit)
{
	return len && PAGE_ALIGNED(addr) && PAGE_ALIGNED(len) &&
	       addr + len > addr && addr + len <= limit;
}

/* The offset of a stub mmap in bytes: mmap2() on 32-bit hosts takes pages */
static unsigned long long stub_mmap_offset(unsigned long long arg)
{
	return IS_ENABLED(CONFIG_64BIT) ? arg : arg << PAGE_SHIFT;
}

/* The only mmap the stub needs: its memory FD, shared and fixed */
bool stub_mmap_args_ok(const unsigned long long *args, unsigned long limit)
{
	return stub_range_ok(args[0], args[1], limit) &&
	       !(args[2] & ~(unsigned long long)(PROT_READ | PROT_WRITE |
						 PROT_EXEC)) &&
	       args[3] == (MAP_SHARED | MAP_FIXED) &&
	       args[4] == STUB_MEM_FD &&
	       PAGE_ALIGNED(stub_mmap_offset(args[5]));
}

static struct mm_struct *stub_mm(struct mm_id *mm_idp)
{
	struct mm_context *ctx = container_of(mm_idp, struct mm_context, id);

	return container_of(ctx, struct mm_struct, context);
}

/* Every page maps the physmem frame at the offset, with no more access */
static bool stub_mmap_pte_ok(struct mm_id *mm_idp, unsigned long addr,
			    unsigned long len, int prot, unsigned long offset)
{
	struct mm_struct *mm = stub_mm(mm_idp);
	unsigned long phys = stub_mmap_offset(offset);
	unsigned long end = addr + len;

	for (; addr < end; addr += PAGE_SIZE, phys += PAGE_SIZE) {
		pte_t *pte = virt_to_pte(mm, addr);

		if (!pte || !pte_present(*pte))
			return false;
		if ((pte_val(*pte) & PAGE_MASK) != phys)
			return false;
		if (prot & ~pte_host_prot(*pte))
			return false;
	}

	return true;
}

/*
 * An mmap turned into an munmap unmaps its whole range, but only the pages
 * that changed carry _PAGE_NEEDSYNC: mark the others too, or the next
 * sync skips them and a fault on one of them finds its PTE up to date
 * and returns to the same missing host mapping for ever.  A bit set
 * atomically, as another vCPU may be writing the same PTE.
 */
static void stub_mmap_resync(struct mm_struct *mm, unsigned long addr,
			     unsigned long len)
{
	unsigned long end = addr + len;

	um_tlb_mark_sync(mm, addr, end);
	for (; addr < end; addr += PAGE_SIZE) {
		pte_t *pte = virt_to_pte(mm, addr);

		if (pte)
			set_bit(ilog2(_PAGE_NEEDSYNC), &pte_val(*pte));
	}
}

/* A well-formed call of the stub's, as the syscall thread will issue it */
static bool stub_syscall_ok(const struct stub_syscall *sc)
{
	unsigned long long args[6] = {
		sc->mem.addr, sc->mem.length, sc->mem.prot,
		MAP_SHARED | MAP_FIXED, STUB_MEM_FD, sc->mem.offset,
	};

	switch (sc->syscall) {
	case STUB_SYSCALL_MMAP:
		return stub_mmap_args_ok(args, TASK_SIZE);
	case STUB_SYSCALL_MUNMAP:
		return stub_range_ok(args[0], args[1], STUB_START);
	default:
		return false;
	}
}

/**
 * stub_batch_check() - check a batch right before the stub runs it
 * @mm_idp: the stub
 * @sc: the queued syscalls, the monitor's own copy
 * @len: how many there are
 *
 * Another vCPU may legitimately change the page table between the moment
 * the monitor queued an mmap and the moment the stub runs it (a fault
 * replacing the zero page, fork write-protecting, reclaim ageing, an
 * unmap). So such an mmap is not run but replaced by an unmap of its
 * range, marked for a sync: the next fault there maps each page as the
 * page table says by then. The caller makes sure that later changes wait
 * until the batch has run.
 *
 * Return: 0, or -EPERM if a call is not one the stub may make at all.
 */
int stub_batch_check(struct mm_id *mm_idp, struct stub_syscall *sc, int len)
{
	int i;

	for (i = 0; i < len; i++, sc++) {
		if (WARN_ON_ONCE(!stub_syscall_ok(sc)))
			return -EPERM;

		if (sc->syscall == STUB_SYSCALL_MMAP &&
		    !stub_mmap_pte_ok(mm_idp, sc->mem.addr, sc->mem.length,
				      sc->mem.prot, sc->mem.offset)) {
			stub_mmap_resync(stub_mm(mm_idp), sc->mem.addr,
					 sc->mem.length);
			sc->syscall = STUB_SYSCALL_MUNMAP;
		}
	}

	return 0;
}
