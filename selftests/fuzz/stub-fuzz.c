// SPDX-License-Identifier: GPL-2.0
/*
 * stub-fuzz SECONDS SEED [ACTIONS]: hostile guest processes, at random.
 *
 * Run as root inside a UML guest booted with seccomp=on.  For SECONDS
 * seconds a root parent keeps NKIDS short-lived children running; each
 * drops to uid/gid 65534 and does a random mix of the actions below
 * (ACTIONS, a subset separated by commas or "+", default all), then
 * exits.  A child the kernel kills costs little: the parent just starts
 * the next one.
 *
 *   sys       a random host syscall through the stub's "syscall; ret"
 *             gadget: mostly the stub's own allowlist (futex, recvmsg,
 *             close, mmap, munmap, arch_prctl, sched_yield), with random
 *             and boundary arguments: addresses around the stub pages and
 *             the guest's TASK_SIZE, fds 0-8, random offsets
 *   mmap      a host mmap through the gadget of a range around the stub
 *             pages, near TASK_SIZE or anywhere, anonymous or of fd 0-8 at
 *             a random offset; a mapping that works (also one made by
 *             sys or steal) is read and kept for HOLD_MS, so that the
 *             host-side oracle, which looks once a second and confirms
 *             a canary hit by looking again up to 1 s later, sees it
 *             (the child wakes every HOLD_STEP_MS meanwhile: a stub
 *             that runs and keeps the mapping is what makes a leak)
 *   sigret    rt_sigreturn through the gadget with a random frame, or a
 *             near-valid one (random host signal mask) that resumes here
 *   prctl     arch_prctl through the gadget with random sub-ops; FS and GS
 *             are put back at once
 *   stubwr    random stores into the stub data pages (random offsets, or
 *             the fields of the unpatched layout), then a real syscall
 *   forge     a forged report: the futex-style fake of the unpatched
 *             protocol with a random signal, a near-valid faked syscall
 *             (stub_fake_syscall()), or, where the stub has the hardened
 *             report instruction, a report made through it (stub_forge())
 *             of a random signal or syscall, new or repeated, sometimes
 *             with garbage frame offsets
 *   steal     fake a populating mmap() and race the monitor for the
 *             physmem fd on fd 0 (recvmsg); a stolen fd is mapped at a
 *             random offset and read
 *   jump      a call to a random offset of the stub code page with random
 *             registers
 *   benign    page faults on fresh memory (checked), fork, exec /bin/true
 *
 * Child i draws its actions from a generator seeded with SEED and i, so
 * the same SEED replays the same children (not the same interleaving).
 *
 * A root "canary" companion runs alongside: every ~100 ms it maps a fresh
 * CANARY_SLOT bytes at the next of CANARY_SLOTS fixed slots (unmapping
 * what was there), fills them with the 16-byte pattern "UMLFZCAN" + a
 * random per-boot 64-bit secret, so that the frames it frees carry the
 * canary.  A page at OWNER_ADDR, never freed, holds "UMLFZOWN" + (secret
 * ^ OWNER_XOR): that is how the host-side oracle (scripts/fuzz) tells the
 * companion's host process from all others.  The secret is written to
 * /dev/console only (root-only; the console is the host's log), as
 * "stub-fuzz: canary <16 hex digits> pid <its guest pid>".  Under load it
 * cycles more slowly than every 100 ms (canary_cycles counts them).
 *
 * Every PROGRESS_SECS and at the end the parent prints one line:
 *   stub-fuzz: progress|done t=S seed=N children=N exited=N killed=N
 *     overtime=N wrong=N gadget_maps=N stolen_fds=N canary_cycles=N
 *     bad_msgs=N tripwire=N companion=alive|dead(...) dstate=N
 *     act_<name>=N... kill_<name>=N...
 * (one line; act_: actions started, kill_: children that died of a
 * signal while doing that action; overtime: children killed by the
 * parent after CHILD_SECS; wrong: benign work with a wrong result;
 * gadget_maps: host mmaps through the gadget that worked; stolen_fds: fds
 * received on fd 0; bad_msgs: malformed messages from children;
 * tripwire: times the tripwire page (which the children unmap) was
 * found changed, each a write into memory its writer does not map; dstate:
 * guest tasks in D state at the end, 0 in progress lines).
 * Exit status: 0 when the run completed with the companion alive and no
 * task in D state, 1 otherwise, 2 usage error.
 */
