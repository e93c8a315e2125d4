// SPDX-License-Identifier: GPL-2.0
/*
 * ptrace-toggle: attach a ptrace tracer to host processes and detach it
 * again (or stop and continue them, or freeze and thaw their cgroup), over
 * and over, for a given time.  A host-side helper of scripts/hostfault
 * (built on the host, not part of the guest): it disturbs the host
 * processes of a running UML the way a debugger, a monitoring tool, job
 * control or a container manager might, which must not change what the
 * guest sees.
 *
 *   ptrace-toggle [-m MODE] [-t MS] [-i MS] [-s MS] [-g CGROUP] PID...
 *   ptrace-toggle [-m MODE] [-t MS] [-i MS] [-s MS] [-g CGROUP] -p PPID [-n NAME]
 *
 * The targets are the PIDs given, or (-p) the children of PPID whose name
 * (comm) is NAME (default uml-userspace), looked up again every round.
 * Every round visits each target once:
 *   seize   PTRACE_SEIZE and PTRACE_INTERRUPT
 *   attach  PTRACE_ATTACH (which sends a SIGSTOP)
 *   both    seize and attach in alternate rounds (the default)
 *           and then, for up to -s MS (default 20), waits for the tracees
 *           to stop and detaches each one as soon as it does: a seized one
 *           at its interrupt stop (or at a signal stop, re-injecting that
 *           signal), an attached one at the SIGSTOP (other signals are
 *           delivered with PTRACE_CONT).  A tracee that cannot stop yet (it
 *           sleeps where no signal reaches it) stays attached and is
 *           detached whenever it stops, in a later round.
 *   stop    SIGSTOP to every target, -s MS later (default 3) SIGCONT
 *   freeze  move PPID and every target into cgroup directory -g CGROUP
 *           (cgroup.procs), freeze it (cgroup v1 freezer: freezer.state
 *           FROZEN; cgroup2: cgroup.freeze 1), wait until it is frozen or
 *           -s MS (default 20) have passed, thaw it (THAWED; 0)
 * then sleeps -i MS (default 10) and starts the next round, until -t MS
 * (default 1000) have passed, no PID given is left, or PPID is gone.  On
 * the way out, also on SIGINT, SIGTERM and SIGHUP, a frozen cgroup is
 * thawed, and a tracee that never stopped gets SIGCONT (which discards the
 * SIGSTOP of PTRACE_ATTACH) before the tracer's exit detaches it.
 *
 * Prints one line:
 *   ptrace-toggle: toggles=N seize=N attach=N stops=N stopped=N freezes=N
 *                  frozen=N gone=N eperm=N stuck=N errors=N rounds=N
 *                  maxpids=N
 * (on one line) toggles: tracer attached, tracee stopped and detached
 * again (seize, attach: how many of each); stops: SIGSTOP+SIGCONT pairs
 * sent, stopped: targets seen in the stopped state before the SIGCONT;
 * freezes: freeze+thaw cycles, frozen: those that reached the frozen state
 * in time; gone: the process went away; eperm: the host refused (EPERM);
 * stuck: tracees still not stopped at the end; maxpids: most targets in a
 * round.  Exit status: 0 at least one disturbance, or nothing refused; 3
 * every attempt was refused with EPERM (not permitted here); 2 usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

enum { MODE_SEIZE = 1, MODE_ATTACH = 2, MODE_BOTH = 3, MODE_STOP = 4, MODE_FREEZE = 5 };

static unsigned long n_toggles, n_seize, n_attach, n_stops, n_stopped,
	n_freezes, n_frozen, n_gone, n_eperm, n_stuck, n_errors, n_rounds,
	max_pids;
static volatile sig_atomic_t quit;

static void on_quit(int sig)
{
	(void)sig;
	quit = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static void count_errno(int e)
{
	if (e == ESRCH)
		n_gone++;
	else if (e == EPERM)
		n_eperm++;
	else
		n_errors++;
}

static int read_line(const char *path, char *buf, size_t len);

/* the processes this tracer is attached to and has not detached yet */
struct tracee {
	pid_t pid;
	int seize;
};
static struct tracee *tracees;
static int n_tracees, cap_tracees;

