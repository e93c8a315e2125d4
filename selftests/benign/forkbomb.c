// SPDX-License-Identifier: GPL-2.0
/*
 * forkbomb [LIMIT=5000]: an unprivileged fork bomb must not take the
 * guest down.  In SECCOMP mode every guest process costs the host a
 * process (and file descriptors); when the host refuses a new one, the
 * guest's fork() has to fail cleanly with EAGAIN or ENOMEM, and nothing
 * else in the guest may suffer for it.
 *
 * Run as root.  A "bomb" child lifts RLIMIT_NPROC (so the guest's own
 * per-user limit is not what stops it), drops to uid/gid 1000 and forks
 * children that only pause(), until fork() fails or LIMIT children run.
 * It reports how many it started and the errno of the failing fork(),
 * checks that none of its children died on its own, then kills and reaps
 * them all.  Afterwards root must still be able to fork+exec /bin/true
 * 20 times (within 10 s, as the resources come back asynchronously).
 * Failures: fork() failing with another errno, the bomb or one of its
 * children killed by someone else, the bomb failing or hanging, a child
 * not reaped, root unable to fork afterwards.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include "benign.h"

#define BOMB_UID	1000
#define BOMB_DEADLINE	90	/* seconds for the bomb, then it is stuck */
#define ROOT_FORKS	20
#define MAX_SHOWN	10

struct report {
	int phase;		/* 1: fork loop done, 2: children reaped */
	int started;
	int fork_errno;		/* 0: LIMIT reached */
	int unexpected;		/* children that died before being killed */
	int reaped;
};

static int limit = 5000;
static int repfd[2];

static void send_report(struct report *rep)
{
	if (write(repfd[1], rep, sizeof(*rep)) != sizeof(*rep))
		printf("forkbomb: bomb: report: %s\n", strerror(errno));
}

static int bomb(void *arg)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct report rep = { 0 };
	pid_t *pids, pid;
	int n, i, status;

	close(repfd[0]);
	pids = calloc(limit, sizeof(*pids));
	if (!pids) {
		printf("forkbomb: bomb: calloc: %s\n", strerror(errno));
		return 1;
	}
	if (setrlimit(RLIMIT_NPROC, &rl)) {
		printf("forkbomb: bomb: setrlimit RLIMIT_NPROC: %s\n",
		       strerror(errno));
		return 1;
	}
	if (setgroups(0, NULL) || setgid(BOMB_UID) || setuid(BOMB_UID)) {
		printf("forkbomb: bomb: dropping to uid %d: %s\n", BOMB_UID,
		       strerror(errno));
		return 1;
	}

	for (n = 0; n < limit; n++) {
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			rep.fork_errno = errno;
			break;
		}
		if (pid == 0) {
			close(repfd[1]);
			for (;;)
				pause();
		}
		pids[n] = pid;
		if (n && !(n % 250))
			printf("forkbomb: bomb: %d children\n", n);
	}
	rep.started = n;
	printf("forkbomb: bomb: %d children, then fork: %s\n", n,
	       rep.fork_errno ? strerror(rep.fork_errno) : "(LIMIT reached)");

	/* nobody may have died yet: they only pause() */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (rep.unexpected++ < MAX_SHOWN)
			printf("forkbomb: bomb: child %d died before it was killed: wait status %#x (%s)\n",
			       pid, status, WIFSIGNALED(status) ?
			       strsignal(WTERMSIG(status)) : "exited");
		for (i = 0; i < n; i++)
			if (pids[i] == pid)
				pids[i] = 0;	/* reaped: do not kill its pid */
	}
	rep.phase = 1;
	send_report(&rep);

	for (i = 0; i < n; i++)
		if (pids[i] && kill(pids[i], SIGKILL))
			printf("forkbomb: bomb: kill %d: %s\n", pids[i],
			       strerror(errno));
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid > 0)
			rep.reaped++;
		else if (errno != EINTR)
			break;
	}
	if (errno != ECHILD)
		printf("forkbomb: bomb: waitpid: %s\n", strerror(errno));
	printf("forkbomb: bomb: reaped %d children\n", rep.reaped);
	rep.phase = 2;
	send_report(&rep);
	return 0;
}