#include <dirent.h>
#include "stub_forge.h"

#define NKIDS		6
#define CHILD_SECS	15
#define PROGRESS_SECS	5
#define MIN_ACTIONS	6
#define MAX_ACTIONS	40
#define HOLD_MS		3000
#define HOLD_STEP_MS	100

/* The guest's TASK_SIZE on a 47-bit host (the host's top, PGDIR-aligned) */
#define GUEST_TASK_SIZE	0x7f8000000000UL

#define CANARY_MAGIC	0x4e41435a464c4d55UL	/* "UMLFZCAN" */
#define OWNER_MAGIC	0x4e574f5a464c4d55UL	/* "UMLFZOWN" */
#define OWNER_XOR	0x5a5aa5a5c3c33c3cUL
#define CANARY_ADDR	0x3f0000000000UL
#define CANARY_SLOTS	16
#define CANARY_SLOT	(64 * 1024UL)
#define OWNER_ADDR	(CANARY_ADDR + 0x1000000UL)
_Static_assert(CANARY_SLOTS * CANARY_SLOT <= 0x1000000UL, "canary slots");
#define CANARY_MS	100

/*
 * What a benign grandchild writes into its malloc()ed memory, and what
 * fills the tripwire: a MAP_SHARED page of the parent that every child
 * unmaps first thing, so that no child or grandchild maps it.  The
 * parent checks it at every progress line: a change (tripwire=N, and the
 * first word seen) is a write through a mapping the guest did not give,
 * and fails the run.  (While the children kept it mapped, a child that
 * resumed from a random sigreturn frame sometimes ran a grandchild that
 * filled it with this pattern: its own memory, not a leak.)
 */
#define GRANDCHILD_FILL	0xb1
#define TRIPWIRE	0x5452495057495245UL	/* "TRIPWIRE" */

/* Where children put what they map through the gadget */
#define FUZZ_MAP_BASE	0x220000000000UL

enum {
	A_SYS, A_MMAP, A_SIGRET, A_PRCTL, A_STUBWR, A_FORGE, A_STEAL, A_JUMP,
	A_BENIGN, A_NR
};

static const char *const act_name[A_NR] = {
	"sys", "mmap", "sigret", "prctl", "stubwr", "forge", "steal", "jump",
	"benign",
};

/* Relative weights: the destructive ones are rarer, so children live */
static const int act_weight[A_NR] = { 6, 8, 2, 2, 3, 6, 5, 1, 67 };

/*
 * The parent's counters are its own: a hijacked child can write anything
 * into memory it shares, so children and the companion only send
 * messages through a pipe, which the parent checks.
 */
struct stats {
	unsigned long children, exited, killed, overtime, wrong;
	unsigned long gadget_maps, stolen_fds;
	unsigned long canary_cycles, bad_msgs, tripwire;
	unsigned long act[A_NR];
	unsigned long kill[A_NR];
	int doing[NKIDS];		/* action of the child in each slot */
};

enum { M_ACT, M_WRONG, M_GADGET_MAP, M_STOLEN_FD, M_CANARY };

struct msg {
	unsigned short kind, slot;
	unsigned int val;
};

static struct stats stats, *st = &stats;
static volatile unsigned long *tripwire;
static int msg_fd = -1;		/* children: the pipe's write end */
static int my_slot;

static void send_msg(int kind, int val)
{
	struct msg m = { kind, my_slot, val };

	if (write(msg_fd, &m, sizeof(m)) != sizeof(m))
		return;		/* nothing to do about it in a child */
}
static unsigned long seed;
static int enabled[A_NR];

/* ---- random numbers (splitmix64) -------------------------------------- */

static unsigned long rng;