static struct tracee *find_tracee(pid_t pid)
{
	int i;

	for (i = 0; i < n_tracees; i++)
		if (tracees[i].pid == pid)
			return &tracees[i];
	return NULL;
}

static void drop_tracee(struct tracee *t)
{
	*t = tracees[--n_tracees];
}

/* attach to pid unless attached already */
static void trace(pid_t pid, int seize)
{
	if (find_tracee(pid))
		return;
	if (ptrace(seize ? PTRACE_SEIZE : PTRACE_ATTACH, pid, 0, 0) < 0) {
		count_errno(errno);
		return;
	}
	if (seize && ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 && errno != ESRCH)
		n_errors++;
	if (n_tracees == cap_tracees) {
		cap_tracees = cap_tracees ? cap_tracees * 2 : 64;
		tracees = realloc(tracees, cap_tracees * sizeof(*tracees));
		if (!tracees) {
			perror("ptrace-toggle: realloc");
			exit(1);
		}
	}
	tracees[n_tracees].pid = pid;
	tracees[n_tracees].seize = seize;
	n_tracees++;
}

/* handle a wait status of tracee t: detach it when it is in our stop */
static void tracee_event(struct tracee *t, int status)
{
	int sig;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		n_gone++;
		drop_tracee(t);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	sig = WSTOPSIG(status);
	if (t->seize) {
		/* the interrupt's event stop, or a signal stop first */
		if ((status >> 16) == PTRACE_EVENT_STOP)
			sig = 0;
	} else if (sig == SIGSTOP) {
		sig = 0;	/* ours: suppress it */
	} else {
		/* someone else's signal: deliver it, wait for our SIGSTOP */
		if (ptrace(PTRACE_CONT, t->pid, 0, sig) < 0) {
			count_errno(errno);
			drop_tracee(t);
		}
		return;
	}
	if (ptrace(PTRACE_DETACH, t->pid, 0, sig) < 0) {
		count_errno(errno);
	} else {
		n_toggles++;
		if (t->seize)
			n_seize++;
		else
			n_attach++;
	}
	drop_tracee(t);
}

/* wait up to ms for the tracees to stop, detaching each one that does */
static void drain(long ms)
{
	double until = now_ms() + ms;
	struct tracee *t;
	int status;
	pid_t r;

	while (n_tracees && !quit) {
		r = waitpid(-1, &status, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			n_gone += n_tracees;	/* ECHILD: nothing left */
			n_tracees = 0;
			break;
		}
		if (r == 0) {
			if (now_ms() >= until)
				break;
			usleep(200);
			continue;
		}
		t = find_tracee(r);
		if (t)
			tracee_event(t, status);
	}
}

/* on the way out: tracees that never stopped are detached by our exit */
static void let_go(void)
{
	int i;

	n_stuck += n_tracees;
	for (i = 0; i < n_tracees; i++)
		if (!tracees[i].seize)
			kill(tracees[i].pid, SIGCONT);	/* drop our SIGSTOP */
	n_tracees = 0;
}

static char proc_state(pid_t pid)
{
	char path[64], stat[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_line(path, stat, sizeof(stat)))
		return 0;
	p = strrchr(stat, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *nl;

	if (!f)
		return -1;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return 0;
}

static int has_name(pid_t pid, const char *name)
{
	char path[64], comm[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	return !read_line(path, comm, sizeof(comm)) && !strcmp(comm, name);
}

static void add_pid(pid_t **pids, int *n, int *cap, pid_t pid)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*pids = realloc(*pids, *cap * sizeof(**pids));
		if (!*pids) {
			perror("ptrace-toggle: realloc");
			exit(1);
		}
	}
	(*pids)[(*n)++] = pid;
}

/*
 * The children of ppid named name, from /proc/PPID/task/TID/children, else
 * from the parent field of every /proc/PID/stat.  -1 when ppid is gone.
 */
