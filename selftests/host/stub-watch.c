// SPDX-License-Identifier: GPL-2.0
/*
 * stub-watch: the host-side oracle of scripts/fuzz.  It looks at the host
 * processes of a running UML in SECCOMP mode from the outside, trusting
 * nothing the guest says except the canary secret it printed on the
 * console (built on the host, not part of the guest).
 *
 *   stub-watch -p UMLPID [-s SECRET] [-i MS] [-T TASK_SIZE] [-S STUB]
 *              [-d DIR]
 *
 * Every -i MS (default 1000) until UMLPID is gone or on SIGINT/SIGTERM,
 * for every process of UMLPID's session (UML calls setsid()) other than
 * UML itself that is named uml-userspace (a stub: one per guest address
 * space):
 *
 *  maps   /proc/PID/maps must look like a benign stub's: the stub code page
 *         at STUB (default 0x7fffffffc000, not writable) and its two data
 *         pages after it (in one mapping, or two when the first is
 *         read-only), every other mapping a shared mapping of the same
 *         file as the stub code page (UML's memory file) below TASK_SIZE
 *         (default 0x7f8000000000, the guest's TASK_SIZE on a 47-bit
 *         host), plus [vsyscall].  Anything else (anonymous memory, another
 *         file, a private mapping, anything between TASK_SIZE and the stub
 *         or above it) is a BAD-MAPPING; a stub that had its pages and
 *         lost them (or never had them after 3 looks), and is not
 *         exiting (PF_EXITING), is STUB-PAGES.  A
 *         stub that still has its executable mapped (a memfd named
 *         uml-userspace, with a stack, [vdso] and [vvar]) is starting:
 *         no guest code runs in it yet, it is not judged; one still
 *         starting after 5 looks is counted as a slow start (a loaded
 *         vCPU delays them), not a finding.
 *  memory with -s: every mapping is read through /proc/PID/mem and every
 *         16-byte aligned position compared with the canary
 *         "UMLFZCAN" + SECRET (64-bit, hex, little-endian in memory) and
 *         the owner marker "UMLFZOWN" + (SECRET ^ 0x5a5aa5a5c3c33c3c)
 *         that stub-fuzz's companion writes.  The companion's own stub is
 *         the one whose page at OWNER_ADDR starts with the owner marker;
 *         there, hits are allowed in its canary slots and owner page
 *         [CANARY_ADDR, OWNER_ADDR + 4096) and in its own stub pages
 *         (signal frames may hold its registers).  Any other hit, in any
 *         stub, is a CANARY (or OWNER-PATTERN) leak once confirmed (see
 *         below); two stubs claiming the owner page is TWO-OWNERS.
 *
 * A canary or owner-pattern hit is confirmed before it counts.  UML
 * flushes lazily: when a guest process unmaps memory (or exits, or its
 * pages are reclaimed), the guest frees the frames at once, but the host
 * munmap in that process's stub runs only when the process next returns
 * to user mode, or the stub is killed when the address space is gone.
 * Until then the stub is parked, runs no guest code, and still maps the
 * frames; if the companion gets one meanwhile and fills it, the stub's
 * /proc/PID/mem shows the canary through a mapping the guest can no
 * longer reach.  So a hit is looked at again every CONFIRM_STEP_MS: if
 * the stub is gone, exiting or another process, or the page at the hit
 * is no longer mapped from the same file at the same offset (the process
 * ran and synced), the hit is TRANSIENT (lazy flush): logged and counted,
 * not a finding.  If that page is still mapped the same way CONFIRM_MS
 * after the hit, it is a finding, whether the canary is still in it or
 * not (the line says, and how often the stub was scheduled meanwhile:
 * a stub that ran and kept the mapping let guest code reach it).  The
 * kernel shoots down stale mappings of stubs that run guest code on
 * another vCPU, so a stale mapping that outlives the process running is
 * a real leak; stub-fuzz keeps what it maps through the stub for 3 s, so
 * a real leak outlives the confirmation.  A hit still pending when UML
 * is gone or the oracle is stopped is settled the same way before the
 * end line (its stub is then gone: transient).  Maps findings are not
 * confirmed: a stale mapping of the memory file is still a shared
 * mapping of it below TASK_SIZE, which the maps check allows anyway.
 *
 * With -d DIR, the maps of a stub with a finding, as they were at its
 * first finding, are kept in DIR/stub-PID.maps.
 *
 * Findings are printed as they are seen (canary and owner-pattern hits
 * when confirmed), one line each, at most MAX_SHOWN per kind (all are
 * counted), deduplicated per stub, kind and mapping:
 *   stub-watch: t=SECS KIND pid=PID addr=ADDR what=DETAIL
 * (for a confirmed hit DETAIL starts with
 * "confirmed-after-MSms-ran-N-pattern-still|gone-at-HITADDR:"), transient
 * hits, at most MAX_SHOWN per kind, as
 *   stub-watch: t=SECS transient KIND stub=PID addr=ADDR after=MSms
 *     why=mapping-gone|stub-gone ran=N what=DETAIL
 * and at the end one line:
 *   stub-watch: end rounds=N stubs_seen=N max_stubs=N established=N
 *     scanned_mb=N owner_rounds=N owner=PID bad_mappings=N stub_pages=N
 *     canary_hits=N owner_pattern_hits=N two_owners=N read_errors=N
 *     slow_starts=N transient_canary=N transient_owner=N
 *     transient_mapping_gone=N transient_stub_gone=N
 * (ran: times the stub was scheduled between the hit and the decision,
 * from its context switch counts).
 * Exit status: 0 no finding, 1 findings, 2 usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define CANARY_MAGIC	0x4e41435a464c4d55UL	/* "UMLFZCAN" */