static unsigned long rnd(void)
{
	unsigned long z = (rng += 0x9e3779b97f4a7c15UL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

static unsigned long rnd_below(unsigned long n)
{
	return n ? rnd() % n : 0;
}

/* An address worth trying: near the stub, near TASK_SIZE, or anywhere */
static unsigned long rnd_addr(void)
{
	long pages = (long)rnd_below(9) - 4;

	switch (rnd_below(6)) {
	case 0:
		return stub.code + pages * STUB_PAGE;
	case 1:
		return GUEST_TASK_SIZE + pages * STUB_PAGE;
	case 2:
		return STUB_PROBE_TOP + pages * STUB_PAGE;
	case 3:
		return FUZZ_MAP_BASE + rnd_below(1 << 20) * STUB_PAGE;
	case 4:
		return rnd_below(GUEST_TASK_SIZE) & ~(STUB_PAGE - 1);
	default:
		return rnd();
	}
}

static unsigned long rnd_len(void)
{
	switch (rnd_below(4)) {
	case 0:
		return STUB_PAGE;
	case 1:
		return (1 + rnd_below(16)) * STUB_PAGE;
	case 2:
		return (1 + rnd_below(4096)) * STUB_PAGE;
	default:
		return rnd();
	}
}

static long rnd_arg(void)
{
	static const long special[] = { 0, 1, -1, 2, 3, 4, 5, 4096, -4096,
					0x7fffffff, 0x80000000L };

	switch (rnd_below(4)) {
	case 0:
		return special[rnd_below(sizeof(special) / sizeof(*special))];
	case 1:
		return rnd_addr();
	case 2:
		return rnd_below(9);		/* an fd */
	default:
		return rnd();
	}
}

/* ---- actions ----------------------------------------------------------- */

/*
 * A host mmap through the gadget worked: read every page of it (pulls the
 * host pages in) and keep it for HOLD_MS, long enough for the host-side
 * oracle, which looks about once a second, to see it and to confirm a
 * canary in it (it drops a hit whose mapping is gone within 1 s: UML's
 * lazy flush leaves stale host mappings in a stub that is parked in the
 * kernel, and those go when the process runs).  Sleeping in short steps
 * returns to user mode often, so the stub runs with the mapping kept.
 */
static void got_mapping(unsigned long addr, unsigned long len)
{
	struct stub_probe_state ps;
	volatile unsigned long i;
	unsigned long sum = 0;

	send_msg(M_GADGET_MAP, 0);
	if (len > 16UL << 20)
		len = 16UL << 20;
	stub_probe_begin(&ps);
	for (i = 0; i < len; i += STUB_PAGE) {
		if (sigsetjmp(stub_probe_jmp, 1))
			continue;
		sum += *(volatile unsigned char *)(addr + i);
	}
	stub_probe_end(&ps);
	__asm__ volatile("" : : "r"(sum));
	for (i = 0; i < HOLD_MS; i += HOLD_STEP_MS)
		stub_sleep_ms(HOLD_STEP_MS);
}

static void act_sys(void)
{
	static const long nrs[] = { SYS_futex, SYS_recvmsg, SYS_close,
				    SYS_mmap, SYS_munmap, SYS_arch_prctl,
				    SYS_sched_yield, SYS_getpid };
	long nr = rnd_below(8) ? nrs[rnd_below(8)] : (long)rnd_below(460);

	/* ending ourselves tells nothing */
	if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_rt_sigreturn ||
	    nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3 ||
	    nr == SYS_fork || nr == SYS_kill || nr == SYS_tgkill ||
	    nr == SYS_tkill || nr == SYS_pause)
		nr = SYS_getpid;
	long a1 = rnd_arg(), a2 = rnd_arg(), ret;

	ret = stub_syscall6(nr, a1, a2, rnd_arg(), rnd_arg(), rnd_arg(),
			    rnd_arg());
	if (nr == SYS_mmap && !stub_is_errno(ret))
		got_mapping(ret, a2);
}

static void act_mmap(void)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_EXEC, PROT_NONE, 7 };
	unsigned long addr = rnd_addr(), len = rnd_len(), off;
	int anon = rnd_below(3) == 0;
	long fd = anon ? -1 : (long)rnd_below(9);
	long flags = MAP_FIXED | (rnd_below(2) ? MAP_SHARED : MAP_PRIVATE);
	long ret;

	if (anon)
		flags |= MAP_ANONYMOUS;
	if (rnd_below(4) == 0)
		flags = rnd();
	off = rnd_below(4) ? rnd_below(1 << 17) * STUB_PAGE : rnd();
	ret = stub_syscall6(SYS_mmap, addr, len, prots[rnd_below(5)], flags,
			    fd, off);
	if (!stub_is_errno(ret))
		got_mapping(ret, len);
}