static int scan_children(pid_t ppid, const char *name, pid_t **pids, int *cap)
{
	char path[320];
	struct dirent *de;
	DIR *d;
	int n = 0, have_children_file = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", ppid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		FILE *f;
		int pid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", ppid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		have_children_file = 1;
		while (fscanf(f, "%d", &pid) == 1)
			if (has_name(pid, name) && proc_state(pid) != 'Z')
				add_pid(pids, &n, cap, pid);
		fclose(f);
	}
	closedir(d);
	if (have_children_file)
		return n;

	/* no CONFIG_PROC_CHILDREN: look at every process */
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char stat[512], *p;
		int pid, parent;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (read_line(path, stat, sizeof(stat)))
			continue;
		p = strrchr(stat, ')');	/* after "pid (comm)" */
		if (p && sscanf(p + 1, " %*c %d", &parent) == 1 && parent == ppid &&
		    has_name(pid, name) && p[2] != 'Z')
			add_pid(pids, &n, cap, pid);
	}
	closedir(d);
	return n;
}

/* the cgroup of -g: its directory and whether it is a cgroup v1 freezer */
static char cg_dir[4096];
static int cg_v1, cg_is_frozen;

/* write a string to CGROUP/file: 0, else an errno */
static int cg_write(const char *file, const char *val)
{
	char path[4200];
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", cg_dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		e = errno;
	close(fd);
	return e;
}

static int cg_frozen(void)
{
	char path[4200], line[256];
	FILE *f;
	int frozen = 0;

	if (cg_v1) {
		snprintf(path, sizeof(path), "%s/freezer.state", cg_dir);
		return !read_line(path, line, sizeof(line)) && !strcmp(line, "FROZEN");
	}
	snprintf(path, sizeof(path), "%s/cgroup.events", cg_dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "frozen 1\n"))
			frozen = 1;
	fclose(f);
	return frozen;
}

static void cg_thaw(void)
{
	int i;

	if (!cg_is_frozen)
		return;
	/* this must not fail: try hard */
	for (i = 0; i < 100; i++) {
		if (!cg_write(cg_v1 ? "freezer.state" : "cgroup.freeze", cg_v1 ? "THAWED" : "0"))
			break;
		sleep_ms(10);
	}
	if (i == 100)
		fprintf(stderr, "ptrace-toggle: cannot thaw %s\n", cg_dir);
	cg_is_frozen = 0;
}

/* move pid into the cgroup: 0 moved, 1 gone, -1 failed (counted) */
static int cg_move(pid_t pid)
{
	char buf[32];
	int e;

	snprintf(buf, sizeof(buf), "%d", pid);
	e = cg_write("cgroup.procs", buf);
	if (!e)
		return 0;
	count_errno(e);
	return e == ESRCH ? 1 : -1;
}

static void freeze_round(pid_t ppid, pid_t *pids, int npids, long max_ms)
{
	double until;
	int e, i;

	if (ppid)
		cg_move(ppid);
	for (i = 0; i < npids; i++)
		if (pids[i] && cg_move(pids[i]) == 1)
			pids[i] = 0;
	e = cg_write(cg_v1 ? "freezer.state" : "cgroup.freeze", cg_v1 ? "FROZEN" : "1");
	if (e) {
		count_errno(e);
		return;
	}
	cg_is_frozen = 1;
	n_freezes++;
	until = now_ms() + max_ms;
	do {
		if (cg_frozen()) {
			n_frozen++;
			break;
		}
		sleep_ms(1);
	} while (now_ms() < until && !quit);
	cg_thaw();
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptrace-toggle [-m seize|attach|both|stop|freeze] [-t MS] [-i MS] [-s MS] [-g CGROUP] PID...\n"
		   "       ptrace-toggle [-m seize|attach|both|stop|freeze] [-t MS] [-i MS] [-s MS] [-g CGROUP] -p PPID [-n NAME]\n");
}