#define OWNER_MAGIC	0x4e574f5a464c4d55UL	/* "UMLFZOWN" */
#define OWNER_XOR	0x5a5aa5a5c3c33c3cUL
#define CANARY_ADDR	0x3f0000000000UL
#define OWNER_ADDR	(CANARY_ADDR + 0x1000000UL)	/* after the slots */
#define VSYSCALL	0xffffffffff600000UL
#define PF_EXITING	0x00000004UL	/* include/linux/sched.h */
#define CHUNK		(1UL << 20)
#define MAX_PIDS	4096
#define MAX_SHOWN	20
#define MAX_START_LOOKS	5
#define MAX_SEEN	8192
#define CONFIRM_MS	1000	/* a hit still mapped after this is a finding */
#define CONFIRM_STEP_MS	200	/* how often a pending hit is looked at */
#define MAX_PENDING	256

enum { F_BAD_MAPPING, F_STUB_PAGES, F_CANARY, F_OWNER, F_TWO_OWNERS, F_NR };
static const char *const kind_name[F_NR] = {
	"BAD-MAPPING", "STUB-PAGES", "CANARY", "OWNER-PATTERN", "TWO-OWNERS",
};

static unsigned long task_size = 0x7f8000000000UL;
static unsigned long stub_addr = 0x7fffffffc000UL;
static unsigned long secret;
static int have_secret;
static char memfile[64];		/* "dev inode" of UML's memory file */
static volatile sig_atomic_t stop;
static struct timespec t0;

static unsigned long findings[F_NR], rounds, stubs_seen, max_stubs;
static unsigned long established_total, scanned, owner_rounds, read_errors;
static unsigned long slow_starts;
static unsigned long transients[F_NR], trans_mapping_gone, trans_stub_gone;
static int owner_pid;

/* What we remember about a stub between rounds */
struct stub_proc {
	int pid;
	unsigned long long starttime;
	int established;	/* has been seen with its stub pages */
	int looks;		/* rounds seen without them */
	int round;		/* last round seen */
};

static struct stub_proc procs[MAX_PIDS];

/* Findings already printed/counted: (pid, kind, address) */
static struct { int pid, kind; unsigned long addr; } seen[MAX_SEEN];
static int nseen;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static const char *dump_dir;

