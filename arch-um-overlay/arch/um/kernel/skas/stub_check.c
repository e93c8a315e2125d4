// SPDX-License-Identifier: GPL-2.0
/*
 * Checks on the mmap and munmap calls of a SECCOMP mode stub.
 *
 * The guest can make its stub issue these calls with any arguments, so the
 * monitor lets one run only if it is exactly the next call the monitor
 * queued itself and the guest page table allows it right now.
 */

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <as-layout.h>
#include <skas.h>
#include <stub-data.h>

/* Page aligned, non-empty, not wrapping and ending at or below @limit */
int stub_range_ok(unsigned long addr, unsigned long len, unsigned long limit)
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
int stub_mmap_args_ok(const unsigned long long *args, unsigned long limit)
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
static int stub_mmap_pte_ok(struct mm_id *mm_idp, unsigned long addr,
			    unsigned long len, int prot, unsigned long offset)
{
	struct mm_struct *mm = stub_mm(mm_idp);
	unsigned long phys = stub_mmap_offset(offset);
	unsigned long end = addr + len;

	for (; addr < end; addr += PAGE_SIZE, phys += PAGE_SIZE) {
		pte_t *pte = virt_to_pte(mm, addr);

		if (!pte || !pte_present(*pte))
			return 0;
		if ((pte_val(*pte) & PAGE_MASK) != phys)
			return 0;
		if (prot & ~pte_host_prot(*pte))
			return 0;
	}

	return 1;
}

/*
 * The stub unmaps the whole range of a refused mmap, but only the pages
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

/* Exactly the next call the monitor queued, and a well-formed one */
static bool stub_syscall_queued(const struct stub_syscall *sc, int type,
				const unsigned long long *args)
{
	if (!sc || type != sc->syscall)
		return false;

	switch (type) {
	case STUB_SYSCALL_MMAP:
		return args[0] == sc->mem.addr && args[1] == sc->mem.length &&
		       args[2] == sc->mem.prot && args[5] == sc->mem.offset &&
		       stub_mmap_args_ok(args, TASK_SIZE);
	case STUB_SYSCALL_MUNMAP:
		return args[0] == sc->mem.addr && args[1] == sc->mem.length &&
		       stub_range_ok(args[0], args[1], STUB_START);
	default:
		return 0;
	}
}

/* An munmap of a queued range always, an mmap if every PTE still allows it */
static bool stub_page_table_allows(struct mm_id *mm_idp, int type,
				   const unsigned long long *args)
{
	return type != STUB_SYSCALL_MMAP ||
	       stub_mmap_pte_ok(mm_idp, args[0], args[1], args[2], args[5]);
}

/**
 * stub_syscall_check() - may the stub run this mmap or munmap
 * @mm_idp: the stub
 * @sc: the next syscall the monitor queued for it, NULL if none is
 * @prev: the syscall it let the stub run last in this batch, NULL if none
 * @type: STUB_SYSCALL_MMAP or STUB_SYSCALL_MUNMAP, from the syscall number
 * @args: the syscall arguments as seccomp captured them
 *
 * Another vCPU may legitimately change the page table between the moment
 * the monitor queued an mmap and the moment the stub issues it (a fault
 * replacing the zero page, fork write-protecting, reclaim ageing, an
 * unmap). So the queued mmap is not run but replaced by an unmap of its
 * range, marked for a sync: the next fault there maps each page as the
 * page table says by then.
 *
 * A host signal that interrupts the stub just as the monitor lets a call
 * run can make the host restart that call: the stub then issues @prev
 * again. Running it again changes nothing, once checked again.
 *
 * Return: 0 if the call may run as the next queued one, 1 if it repeats
 * @prev and may run again, -EAGAIN if it is the queued mmap but the page
 * table no longer allows it, -EPERM otherwise.
 */
int stub_syscall_check(struct mm_id *mm_idp, const struct stub_syscall *sc,
		       const struct stub_syscall *prev, int type,
		       const unsigned long long *args)
{
	if (stub_syscall_queued(sc, type, args)) {
		if (stub_page_table_allows(mm_idp, type, args))
			return 0;

		stub_mmap_resync(stub_mm(mm_idp), args[0], args[1]);
		return -EAGAIN;
	}

	if (stub_syscall_queued(prev, type, args) &&
	    stub_page_table_allows(mm_idp, type, args))
		return 1;

	pr_warn_ratelimited("um: refused %s(0x%llx, 0x%llx, 0x%llx, ...) of the stub of %s[%d]%s\n",
			    type == STUB_SYSCALL_MMAP ? "mmap" : "munmap",
			    args[0], args[1], args[2], current->comm,
			    task_pid_nr(current), sc ? "" : ", outside a batch");
	return -EPERM;
}