int main(int argc, char **argv)
{
	struct sigaction sq = { .sa_handler = on_quit };
	int mode = MODE_BOTH, c, i, npids = 0, cap = 0, live;
	long total_ms = 1000, interval_ms = 10, stop_ms = -1;
	const char *cgroup = NULL;
	const char *name = "uml-userspace";
	pid_t *pids = NULL, ppid = 0;
	double end;

	while ((c = getopt(argc, argv, "hm:t:i:s:p:n:g:")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "seize"))
				mode = MODE_SEIZE;
			else if (!strcmp(optarg, "attach"))
				mode = MODE_ATTACH;
			else if (!strcmp(optarg, "both"))
				mode = MODE_BOTH;
			else if (!strcmp(optarg, "stop"))
				mode = MODE_STOP;
			else if (!strcmp(optarg, "freeze"))
				mode = MODE_FREEZE;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			total_ms = atol(optarg);
			break;
		case 'i':
			interval_ms = atol(optarg);
			break;
		case 's':
			stop_ms = atol(optarg);
			break;
		case 'p':
			ppid = atoi(optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'g':
			cgroup = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (stop_ms < 0)
		stop_ms = mode == MODE_STOP ? 3 : 20;
	if (total_ms < 0 || interval_ms < 0 || ppid < 0 ||
	    (ppid && optind < argc) || (!ppid && optind == argc) ||
	    (mode == MODE_FREEZE) != !!cgroup) {
		usage(stderr);
		return 2;
	}
	if (cgroup) {
		char path[4200];

		snprintf(cg_dir, sizeof(cg_dir), "%s", cgroup);
		snprintf(path, sizeof(path), "%s/freezer.state", cg_dir);
		cg_v1 = !access(path, F_OK);
		snprintf(path, sizeof(path), "%s/cgroup.freeze", cg_dir);
		if (!cg_v1 && access(path, F_OK)) {
			fprintf(stderr, "ptrace-toggle: %s has neither freezer.state nor cgroup.freeze\n", cg_dir);
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		pid_t pid = atoi(argv[i]);

		if (pid <= 0) {
			fprintf(stderr, "ptrace-toggle: bad pid '%s'\n", argv[i]);
			return 2;
		}
		add_pid(&pids, &npids, &cap, pid);
	}
	/* stop cleanly: continue what is stopped, thaw what is frozen */
	sigaction(SIGINT, &sq, NULL);
	sigaction(SIGTERM, &sq, NULL);
	sigaction(SIGHUP, &sq, NULL);

	end = now_ms() + total_ms;
	do {
		int seize = mode == MODE_SEIZE || (mode == MODE_BOTH && !(n_rounds & 1));

		if (ppid) {
			npids = scan_children(ppid, name, &pids, &cap);
			if (npids < 0)
				break;	/* the parent is gone */
		}
		if ((unsigned long)npids > max_pids)
			max_pids = npids;
		live = 0;
		if (mode == MODE_STOP) {
			for (i = 0; i < npids; i++) {
				if (pids[i] && kill(pids[i], SIGSTOP) < 0) {
					count_errno(errno);
					pids[i] = 0;
				}
			}
			sleep_ms(stop_ms);
			for (i = 0; i < npids; i++) {
				if (!pids[i])
					continue;
				if (proc_state(pids[i]) == 'T')
					n_stopped++;
				kill(pids[i], SIGCONT);
				n_stops++;
				live++;
			}
		} else if (mode == MODE_FREEZE) {
			freeze_round(ppid, pids, npids, stop_ms);
			for (i = 0; i < npids; i++)
				live += !!pids[i];
		} else {
			for (i = 0; i < npids && !quit; i++) {
				if (pids[i] && kill(pids[i], 0) < 0 && errno == ESRCH) {
					n_gone++;
					pids[i] = 0;
				}
				if (!pids[i])
					continue;
				trace(pids[i], seize);
				live++;
			}
			drain(stop_ms);
		}
		n_rounds++;
		if (ppid)
			live = 1;	/* keep looking for children */
		if (live)
			sleep_ms(interval_ms);
	} while (live && !quit && now_ms() < end);
	drain(quit ? 0 : stop_ms);
	let_go();
	cg_thaw();

	printf("ptrace-toggle: toggles=%lu seize=%lu attach=%lu stops=%lu stopped=%lu freezes=%lu frozen=%lu gone=%lu eperm=%lu stuck=%lu errors=%lu rounds=%lu maxpids=%lu\n",
	       n_toggles, n_seize, n_attach, n_stops, n_stopped, n_freezes,
	       n_frozen, n_gone, n_eperm, n_stuck, n_errors, n_rounds, max_pids);
	return (!n_toggles && !n_stops && !n_freezes && n_eperm) ? 3 : 0;
}