static sigjmp_buf resume_jmp;

static void resume_here(void)
{
	siglongjmp(resume_jmp, 1);
}

static unsigned char alt_stack[65536] __attribute__((aligned(16)));
static ucontext_t frame;

static void act_sigret(void)
{
	unsigned long *w = (unsigned long *)&frame;
	sigset_t mask;
	unsigned int i;

	if (sigsetjmp(resume_jmp, 1))
		return;		/* resumed by our own frame */
	sigemptyset(&mask);
	for (i = 1; i < 64; i++)
		if (rnd_below(8) == 0)
			sigaddset(&mask, i);
	stub_prefault(alt_stack, sizeof(alt_stack));
	stub_prefault(&frame, sizeof(frame));
	stub_build_frame(&frame, resume_here, alt_stack, sizeof(alt_stack),
			 &mask);
	switch (rnd_below(4)) {
	case 0:		/* garbage */
		for (i = 0; i < sizeof(frame) / sizeof(*w); i++)
			w[i] = rnd();
		break;
	case 1:		/* a few random words */
		for (i = 0; i < 4; i++)
			w[rnd_below(sizeof(frame) / sizeof(*w))] = rnd();
		break;
	case 2:		/* a random FP state pointer or flags */
		frame.uc_mcontext.fpregs = (void *)rnd_addr();
		frame.uc_mcontext.gregs[REG_EFL] |= rnd() & 0x3f7fd5;
		break;
	default:	/* near-valid: only the host signal mask is random */
		break;
	}
	stub_rt_sigreturn(&frame);
}

static void act_prctl(void)
{
	static const long ops[] = { 0x1001, 0x1002, 0x1003, 0x1004, 0x1011,
				    0x1012, 0x2001, 0x3001, 0x4001 };
	unsigned long fs;
	long op = rnd_below(5) ? ops[rnd_below(9)] : (long)rnd();
	long arg = rnd_arg();

	if (op == 0x1003 || op == 0x1004)	/* GET_FS/GS write to arg */
		arg = rnd_below(2) ? (long)&fs : rnd_addr();
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	stub_syscall6(SYS_arch_prctl, op, arg, rnd_arg(), 0, 0, 0);
	/* put our TLS back before libc needs it */
	stub_syscall6(SYS_arch_prctl, 0x1002, fs, 0, 0, 0, 0);
	stub_syscall6(SYS_arch_prctl, 0x1001, 0, 0, 0, 0, 0);
}

/*
 * Offsets of the fields of the unpatched stub_data (stub_util.h), and of
 * the hardened one's signal number and frame offsets, which start its
 * second page
 */
static const unsigned int stub_fields[] = {
	0, 8, 16, 24, 32, 40, 48, 3976, 3980, 3984, 3988, 3990, 3992, 4000,
	4008, 4096, 4100, 4102,
};

static void stub_scribble(int n)
{
	unsigned long len = stub.data_pages * STUB_PAGE;
	unsigned long v, off;
	int i;

	for (i = 0; i < n && len; i++) {
		if (rnd_below(2))
			off = stub_fields[rnd_below(sizeof(stub_fields) /
						    sizeof(*stub_fields))];
		else
			off = rnd_below(len - 8);
		v = rnd_below(2) ? rnd() : (unsigned long)rnd_arg();
		stub_try_write(stub.data + off, &v, 1 + rnd_below(8));
	}
}

static void act_stubwr(void)
{
	syscall(SYS_getppid);
	stub_scribble(1 + rnd_below(8));
	syscall(SYS_getppid);	/* let the monitor look at it */
}