/* With -d DIR: keep DIR/stub-PID.maps, the maps of a stub with findings */
static void dump_maps(int pid)
{
	char path[4096], buf[4096];
	int in, out;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stub-%d.maps", dump_dir, pid);
	if (access(path, F_OK) == 0)
		return;
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	snprintf(buf, sizeof(buf), "/proc/%d/maps", pid);
	in = open(buf, O_RDONLY);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static int seen_before(int kind, int pid, unsigned long addr)
{
	int i;

	for (i = 0; i < nseen; i++)
		if (seen[i].pid == pid && seen[i].kind == kind &&
		    seen[i].addr == addr)
			return 1;
	return 0;
}

static void finding(int kind, int pid, unsigned long addr, const char *what)
{
	if (seen_before(kind, pid, addr))
		return;
	if (dump_dir)
		dump_maps(pid);
	if (nseen < MAX_SEEN) {
		seen[nseen].pid = pid;
		seen[nseen].kind = kind;
		seen[nseen].addr = addr;
		nseen++;
	}
	if (findings[kind]++ < MAX_SHOWN)
		printf("stub-watch: t=%.1f %s pid=%d addr=%#lx what=%s\n",
		       now_s(), kind_name[kind], pid, addr, what);
}

static void on_signal(int sig)
{
	stop = 1;
}

/* Session id, state, flags and start time of PID from /proc/PID/stat */
static int read_stat_flags(int pid, int *sid, char *state,
			   unsigned long *flags, unsigned long long *starttime)
{
	char path[64], buf[1024], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %*d %*d %d %*d %*d %lu %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu", state, sid,
			 flags, starttime) != 4)
		return -1;
	return 0;
}

static int read_stat(int pid, int *sid, char *state,
		     unsigned long long *starttime)
{
	unsigned long flags;

	return read_stat_flags(pid, sid, state, &flags, starttime);
}

/*
 * A process on its way out: while its address space is torn down, its
 * maps can lack the stub pages for a moment.  Nothing runs in it any more.
 */
static int exiting(int pid)
{
	unsigned long long st;
	unsigned long flags;
	char state;
	int sid;

	return read_stat_flags(pid, &sid, &state, &flags, &st) ||
	       state == 'Z' || state == 'X' || (flags & PF_EXITING);
}

static int is_stub(int pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strcmp(comm, "uml-userspace\n");
}

static struct stub_proc *proc_slot(int pid, unsigned long long starttime)
{
	struct stub_proc *free_slot = NULL;
	int i;

	for (i = 0; i < MAX_PIDS; i++) {
		if (procs[i].pid == pid) {
			if (procs[i].starttime == starttime)
				return &procs[i];
			free_slot = &procs[i];	/* pid reused */
			break;
		}
		if (!free_slot && (!procs[i].pid || procs[i].round < (int)rounds - 5))
			free_slot = &procs[i];
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->pid = pid;
	free_slot->starttime = starttime;
	stubs_seen++;
	return free_slot;
}

struct mapping {
	unsigned long start, end, pgoff;
	char perms[8], file[64], line[256];
};

#define MAX_MAPS	16384
static struct mapping maps[MAX_MAPS];

static int read_maps(int pid)
{
	char path[64], line[512], dev[32], name[256];
	unsigned long ino;
	FILE *f;
	int n = 0, k;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < MAX_MAPS && fgets(line, sizeof(line), f)) {
		struct mapping *m = &maps[n];

		name[0] = 0;
		k = sscanf(line, "%lx-%lx %7s %lx %31s %lu %255s", &m->start,
			   &m->end, m->perms, &m->pgoff, dev, &ino, name);
		if (k < 6)
			continue;
		snprintf(m->file, sizeof(m->file), "%s %lu", dev, ino);
		line[strcspn(line, "\n")] = 0;
		snprintf(m->line, sizeof(m->line), "%.255s", line);
		for (k = 0; m->line[k]; k++)
			if (m->line[k] == ' ')
				m->line[k] = '_';
		n++;
	}
	fclose(f);
	return n;
}

/*
 * A stub that is still starting has its executable (a memfd named
 * uml-userspace), a stack, [vdso] and [vvar] mapped until it drops them
 * and waits for the kernel: nothing of the guest runs in it yet.
 */
static int starting(int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strstr(maps[i].line, "/memfd:uml-userspace"))
			return 1;
	return 0;
}

