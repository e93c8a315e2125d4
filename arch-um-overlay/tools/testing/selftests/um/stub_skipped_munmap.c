// SPDX-License-Identifier: GPL-2.0
/*
 * Keep a freed frame mapped by skipping the host munmap.
 *
 * The monitor cannot make the stub execute anything: unmaps of freed
 * pages are queued into the batch the stub runs when it is woken, and the
 * monitor forgets the batch at the next report.
 * A process that fakes a trap for munmap() of one of its own pages keeps
 * running while the kernel unmaps and frees the page, never runs the
 * queued host munmap, and reports a real syscall next.  Its host mapping
 * of the freed frame survives: it reads (and could write) whatever the
 * kernel or another process puts into that frame next.  Here root fills
 * memory with a pattern after the frame was freed and the attacker looks
 * for it through its stale mapping.
 *
 * The hardened kernel must never leave a host mapping the page table does
 * not authorise: the faked report is not served, or the page is
 * really gone, or the process is killed.  Where the stub has the hardened
 * report path, the munmap() report is forged through it, with a frame of
 * the process's making, and the look at the page follows the answer.
 */
#include "stub_forge.h"

#define ATTEMPTS	8
#define CHILDREN	3
#define FILL_MB		64

static const char own_page_text[] = "skipped: the attacker's own page";
static const char root_page_text[] = "skipped: root's data, not yours!";

struct skipped_munmap_shared {
	int stage;
	int attempts;
	int hardened;		/* forged through the hardened report path */
	int answered;		/* the futex word read "in child" again */
	int vma_after;		/* guest VMA at the page after the fake */
	int read_sig;		/* fault reading the page afterwards */
	int still_mine;		/* our marker still there */
	int fill_req;		/* child: attempt that wants root to fill */
	int fill_ack;		/* parent: root's pattern written for it */
	int checked;		/* child: second look done for it */
	int saw_root;		/* root's pattern seen through the stale page */
	int changed;		/* content differs from our marker */
	unsigned long page;
	unsigned char first[32];
	unsigned char second[32];
	char err[128];
};

enum { ST_START, ST_ATTACK, ST_DONE };

FIXTURE(stub_munmap_skip) {
	struct skipped_munmap_shared *s;
};

FIXTURE_SETUP(stub_munmap_skip)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->s = stub_shared_alloc(sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(stub_munmap_skip)
{
	munmap(self->s, sizeof(*self->s));
}

static void skipped_munmap_child(struct skipped_munmap_shared *s)
{
	unsigned long page = 0;
	char *p;
	int i;

	stub_prefault(s, sizeof(*s));
	if (stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "setuid failed");
		_exit(1);
	}
	s->stage = ST_ATTACK;
	s->vma_after = -1;	/* not checked */
	s->hardened = !stub_find_report();
	for (i = 0; i < ATTEMPTS; i++) {
		p = mmap(NULL, STUB_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(s->err, sizeof(s->err), "mmap failed");
			_exit(1);
		}
		page = (unsigned long)p;
		memcpy(p, own_page_text, sizeof(own_page_text));
		stub_prefault_stack(65536);
		s->attempts = i + 1;

		syscall(SYS_getppid);		/* a fresh trap frame */
		if (s->hardened) {
			/* answered once the monitor has unmapped the page */
			s->answered = !stub_forge(0, SIGSYS, SYS_munmap, page,
						  STUB_PAGE, 0);
		} else {
			if (stub_fake_syscall(SYS_munmap, page, STUB_PAGE, 0) < 0) {
				snprintf(s->err, sizeof(s->err),
					 "stub_data is not laid out as on the unpatched base");
				break;
			}
			/* the monitor unmaps, queues the host munmap, resumes "us" */
			s->answered = !stub_wait_futex(STUB_FUTEX_IN_CHILD, 5000);
		}
		/* report something real: the monitor drops its batch */
		syscall(SYS_getppid);

		/* look before anything else can take the frame */
		s->read_sig = stub_try_read(page, s->first, sizeof(s->first));
		s->still_mine = !s->read_sig &&
				!memcmp(s->first, own_page_text, sizeof(own_page_text));
		/* let root allocate (and likely reuse the frame), look again */
		__atomic_store_n(&s->fill_req, i + 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&s->fill_ack, __ATOMIC_SEQ_CST) != i + 1)
			stub_sleep_ms(5);
		if (!s->read_sig &&
		    !stub_try_read(page, s->second, sizeof(s->second))) {
			s->saw_root = !memcmp(s->second, root_page_text,
					      sizeof(root_page_text));
			s->changed = memcmp(s->second, s->first,
					    sizeof(s->first)) != 0;
		}
		__atomic_store_n(&s->checked, i + 1, __ATOMIC_SEQ_CST);

		s->vma_after = stub_guest_has_vma(page);
		if (s->vma_after == 0)
			break;
		munmap(p, STUB_PAGE);	/* not served: clean up, retry */
	}
	s->page = page;
	s->stage = ST_DONE;
	_exit(0);
}