static void act_forge(void)
{
	static const long nrs[] = { SYS_getpid, SYS_mmap, SYS_munmap, SYS_brk,
				    SYS_mprotect, SYS_clock_gettime };
	stub_prefault_stack(16384);
	syscall(SYS_getppid);		/* a fresh frame to forge from */
	switch (rnd_below(3)) {
	case 0:
		stub_fake_report(rnd_below(3) ? SIGSYS : (int)rnd_below(65));
		break;
	case 1:
		stub_fake_syscall(nrs[rnd_below(6)], rnd_arg(), rnd_arg(),
				  rnd_arg());
		break;
	default:
		if (stub_find_report())
			break;
		stub_forged.bad_offsets = !rnd_below(4);
		stub_forge(rnd_below(4) ? 0 : (int)rnd_below(3),
			   rnd_below(3) ? SIGSYS : (int)rnd_below(65),
			   nrs[rnd_below(6)], rnd_arg(), rnd_arg(), rnd_arg());
		stub_forged.bad_offsets = 0;
		break;
	}
	if (rnd_below(2))
		stub_spin_ms(rnd_below(20));
	syscall(SYS_getppid);		/* back to the real protocol */
}

static void map_stolen(int fd)
{
	unsigned long len = (1 + rnd_below(64)) << 20;
	unsigned long off = rnd_below(256) << 20;
	unsigned long at = FUZZ_MAP_BASE + (rnd_below(64) << 24);
	long ret;

	ret = stub_syscall6(SYS_mmap, at, len, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, fd, off);
	if (!stub_is_errno(ret))
		got_mapping(at, len);
}

static void act_steal(void)
{
	static char page[8 * 4096] __attribute__((aligned(4096)));
	siginfo_t *info;
	mcontext_t *mctx;
	unsigned long end;
	int fd;

	stub_prefault(&stub_rx, sizeof(stub_rx));
	stub_prefault_stack(65536);
	syscall(SYS_getppid);
	if (stub_last_frame(&info, &mctx))
		return;
	/* fake mmap(0, 8 pages, RW, PRIVATE|ANON|POPULATE, -1, 0) */
	info->si_syscall = SYS_mmap;
	mctx->gregs[REG_RAX] = SYS_mmap;
	mctx->gregs[REG_RDI] = rnd_below(2) ? 0 : (long)page;
	mctx->gregs[REG_RSI] = sizeof(page);
	mctx->gregs[REG_RDX] = PROT_READ | PROT_WRITE;
	mctx->gregs[REG_R10] = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE |
			       (mctx->gregs[REG_RDI] ? MAP_FIXED : 0);
	mctx->gregs[REG_R8] = -1;
	mctx->gregs[REG_R9] = 0;
	stub_fake_report(SIGSYS);
	end = stub_tsc_deadline(200 + rnd_below(800));
	while (!stub_tsc_passed(end)) {
		fd = stub_recv_fd();
		if (fd == -EAGAIN || fd == -EINTR)
			continue;
		if (fd >= 0) {
			send_msg(M_STOLEN_FD, 0);
			map_stolen(fd);
		}
		break;
	}
	syscall(SYS_getppid);
}

static void act_jump(void)
{
	unsigned long target = stub.code + rnd_below(STUB_PAGE);
	register long r10 __asm__("r10") = rnd_arg();
	register long r8 __asm__("r8") = rnd_arg();
	register long r9 __asm__("r9") = rnd_arg();
	long rax = rnd_below(2) ? (long)rnd_below(335) : rnd_arg();

	stub_prefault_stack(16384);
	__asm__ volatile("sub $128, %%rsp\n\t"
			 "call *%[t]\n\t"
			 "add $128, %%rsp"
			 : "+a"(rax), "+r"(r10), "+r"(r8), "+r"(r9)
			 : [t] "r"(target), "D"(rnd_arg()), "S"(rnd_arg()),
			   "d"(rnd_arg())
			 : "rcx", "r11", "memory", "cc");
}

/* Legal work whose result is checked */
static void act_benign(void)
{
	unsigned long len = (1 + rnd_below(64)) * STUB_PAGE, i;
	unsigned char *p;
	char *argv[] = { "true", NULL };
	int status;
	pid_t pid;

	switch (rnd_below(3)) {
	case 0:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		for (i = 0; i < len; i += 512)
			p[i] = i / 512;
		for (i = 0; i < len; i += 512)
			if (p[i] != (unsigned char)(i / 512)) {
				send_msg(M_WRONG, 0);
				break;
			}
		munmap(p, len);
		break;
	case 1:
		pid = fork();
		if (pid == 0) {
			p = malloc(len);
			if (p)
				memset(p, GRANDCHILD_FILL, len);
			_exit(p && p[len - 1] == GRANDCHILD_FILL ? 0 : 1);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status))
			send_msg(M_WRONG, 0);
		break;
	default:
		pid = fork();
		if (pid == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status))
			send_msg(M_WRONG, 0);
		break;
	}
}