/* Check the layout; returns whether the stub pages are there */
static int check_maps(struct stub_proc *sp, int n)
{
	int i, code = 0, data = 0;

	if (!sp->established && starting(n)) {
		if (++sp->looks == MAX_START_LOOKS)
			slow_starts++;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct mapping *m = &maps[i];

		if (m->start == stub_addr && m->end == stub_addr + PAGE &&
		    m->perms[1] != 'w') {
			if (!memfile[0] && m->perms[3] == 's' &&
			    strcmp(m->file, "00:00 0"))
				snprintf(memfile, sizeof(memfile), "%s", m->file);
			code = !strcmp(m->file, memfile);
		}
		/* one mapping, or two where the first page is read-only */
		if (m->start <= stub_addr + PAGE &&
		    m->end >= stub_addr + 2 * PAGE && !strcmp(m->file, memfile))
			data |= 1;
		if (m->start <= stub_addr + 2 * PAGE &&
		    m->end >= stub_addr + 3 * PAGE && !strcmp(m->file, memfile))
			data |= 2;
	}
	if (!code || data != 3) {
		if (exiting(sp->pid))
			return 0;
		if (sp->established)
			finding(F_STUB_PAGES, sp->pid, stub_addr,
				code ? "stub-data-pages-gone" : "stub-code-page-gone");
		else if (++sp->looks >= 3)
			finding(F_STUB_PAGES, sp->pid, stub_addr,
				"never-had-its-stub-pages");
		return 0;
	}
	if (!sp->established)
		established_total++;
	sp->established = 1;
	for (i = 0; i < n; i++) {
		struct mapping *m = &maps[i];

		if (m->start == VSYSCALL && strstr(m->line, "[vsyscall]"))
			continue;
		if (m->start >= stub_addr && m->end <= stub_addr + 3 * PAGE &&
		    !strcmp(m->file, memfile) && m->perms[3] == 's' &&
		    (m->start != stub_addr || m->perms[1] != 'w'))
			continue;
		if (m->end <= task_size && !strcmp(m->file, memfile) &&
		    m->perms[3] == 's')
			continue;
		finding(F_BAD_MAPPING, sp->pid, m->start, m->line);
	}
	return 1;
}

static int mem_fd(int pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	return open(path, O_RDONLY);
}

static int is_owner(int fd)
{
	unsigned long w[2];

	return pread(fd, w, sizeof(w), OWNER_ADDR) == sizeof(w) &&
	       w[0] == OWNER_MAGIC && w[1] == (secret ^ OWNER_XOR);
}

static int allowed_in_owner(unsigned long addr)
{
	return (addr >= CANARY_ADDR && addr < OWNER_ADDR + PAGE) ||
	       (addr >= stub_addr && addr < stub_addr + 3 * PAGE);
}

/*
 * A canary or owner-pattern hit waiting for confirmation: the page at HIT
 * must still map the same file at the same offset CONFIRM_MS later, in
 * the same process (see the comment at the top).
 */
struct pending {
	int pid, kind;
	unsigned long long starttime;
	unsigned long map_start;	/* the mapping, as finding() keys it */
	unsigned long hit;		/* where the pattern was */
	char file[64];			/* what the page at hit mapped */
	unsigned long off;		/* file offset of that page */
	long ctxt;			/* stub's context switches at the hit */
	double t_hit, t_next;
	char what[300];
};

static struct pending pend[MAX_PENDING];
static int npend;

/* Voluntary plus involuntary context switches of PID, -1 if unknown */
static long ctxt_switches(int pid)
{
	char path[64], line[256];
	long n = 0, v;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1) {
			n += v;
			found++;
		}
	fclose(f);
	return found == 2 ? n : -1;
}

static void pattern_of(int kind, unsigned long w[2])
{
	w[0] = kind == F_CANARY ? CANARY_MAGIC : OWNER_MAGIC;
	w[1] = kind == F_CANARY ? secret : secret ^ OWNER_XOR;
}

static void add_pending(int kind, struct stub_proc *sp, struct mapping *m,
			unsigned long hit, const char *what)
{
	struct pending *p;
	char detail[400];
	int i;

	if (seen_before(kind, sp->pid, m->start))
		return;
	for (i = 0; i < npend; i++)
		if (pend[i].pid == sp->pid && pend[i].kind == kind &&
		    pend[i].starttime == sp->starttime &&
		    pend[i].map_start == m->start)
			return;
	if (npend == MAX_PENDING) {
		snprintf(detail, sizeof(detail),
			 "unconfirmed-too-many-pending-at-%#lx:%s", hit, what);
		finding(kind, sp->pid, m->start, detail);
		return;
	}
	p = &pend[npend++];
	p->pid = sp->pid;
	p->kind = kind;
	p->starttime = sp->starttime;
	p->map_start = m->start;
	p->hit = hit;
	snprintf(p->file, sizeof(p->file), "%s", m->file);
	p->off = m->pgoff + ((hit & ~(PAGE - 1)) - m->start);
	p->ctxt = ctxt_switches(sp->pid);
	p->t_hit = now_s();
	p->t_next = p->t_hit + CONFIRM_STEP_MS / 1000.0;
	snprintf(p->what, sizeof(p->what), "%s", what);
}

