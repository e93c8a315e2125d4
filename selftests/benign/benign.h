/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the benign guest workloads: a parent forks worker
 * processes, waits for them with a deadline and accounts for every way a
 * worker can end badly: killed by a signal, exited non-zero, or still
 * alive at the deadline ("stuck", shown with the scheduler state of each
 * of its threads before it is killed).  Data errors ("wrong") are counted
 * by the workers themselves in memory shared with the parent, so they
 * survive a worker that dies afterwards.
 */
#ifndef BENIGN_H
#define BENIGN_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#define BN_PAGE		4096UL

/*
 * Line-buffered output, so nothing sits in a buffer when the guest wedges
 * or panics, and nothing buffered is duplicated by fork().
 */
static void __attribute__((constructor)) bn_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
}

static inline double bn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void bn_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Zero-filled memory shared with every process forked afterwards. */
static inline void *bn_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap shared");
		exit(1);
	}
	return p;
}

/* xorshift64*: a cheap per-thread random number generator */
static inline uint64_t bn_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t bn_seed(uint64_t salt)
{
	uint64_t s = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^
		     salt * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)time(NULL);

	return s ? s : 1;
}

static inline void bn_add(volatile long *counter, long n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static inline long bn_get(volatile long *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Count an error in the caller's and the shared tally, then print it */
#define bn_error(mine, shared, fmt, ...) do {			\
	bn_add(mine, 1);					\
	bn_add(shared, 1);					\
	printf(fmt "\n", ##__VA_ARGS__);			\
} while (0)

struct bn_proc {
	pid_t pid;
	char name[32];
	int done;
	int status;
};

struct bn_tally {
	int killed;
	int failed;
	int stuck;
};

/* Print the "State:" line of a /proc/.../status file, prefixed. */
static inline void bn_show_state(const char *prefix, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("%s: %s: %s\n", prefix, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6)) {
			printf("%s: %s", prefix, line);
			break;
		}
	}
	fclose(f);
}

/* Show a stuck process: its state and the state of each of its threads. */
static inline void bn_show_stuck(const char *name, struct bn_proc *p)
{
	char path[64], prefix[160];
	struct dirent *de;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "%s: stuck %s pid %d", name,
		 p->name, p->pid);
	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	bn_show_state(prefix, path);
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	d = opendir(path);
	if (!d) {
		printf("%s: %s: %s\n", prefix, path, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(prefix, sizeof(prefix), "%s: stuck %s pid %d tid %.16s",
			 name, p->name, p->pid, de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status",
			 p->pid, de->d_name);
		bn_show_state(prefix, path);
	}
	closedir(d);
}

/* Account for one finished process. */
static inline void bn_finished(const char *name, struct bn_proc *p,
			       int status, struct bn_tally *t)
{
	p->done = 1;
	p->status = status;
	if (WIFSIGNALED(status)) {
		printf("%s: %s pid %d killed by signal %d (%s)\n", name,
		       p->name, p->pid, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
		t->killed++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		printf("%s: %s pid %d exited with status %d\n", name,
		       p->name, p->pid, WEXITSTATUS(status));
		t->failed++;
	}
}

/*
 * Wait for the n processes until the absolute (bn_now()) deadline, calling
 * progress() about once a second.  A process still alive at the deadline
 * is shown, counted as stuck, SIGKILLed and given 10 more seconds to die.
 */
static inline void bn_wait_all(const char *name, struct bn_proc *procs,
			       int n, double deadline,
			       void (*progress)(void *), void *arg,
			       struct bn_tally *t)
{
	double next = bn_now() + 1, end;
	int left = n, i, status = 0;
	pid_t r;

	while (left) {
		for (i = 0; i < n; i++) {
			if (procs[i].done)
				continue;
			r = waitpid(procs[i].pid, &status, WNOHANG);
			if (r == procs[i].pid) {
				bn_finished(name, &procs[i], status, t);
				left--;
			} else if (r < 0 && errno != EINTR) {
				printf("%s: waitpid %s pid %d: %s\n", name,
				       procs[i].name, procs[i].pid,
				       strerror(errno));
				procs[i].done = 1;
				t->failed++;
				left--;
			}
		}
		if (!left)
			break;
		if (bn_now() >= deadline)
			break;
		if (progress && bn_now() >= next) {
			progress(arg);
			next += 1;
		}
		bn_sleep_ms(50);
	}
	if (!left)
		return;

	for (i = 0; i < n; i++) {
		if (procs[i].done)
			continue;
		bn_show_stuck(name, &procs[i]);
		t->stuck++;
		kill(procs[i].pid, SIGKILL);
	}
	end = bn_now() + 10;
	while (left && bn_now() < end) {
		for (i = 0; i < n; i++) {
			if (procs[i].done)
				continue;
			r = waitpid(procs[i].pid, &status, WNOHANG);
			if (r == procs[i].pid || (r < 0 && errno != EINTR)) {
				printf("%s: stuck %s pid %d died after SIGKILL\n",
				       name, procs[i].name, procs[i].pid);
				procs[i].done = 1;
				procs[i].status = status;
				left--;
			}
		}
		if (left)
			bn_sleep_ms(100);
	}
	for (i = 0; i < n; i++)
		if (!procs[i].done)
			printf("%s: stuck %s pid %d still alive 10 s after SIGKILL\n",
			       name, procs[i].name, procs[i].pid);
}

/* fork() with stdio flushed; the child runs fn(arg) and _exit()s with it. */
static inline pid_t bn_spawn(struct bn_proc *p, const char *pname,
			     int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int rc = fn(arg);

		fflush(stdout);
		_exit(rc);
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(p->name, sizeof(p->name), "%s", pname);
	return pid;
}

/* The last two lines of every program: a summary and a TAP result. */
static inline int bn_result(const char *name, int fail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int bn_result(const char *name, int fail, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s ", name, fail ? "FAIL" : "ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n%s 1 %s\n", fail ? "not ok" : "ok", name);
	fflush(stdout);
	return fail ? 1 : 0;
}

#endif /* BENIGN_H */