static void (*const act_fn[A_NR])(void) = {
	act_sys, act_mmap, act_sigret, act_prctl, act_stubwr, act_forge,
	act_steal, act_jump, act_benign,
};

static int pick_action(void)
{
	int total = 0, i, r;

	for (i = 0; i < A_NR; i++)
		total += enabled[i] ? act_weight[i] : 0;
	r = rnd_below(total);
	for (i = 0; i < A_NR; i++) {
		if (!enabled[i])
			continue;
		if (r < act_weight[i])
			return i;
		r -= act_weight[i];
	}
	return A_BENIGN;
}

static void __attribute__((noreturn)) fuzz_child(int slot, unsigned long nr)
{
	volatile int i, n;
	int a;

	my_slot = slot;
	rng = seed ^ (nr * 0xd1b54a32d192ed03UL);
	rnd();
	/* The tripwire stays out of reach: nothing a child does may reach it */
	if (munmap((void *)tripwire, STUB_PAGE))
		_exit(3);
	if (stub_drop_privs())
		_exit(3);
	n = MIN_ACTIONS + rnd_below(MAX_ACTIONS - MIN_ACTIONS + 1);
	for (i = 0; i < n; i++) {
		a = pick_action();
		send_msg(M_ACT, a);
		act_fn[a]();
	}
	_exit(0);
}

/* ---- the canary companion ---------------------------------------------- */

static void noinline canary_fill(unsigned long *p,
						  unsigned long masked)
{
	unsigned long i, n = CANARY_SLOT / sizeof(*p);

	/*
	 * Magic and secret are written in separate passes so that no two
	 * registers hold both halves of the pattern in a signal frame.
	 */
	for (i = 0; i < n; i += 2)
		p[i] = CANARY_MAGIC;
	for (i = 1; i < n; i += 2)
		p[i] = masked ^ OWNER_XOR;
}

static void say_console(const char *msg)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);

	if (fd < 0 || write(fd, msg, strlen(msg)) < 0) {
		printf("stub-fuzz: cannot write to /dev/console (%s): "
		       "no canary for the host\n", strerror(errno));
		exit(1);
	}
	close(fd);
}

static void __attribute__((noreturn)) canary_companion(void)
{
	unsigned long masked, *owner, i;
	unsigned long n = 0;
	char msg[80];
	void *p;
	int fd;

	/* keep the secret XOR-masked in memory; only the pages hold it */
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, &masked, sizeof(masked)) != sizeof(masked)) {
		printf("stub-fuzz: canary: /dev/urandom: %s\n", strerror(errno));
		_exit(1);
	}
	close(fd);
	owner = mmap((void *)OWNER_ADDR, STUB_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (owner == MAP_FAILED) {
		printf("stub-fuzz: canary: mmap: %s\n", strerror(errno));
		_exit(1);
	}
	for (i = 0; i < STUB_PAGE / 8; i += 2)
		owner[i] = OWNER_MAGIC;
	for (i = 1; i < STUB_PAGE / 8; i += 2)
		owner[i] = masked;	/* = secret ^ OWNER_XOR */
	snprintf(msg, sizeof(msg), "stub-fuzz: canary %016lx pid %d\n",
		 masked ^ OWNER_XOR, getpid());
	say_console(msg);
	memset(msg, 0, sizeof(msg));
	for (;;) {
		p = (void *)(CANARY_ADDR + (n % CANARY_SLOTS) * CANARY_SLOT);
		munmap(p, CANARY_SLOT);
		p = mmap(p, CANARY_SLOT, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED) {
			memset(p, 0, CANARY_SLOT);	/* fault in first */
			canary_fill(p, masked);
			send_msg(M_CANARY, 0);
		}
		n++;
		stub_sleep_ms(CANARY_MS);
	}
}