/* Root allocates and fills memory, likely getting the freed frame. */
static char *fill_as_root(void)
{
	size_t len = FILL_MB << 20, i;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	for (i = 0; i < len; i += STUB_PAGE)
		memcpy(m + i, root_page_text, sizeof(root_page_text));
	return m;	/* kept until the child has looked */
}

/*
 * Run one attacker child and serve its fill requests.  Returns 1 once it
 * has ended (@status set), 0 if it is still alive after the deadline.
 */
static int skipped_munmap_run_child(struct skipped_munmap_shared *s, int *status)
{
	unsigned long end = stub_now_ms() + 60000;
	char *fill;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		skipped_munmap_child(s);

	while (stub_now_ms() < end) {
		int req = __atomic_load_n(&s->fill_req, __ATOMIC_SEQ_CST);

		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		if (req == __atomic_load_n(&s->fill_ack, __ATOMIC_SEQ_CST)) {
			stub_sleep_ms(5);
			continue;
		}
		fill = fill_as_root();
		__atomic_store_n(&s->fill_ack, req, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&s->checked, __ATOMIC_SEQ_CST) != req &&
		       stub_now_ms() < end && !waitpid(pid, status, WNOHANG))
			stub_sleep_ms(5);
		if (fill)
			munmap(fill, (size_t)FILL_MB << 20);
	}
	if (stub_wait_child(pid, 20000, status))
		return 1;
	stub_kill_wait(pid, 5000, status);
	return 0;
}

/* Log formats, kept on one line so that they can be grepped for */
#define ATTACKER_STATE_FMT "attacker %d %s, stage %d, %d attempt(s), %s %d, guest VMA after %d, read fault %d"

/*
 * A child that dies or whose faked report goes unserved proves nothing on
 * its own: a host signal or a late answer can spoil one attempt on any
 * kernel.  So several children try, each several times, and the first
 * stale mapping found is the verdict.
 */
TEST_F_TIMEOUT(stub_munmap_skip, freed_frame_stays_unmapped, 300)
{
	struct skipped_munmap_shared *s = self->s;
	char buf[64], text[sizeof(s->second) + 1];
	int status = 0, i, child;

	for (child = 1; child <= CHILDREN; child++) {
		i = skipped_munmap_run_child(s, &status);
		ASSERT_LE(0, i) TH_LOG("fork failed");
		if (!i)
			STUB_FAIL(return, "attacker %d still alive (stage %d, attempt %d)",
				  child, s->stage, s->attempts);
		TH_LOG(ATTACKER_STATE_FMT, child, stub_status_str(status, buf, sizeof(buf)),
		       s->stage, s->attempts,
		       s->hardened ? "forged and answered" : "answered",
		       s->answered, s->vma_after, s->read_sig);
		if (s->stage < ST_ATTACK)
			STUB_FAIL(return, "set-up failed: %s", s->err);
		if (s->err[0])
			TH_LOG("%s", s->err);
		if (s->vma_after == 0 && !s->read_sig)
			break;
		if (!s->hardened && stub_fake_tripped(status))
			continue;	/* spoilt by a real signal, see stub_util.h */
		if (s->stage != ST_DONE && !stub_defended_kill(status))
			STUB_FAIL(return, "attacker died in an unexpected way");
	}
	if (child <= CHILDREN) {
		for (i = 0; i < (int)sizeof(s->second); i++)
			text[i] = s->second[i] >= 32 && s->second[i] < 127 ?
				  s->second[i] : '.';
		text[i] = 0;
		STUB_VULNERABLE(return,
				"uid %d faked a munmap(%#lx) trap and skipped the host munmap: the guest has no VMA there but the freed frame is still mapped (%s); "
				"after root allocated %d MiB it reads \"%s\"%s",
				STUB_NOBODY, s->page,
				s->still_mine ? "own data still there" :
						"content already changed",
				FILL_MB, text,
				s->saw_root ? ": root's data through a freed frame" :
				s->changed ? ": the frame was reused" : "");
	}
	if (!s->hardened && stub_fake_tripped(status))
		STUB_FAIL(return, "the last attacker tripped: nothing tested");
	if (s->hardened && !s->answered)
		STUB_FAIL(return,
			  "the forged munmap() report was not answered: nothing tested");
	if (s->stage == ST_DONE) {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		TH_LOG("defended: %s", s->vma_after ?
		       "the faked munmap was not served" :
		       "the unmapped page is really gone");
		return;
	}
	TH_LOG("defended: the attacker was killed");
}

TEST_HARNESS_MAIN