static void transient(struct pending *p, const char *why, const char *ran)
{
	if (transients[p->kind]++ < MAX_SHOWN)
		printf("stub-watch: t=%.1f transient %s stub=%d addr=%#lx "
		       "after=%.0fms why=%s ran=%s what=%s\n", now_s(),
		       kind_name[p->kind], p->pid, p->map_start,
		       (now_s() - p->t_hit) * 1000, why, ran, p->what);
	if (!strcmp(why, "mapping-gone"))
		trans_mapping_gone++;
	else
		trans_stub_gone++;
}

/*
 * Look at the pending hits that are due; returns the time the next one
 * is due (or a large value when none is pending).
 */
static double check_pending(void)
{
	unsigned long long starttime;
	unsigned long flags, w[2], want[2];
	double next = 1e18, t;
	char state, ran[32], detail[400];
	struct pending *p;
	long ctxt;
	int i, j, n, sid, fd, still;

	for (i = 0; i < npend; i++) {
		p = &pend[i];
		t = now_s();
		if (p->t_next > t) {
			if (p->t_next < next)
				next = p->t_next;
			continue;
		}
		ctxt = ctxt_switches(p->pid);
		if (ctxt >= 0 && p->ctxt >= 0)
			snprintf(ran, sizeof(ran), "%ld", ctxt - p->ctxt);
		else
			snprintf(ran, sizeof(ran), "unknown");
		if (read_stat_flags(p->pid, &sid, &state, &flags, &starttime) ||
		    starttime != p->starttime || state == 'Z' || state == 'X' ||
		    (flags & PF_EXITING)) {
			transient(p, "stub-gone", ran);
			goto drop;
		}
		n = read_maps(p->pid);
		for (j = 0; j < n; j++)
			if (maps[j].start <= p->hit && p->hit < maps[j].end)
				break;
		if (n <= 0 || j == n || strcmp(maps[j].file, p->file) ||
		    maps[j].pgoff + ((p->hit & ~(PAGE - 1)) - maps[j].start) !=
		    p->off) {
			transient(p, "mapping-gone", ran);
			goto drop;
		}
		if (t - p->t_hit < CONFIRM_MS / 1000.0) {
			p->t_next = t + CONFIRM_STEP_MS / 1000.0;
			if (p->t_next < next)
				next = p->t_next;
			continue;
		}
		/* still mapped the same way: a finding */
		pattern_of(p->kind, want);
		fd = mem_fd(p->pid);
		still = fd >= 0 && pread(fd, w, sizeof(w), p->hit) == sizeof(w) &&
			w[0] == want[0] && w[1] == want[1];
		if (fd >= 0)
			close(fd);
		snprintf(detail, sizeof(detail),
			 "confirmed-after-%.0fms-ran-%s-pattern-%s-at-%#lx:%s",
			 (t - p->t_hit) * 1000, ran, still ? "still" : "gone",
			 p->hit, p->what);
		finding(p->kind, p->pid, p->map_start, detail);
drop:
		pend[i--] = pend[--npend];
	}
	return next;
}

static unsigned long buf[CHUNK / sizeof(unsigned long)];

static void scan_mem(struct stub_proc *sp, int fd, int n, int owner)
{
	unsigned long addr, len, i, hit;
	char what[300];
	ssize_t got;
	int m;

	for (m = 0; m < n; m++) {
		if (maps[m].start == VSYSCALL)
			continue;
		for (addr = maps[m].start; addr < maps[m].end; addr += len) {
			len = maps[m].end - addr;
			if (len > CHUNK)
				len = CHUNK;
			got = pread(fd, buf, len, addr);
			if (got <= 0) {
				read_errors++;
				break;
			}
			scanned += got;
			for (i = 0; i + 1 < (unsigned long)got / 8; i += 2) {
				int kind;

				if (buf[i] == CANARY_MAGIC && buf[i + 1] == secret)
					kind = F_CANARY;
				else if (buf[i] == OWNER_MAGIC &&
					 buf[i + 1] == (secret ^ OWNER_XOR))
					kind = F_OWNER;
				else
					continue;
				hit = addr + i * 8;
				if (owner && allowed_in_owner(hit))
					continue;
				snprintf(what, sizeof(what), "%s%s",
					 owner ? "in-the-companion-outside-its-pages:" : "",
					 maps[m].line);
				add_pending(kind, sp, &maps[m], hit, what);
				break;	/* one per chunk is enough */
			}
		}
	}
}

