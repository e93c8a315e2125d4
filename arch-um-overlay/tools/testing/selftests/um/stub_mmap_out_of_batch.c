// SPDX-License-Identifier: GPL-2.0
/*
 * An unprivileged guest process calls the stub's "syscall; ret"
 * gadget to run a host mmap the monitor never asked for.  On the
 * unpatched base the host maps the memory and the process owns host
 * memory its guest page table knows nothing about.  The hardened
 * kernel must refuse the call (error returned) or kill the process.
 */
#include "stub_util.h"

enum { ST_START, ST_READY, ST_CALLING, ST_CALLED, ST_DONE };

struct out_of_batch_result {
	int stage;
	int guest_vma_before;	/* guest VMA at the target before the call */
	int guest_vma_after;
	long ret;		/* what the hijacked mmap returned */
	int write_sig;		/* signal while writing the page, 0 if none */
	int read_sig;
	int readback_ok;	/* the pattern read back intact */
	unsigned char guest_view[16];	/* the page before the call */
	char err[128];
};

FIXTURE(stub_mmap) {
	struct out_of_batch_result *r;
	void *guest_ro;		/* a guest page mapped read-only */
};

FIXTURE_SETUP(stub_mmap)
{
	ASSERT_STUB_FOUND();
	self->r = stub_shared_alloc(STUB_PAGE);
	ASSERT_NE(NULL, self->r);
	self->guest_ro = mmap(NULL, STUB_PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->guest_ro);
	memset(self->guest_ro, 0x5a, STUB_PAGE);
	ASSERT_EQ(0, mprotect(self->guest_ro, STUB_PAGE, PROT_READ));
}

FIXTURE_TEARDOWN(stub_mmap)
{
	munmap(self->r, STUB_PAGE);
	munmap(self->guest_ro, STUB_PAGE);
}

static const char out_of_batch_pattern[] = "out-of-batch host memory";

/*
 * Child: map one anonymous read/write page at @addr through the gadget,
 * then write and read it back with faults caught.
 */
static __noreturn void out_of_batch_attack(struct out_of_batch_result *r,
					   unsigned long addr)
{
	char back[sizeof(out_of_batch_pattern)];
	long ret;

	stub_prefault(r, sizeof(*r));
	if (stub_drop_privs()) {
		snprintf(r->err, sizeof(r->err), "dropping to uid %d failed",
			 STUB_NOBODY);
		_exit(1);
	}
	r->guest_vma_before = stub_guest_has_vma(addr);
	/* a mapped guest page: make sure the host maps it too */
	if (r->guest_vma_before == 1)
		memcpy(r->guest_view, (void *)addr, sizeof(r->guest_view));
	r->stage = ST_READY;

	r->stage = ST_CALLING;
	ret = stub_syscall6(SYS_mmap, addr, STUB_PAGE, PROT_READ | PROT_WRITE,
			    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->ret = ret;
	r->stage = ST_CALLED;

	if (ret == (long)addr) {
		r->write_sig = stub_try_write(addr, out_of_batch_pattern,
					      sizeof(out_of_batch_pattern));
		if (!r->write_sig) {
			r->read_sig = stub_try_read(addr, back, sizeof(back));
			r->readback_ok = !r->read_sig &&
				!memcmp(back, out_of_batch_pattern, sizeof(back));
		}
		if (r->guest_vma_before == 0)
			stub_syscall2(SYS_munmap, addr, STUB_PAGE);
	}
	r->guest_vma_after = stub_guest_has_vma(addr);
	r->stage = ST_DONE;
	_exit(0);
}

/* Log formats, kept on one line so that they can be grepped for */
#define VULNERABLE_FMT "VULNERABLE: hijacked mmap(%#lx, MAP_FIXED|MAP_ANONYMOUS) from uid %d returned %#lx; wrote and read back \"%s\" there (%s; guest VMA there: before %d, after %d)"
#define DEFENDED_UNUSABLE_FMT "defended: mmap returned the address but the page is not usable (write sig %d, read sig %d)"

/* Parent: judge what the child saw. */
static void out_of_batch_judge(struct __test_metadata *_metadata, struct out_of_batch_result *r,
			       pid_t pid, unsigned long addr, const char *what)
{
	char buf[64];
	int status;

	if (!stub_wait_child(pid, 20000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		TH_LOG("child still running 20 s after the call (stage %d)",
		       r->stage);
		ASSERT_TRUE(0);
	}
	TH_LOG("child %s at stage %d", stub_status_str(status, buf, sizeof(buf)),
	       r->stage);
	ASSERT_GE(r->stage, ST_READY) TH_LOG("set-up failed: %s", r->err);

	if (r->stage >= ST_CALLED && r->ret == (long)addr && r->readback_ok) {
		TH_LOG(VULNERABLE_FMT, addr, STUB_NOBODY, r->ret, out_of_batch_pattern, what,
		       r->guest_vma_before, r->guest_vma_after);
		ASSERT_TRUE(0);
	}
	if (r->stage >= ST_CALLED) {
		if (r->ret < 0 && r->ret > -4096) {
			TH_LOG("defended: hijacked mmap returned %ld (%s)",
			       r->ret, strerror(-r->ret));
		} else if (r->ret == (long)addr) {
			TH_LOG(DEFENDED_UNUSABLE_FMT, r->write_sig, r->read_sig);
		} else {
			TH_LOG("hijacked mmap returned unexpected %#lx",
			       r->ret);
			ASSERT_TRUE(0);
		}
		/* A refused call must leave the process alive. */
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			    r->stage == ST_DONE)
			TH_LOG("child did not finish after the refused call");
		return;
	}
	/* Died during the call: the host killed the stub. */
	ASSERT_TRUE(r->stage == ST_CALLING && stub_defended_kill(status))
		TH_LOG("child died unexpectedly");
	TH_LOG("defended: the process was killed on the hijacked mmap");
}

/* No guest VMA at all at the target address. */
TEST_F_TIMEOUT(stub_mmap, anon_mmap_where_guest_has_no_vma_is_denied, 60)
{
	unsigned long addr = STUB_SCRATCH_ADDR;
	pid_t pid;

	ASSERT_EQ(0, stub_guest_has_vma(addr))
		TH_LOG("the test program itself has a VMA at %#lx", addr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		out_of_batch_attack(self->r, addr);
	out_of_batch_judge(_metadata, self->r, pid, addr,
			   "the guest kernel has no VMA at that address");
}

/*
 * Second form: replace a page the guest maps read-only with a
 * writable host page, so writes succeed where the guest PTE forbids them.
 */
TEST_F_TIMEOUT(stub_mmap, anon_mmap_over_readonly_guest_page_is_denied, 60)
{
	unsigned long addr = (unsigned long)self->guest_ro;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		out_of_batch_attack(self->r, addr);
	out_of_batch_judge(_metadata, self->r, pid, addr,
			   "the guest maps that page read-only");
}

TEST_HARNESS_MAIN