/* fork+exec /bin/true as root until it worked ROOT_FORKS times or 10 s */
static int root_forks(void)
{
	char *const argv[] = { "true", NULL };
	double end = bn_now() + 10;
	int ok = 0, fails = 0, status;
	pid_t pid;

	while (ok < ROOT_FORKS && bn_now() < end) {
		pid = fork();
		if (pid < 0) {
			if (fails++ < MAX_SHOWN)
				printf("forkbomb: root fork: %s\n",
				       strerror(errno));
			bn_sleep_ms(100);
			continue;
		}
		if (pid == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		status = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			ok++;
			continue;
		}
		if (fails++ < MAX_SHOWN)
			printf("forkbomb: root's /bin/true: wait status %#x\n",
			       status);
		bn_sleep_ms(100);
	}
	printf("forkbomb: root: %d of %d fork+exec of /bin/true worked, %d failures\n",
	       ok, ROOT_FORKS, fails);
	return ok == ROOT_FORKS;
}

int main(int argc, char **argv)
{
	struct report rep = { 0 }, r;
	struct bn_tally t = { 0 };
	struct bn_proc proc;
	int root_ok, fail;
	const char *ename;

	if (argc > 1)
		limit = atoi(argv[1]);
	if (limit <= 0) {
		fprintf(stderr, "usage: forkbomb [LIMIT=5000]\n");
		return 2;
	}
	if (geteuid()) {
		printf("forkbomb: must run as root\n");
		printf("ok 1 forkbomb # SKIP not root\n");
		return 4;
	}
	if (pipe(repfd)) {
		printf("forkbomb: pipe: %s\n", strerror(errno));
		return bn_result("forkbomb", 1, "setup failed");
	}
	printf("forkbomb: up to %d children as uid %d\n", limit, BOMB_UID);
	if (bn_spawn(&proc, "bomb", bomb, NULL) < 0) {
		printf("forkbomb: fork bomb: %s\n", strerror(errno));
		return bn_result("forkbomb", 1, "fork failed");
	}
	close(repfd[1]);
	bn_wait_all("forkbomb", &proc, 1, bn_now() + BOMB_DEADLINE, NULL,
		    NULL, &t);

	/* the reports are in the pipe by now, or never will be */
	fcntl(repfd[0], F_SETFL, O_NONBLOCK);
	while (read(repfd[0], &r, sizeof(r)) == sizeof(r))
		rep = r;
	close(repfd[0]);

	root_ok = root_forks();

	ename = rep.fork_errno ? strerrorname_np(rep.fork_errno) : "none";
	fail = t.killed || t.failed || t.stuck || !root_ok;
	if (rep.phase < 1) {
		printf("forkbomb: no report from the bomb\n");
		fail = 1;
	}
	if (rep.fork_errno && rep.fork_errno != EAGAIN &&
	    rep.fork_errno != ENOMEM) {
		printf("forkbomb: fork failed with %s, expected EAGAIN or ENOMEM\n",
		       ename ? ename : "?");
		fail = 1;
	}
	if (rep.unexpected)
		fail = 1;
	if (rep.phase < 2) {
		printf("forkbomb: the bomb did not report reaping its children\n");
		fail = 1;
	} else if (rep.reaped + rep.unexpected != rep.started) {
		printf("forkbomb: bomb reaped %d + %d of %d children\n",
		       rep.reaped, rep.unexpected, rep.started);
		fail = 1;
	}
	return bn_result("forkbomb", fail,
			 "started=%d fork_errno=%s killed_unexpectedly=%d root_forks_after=%s bomb_killed=%d bomb_failed=%d bomb_stuck=%d",
			 rep.started, ename ? ename : "?", rep.unexpected,
			 root_ok ? "OK" : "FAIL", t.killed, t.failed, t.stuck);
}