static void watch_round(int uml)
{
	int pid, sid, fd, n, nstubs = 0, owner, first_owner = 0;
	unsigned long long starttime;
	struct stub_proc *sp;
	struct dirent *de;
	char state, what[64];
	DIR *d;

	rounds++;
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid = atoi(de->d_name);
		if (pid <= 0 || pid == uml)
			continue;
		if (read_stat(pid, &sid, &state, &starttime) || sid != uml ||
		    state == 'Z' || state == 'X' || !is_stub(pid))
			continue;
		sp = proc_slot(pid, starttime);
		if (!sp)
			continue;
		sp->round = rounds;
		nstubs++;
		n = read_maps(pid);
		if (n <= 0 || !check_maps(sp, n) || !have_secret)
			continue;
		fd = mem_fd(pid);
		if (fd < 0)
			continue;
		owner = is_owner(fd);
		if (owner) {
			if (first_owner && first_owner != pid) {
				snprintf(what, sizeof(what), "also-pid-%d",
					 first_owner);
				finding(F_TWO_OWNERS, pid, OWNER_ADDR, what);
			}
			first_owner = pid;
		}
		scan_mem(sp, fd, n, owner);
		close(fd);
	}
	closedir(d);
	if (first_owner) {
		owner_rounds++;
		owner_pid = first_owner;
	}
	if (nstubs > (int)max_stubs)
		max_stubs = nstubs;
}

/* Sleep until now_s() reaches T (a signal ends it early) */
static void sleep_until(double t)
{
	struct timespec ts;
	double d = t - now_s();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int uml_alive(int uml)
{
	unsigned long long st;
	char state;
	int sid;

	return !read_stat(uml, &sid, &state, &st) && state != 'Z' &&
	       state != 'X';
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double next_round = 0, next;
	long interval = 1000;
	int uml = 0, opt, i, total = 0;

	while ((opt = getopt(argc, argv, "p:s:i:T:S:d:")) != -1) {
		switch (opt) {
		case 'd':
			dump_dir = optarg;
			break;
		case 'p':
			uml = atoi(optarg);
			break;
		case 's':
			secret = strtoul(optarg, NULL, 16);
			have_secret = 1;
			break;
		case 'i':
			interval = atol(optarg);
			break;
		case 'T':
			task_size = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			stub_addr = strtoul(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (uml <= 0 || interval <= 0 || optind != argc)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && uml_alive(uml)) {
		if (now_s() >= next_round) {
			watch_round(uml);
			next_round = now_s() + interval / 1000.0;
		}
		next = check_pending();
		sleep_until(next < next_round ? next : next_round);
	}
	/* settle what is pending: each is decided within CONFIRM_MS */
	while (npend) {
		next = check_pending();
		if (npend)
			sleep_until(next);
	}
	for (i = 0; i < F_NR; i++)
		total += findings[i];
	printf("stub-watch: end rounds=%lu stubs_seen=%lu max_stubs=%lu "
	       "established=%lu scanned_mb=%lu owner_rounds=%lu owner=%d "
	       "bad_mappings=%lu stub_pages=%lu canary_hits=%lu "
	       "owner_pattern_hits=%lu two_owners=%lu read_errors=%lu "
	       "slow_starts=%lu transient_canary=%lu transient_owner=%lu "
	       "transient_mapping_gone=%lu transient_stub_gone=%lu\n",
	       rounds, stubs_seen, max_stubs, established_total,
	       scanned >> 20, owner_rounds, owner_pid,
	       findings[F_BAD_MAPPING], findings[F_STUB_PAGES],
	       findings[F_CANARY], findings[F_OWNER], findings[F_TWO_OWNERS],
	       read_errors, slow_starts, transients[F_CANARY],
	       transients[F_OWNER], trans_mapping_gone, trans_stub_gone);
	return total ? 1 : 0;
usage:
	fprintf(stderr, "usage: stub-watch -p UMLPID [-s SECRET] [-i MS] "
		"[-T TASK_SIZE] [-S STUB] [-d DIR]\n");
	return 2;
}