/* ---- the parent --------------------------------------------------------- */

/* Count what the children and the companion sent so far */
static void drain_msgs(int fd)
{
	struct msg m[256];
	ssize_t n;
	int i;

	while ((n = read(fd, m, sizeof(m))) > 0) {
		for (i = 0; i < n / (ssize_t)sizeof(*m); i++) {
			if (m[i].slot >= NKIDS ||
			    (m[i].kind == M_ACT && m[i].val >= A_NR)) {
				st->bad_msgs++;
				continue;
			}
			switch (m[i].kind) {
			case M_ACT:
				st->act[m[i].val]++;
				st->doing[m[i].slot] = m[i].val;
				break;
			case M_WRONG:
				st->wrong++;
				break;
			case M_GADGET_MAP:
				st->gadget_maps++;
				break;
			case M_STOLEN_FD:
				st->stolen_fds++;
				break;
			case M_CANARY:
				st->canary_cycles++;
				break;
			default:
				st->bad_msgs++;
			}
		}
		if (n % sizeof(*m))
			st->bad_msgs++;
	}
}

static int count_dstate(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;
	pid_t pid;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid = atoi(de->d_name);
		if (pid > 0 && stub_proc_state(pid) == 'D') {
			printf("stub-fuzz: task %d is in D state\n", pid);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Look at the tripwire page; put it back if it changed */
static void check_tripwire(void)
{
	unsigned long i, n = STUB_PAGE / sizeof(*tripwire);

	for (i = 0; i < n && tripwire[i] == TRIPWIRE; i++)
		;
	if (i == n)
		return;
	if (!st->tripwire++)
		printf("stub-fuzz: the shared tripwire page changed: word %lu "
		       "is %#lx\n", i, tripwire[i]);
	for (i = 0; i < n; i++)
		tripwire[i] = TRIPWIRE;
}

static void report(const char *what, unsigned long t, const char *companion,
		   int dstate)
{
	char line[2048];
	int len, i;

	check_tripwire();
	len = snprintf(line, sizeof(line),
		       "stub-fuzz: %s t=%lu seed=%lu children=%lu exited=%lu "
		       "killed=%lu overtime=%lu wrong=%lu gadget_maps=%lu "
		       "stolen_fds=%lu canary_cycles=%lu bad_msgs=%lu "
		       "tripwire=%lu companion=%s dstate=%d", what, t, seed,
		       st->children, st->exited, st->killed, st->overtime,
		       st->wrong, st->gadget_maps, st->stolen_fds,
		       st->canary_cycles, st->bad_msgs, st->tripwire,
		       companion, dstate);
	for (i = 0; i < A_NR; i++)
		len += snprintf(line + len, sizeof(line) - len, " act_%s=%lu",
				act_name[i], st->act[i]);
	for (i = 0; i < A_NR; i++)
		len += snprintf(line + len, sizeof(line) - len, " kill_%s=%lu",
				act_name[i], st->kill[i]);
	printf("%s\n", line);
}

static int parse_actions(const char *list)
{
	char buf[256], *tok, *save;
	int i, found;

	if (!list || !strcmp(list, "all")) {
		for (i = 0; i < A_NR; i++)
			enabled[i] = 1;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",+", &save); tok;
	     tok = strtok_r(NULL, ",+", &save)) {
		found = 0;
		for (i = 0; i < A_NR; i++)
			if (!strcmp(tok, act_name[i]))
				enabled[i] = found = 1;
		if (!found)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long start, last, secs, nr = 0;
	pid_t kids[NKIDS] = { 0 }, companion, pid;
	unsigned long born[NKIDS];
	char comp[64] = "alive";
	int status, slot, dstate, i, pfd[2];

	if (argc < 3 || argc > 4 || parse_actions(argc == 4 ? argv[3] : NULL)) {
		fprintf(stderr, "usage: stub-fuzz SECONDS SEED [ACTIONS]\n"
			"  ACTIONS: comma-separated subset of sys,mmap,sigret,"
			"prctl,stubwr,forge,steal,jump,benign (default all)\n");
		return 2;
	}
	secs = strtoul(argv[1], NULL, 0);
	seed = strtoul(argv[2], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0) {
		printf("stub-fuzz: must run as root (children drop to %d)\n",
		       STUB_NOBODY);
		return 1;
	}
	if (stub_locate()) {
		printf("stub-fuzz: no stub gadget found: nothing to fuzz\n");
		return 1;
	}
	stub_tsc_calibrate();
	if (pipe2(pfd, O_CLOEXEC)) {
		printf("stub-fuzz: pipe: %s\n", strerror(errno));
		return 1;
	}
	msg_fd = pfd[1];
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	tripwire = stub_shared_alloc(STUB_PAGE);
	if (!tripwire)
		return 1;
	for (i = 0; i < (int)(STUB_PAGE / sizeof(*tripwire)); i++)
		tripwire[i] = TRIPWIRE;
	printf("stub-fuzz: start seconds=%lu seed=%lu stub=%#lx gadget=%#lx "
	       "data_pages=%d actions=%s\n", secs, seed, stub.code,
	       stub.gadget, stub.data_pages, argc == 4 ? argv[3] : "all");

	fflush(NULL);
	companion = fork();
	if (companion == 0)
		canary_companion();
	if (companion < 0) {
		printf("stub-fuzz: fork: %s\n", strerror(errno));
		return 1;
	}

	start = last = stub_now_ms();
	while (stub_now_ms() - start < secs * 1000) {
		for (slot = 0; slot < NKIDS; slot++) {
			if (kids[slot]) {
				if (stub_now_ms() - born[slot] > CHILD_SECS * 1000) {
					kill(kids[slot], SIGKILL);
					st->overtime++;
					born[slot] = stub_now_ms();
				}
				continue;
			}
			fflush(NULL);
			pid = fork();
			if (pid == 0)
				fuzz_child(slot, nr);
			if (pid < 0)
				break;
			kids[slot] = pid;
			born[slot] = stub_now_ms();
			st->doing[slot] = A_BENIGN;
			st->children++;
			nr++;
		}
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			stub_sleep_ms(20);
		drain_msgs(pfd[0]);	/* what the child did before it died */
		if (pid > 0 && pid == companion) {
			snprintf(comp, sizeof(comp), "dead(%s)",
				 WIFSIGNALED(status) ?
				 strsignal(WTERMSIG(status)) : "exited");
			printf("stub-fuzz: FAIL: the canary companion died: "
			       "%s\n", comp);
			companion = 0;
			break;
		}
		for (slot = 0; slot < NKIDS; slot++) {
			if (pid <= 0 || kids[slot] != pid)
				continue;
			kids[slot] = 0;
			if (WIFSIGNALED(status)) {
				st->killed++;
				st->kill[st->doing[slot]]++;
			} else {
				st->exited++;
			}
		}
		if (stub_now_ms() - last >= PROGRESS_SECS * 1000) {
			last = stub_now_ms();
			report("progress", (last - start) / 1000, comp, 0);
		}
	}
	printf("stub-fuzz: time is up, stopping the children\n");
	drain_msgs(pfd[0]);
	for (slot = 0; slot < NKIDS; slot++) {
		if (!kids[slot])
			continue;
		kill(kids[slot], SIGKILL);
		if (!stub_wait_child(kids[slot], 10000, &status)) {
			printf("stub-fuzz: child %d not reaped 10 s after "
			       "SIGKILL\n", kids[slot]);
			continue;
		}
		st->killed++;
		st->kill[st->doing[slot]]++;
	}
	drain_msgs(pfd[0]);
	if (companion) {
		if (stub_wait_child(companion, 0, &status)) {
			snprintf(comp, sizeof(comp), "dead(%s)",
				 WIFSIGNALED(status) ?
				 strsignal(WTERMSIG(status)) : "exited");
		} else {
			kill(companion, SIGKILL);
			stub_wait_child(companion, 10000, &status);
		}
	}
	/* give killed tasks a moment to go, then look for stuck ones */
	for (i = 0; i < 20 && (dstate = count_dstate()) > 0; i++)
		stub_sleep_ms(500);
	report("done", (stub_now_ms() - start) / 1000, comp, dstate);
	return strcmp(comp, "alive") || dstate ? 1 : 0;
}
