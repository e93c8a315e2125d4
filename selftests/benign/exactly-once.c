// SPDX-License-Identifier: GPL-2.0
/*
 * exactly-once SECONDS DIR: every guest system call must take effect
 * exactly once, also while the host stops and continues the processes
 * that run the guest's userspace (the SECCOMP stubs).  A system call that
 * the guest kernel runs twice, or not at all, after such an interruption
 * shows up here as a duplicated or a missing number.
 *
 * A writer process counts 0, 1, 2, ... for SECONDS.  For each number it
 *   - writes the number (4 bytes, one write(2)) into a pipe,
 *   - appends it as one fixed-width line "%010u\n" (one write(2)) to
 *     DIR/exactly-once.log, opened O_APPEND and truncated first,
 *   - adds 1 to an eventfd counter (one write(2)).
 * A reader process reads the pipe 4 bytes at a time and expects each
 * number to be the previous one plus one: a number seen again is a "dup",
 * a gap counts the numbers "lost".  Both processes take a SIGALRM (with
 * SA_RESTART) every few milliseconds, so blocking calls get interrupted
 * and restarted too.  Afterwards the log must hold exactly 0..N-1 in
 * order ("file_bad" counts the deviations) and the eventfd must read N.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "benign.h"

#define LINE		11		/* "%010u\n" */
#define MAX_N		(1U << 24)	/* caps the log at 176 MiB */
#define MAX_SHOWN	10

struct shared {
	unsigned int n;		/* numbers fully written so far */
	unsigned int got;	/* numbers read from the pipe so far */
	unsigned int next;	/* the number the reader expects next */
	long dup, lost;
	long eintr;
	int capped;
};

static struct shared *sh;
static int pipefd[2], logfd, efd;
static double start_time, end_time;
static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	ticks++;
}

/* SIGALRM every 3 ms, restarting the calls it interrupts */
static void start_ticks(void)
{
	struct itimerval it = { { 0, 3000 }, { 0, 3000 } };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* One write(2) that must write all of len bytes (EINTR: nothing written). */
static int write_once(int fd, const void *buf, size_t len, const char *what)
{
	ssize_t r;

	for (;;) {
		r = write(fd, buf, len);
		if (r == (ssize_t)len)
			return 0;
		if (r < 0 && errno == EINTR) {
			bn_add(&sh->eintr, 1);
			continue;
		}
		if (r < 0)
			printf("exactly-once: writer: write to %s: %s\n", what,
			       strerror(errno));
		else
			printf("exactly-once: writer: write to %s: %zd of %zu bytes\n",
			       what, r, len);
		return -1;
	}
}

static int writer(void *arg)
{
	const uint64_t one = 1;
	char line[LINE + 1];
	unsigned int i;
	int rc = 0;

	close(pipefd[0]);
	start_ticks();
	for (i = 0; ; i++) {
		if (!(i & 63) && bn_now() >= end_time)
			break;
		if (i == MAX_N) {
			sh->capped = 1;
			break;
		}
		snprintf(line, sizeof(line), "%010u\n", i);
		if (write_once(pipefd[1], &i, sizeof(i), "the pipe") ||
		    write_once(logfd, line, LINE, "the log") ||
		    write_once(efd, &one, sizeof(one), "the eventfd")) {
			rc = 1;
			break;
		}
		__atomic_store_n(&sh->n, i + 1, __ATOMIC_RELAXED);
	}
	close(pipefd[1]);
	return rc;
}

/* Read 4 bytes, looping on short reads: 1 done, 0 end of file, -1 error */
static int read4(unsigned int *v)
{
	char *p = (char *)v;
	size_t got = 0;
	ssize_t r;

	while (got < sizeof(*v)) {
		r = read(pipefd[0], p + got, sizeof(*v) - got);
		if (r > 0) {
			got += r;
		} else if (r == 0) {
			if (!got)
				return 0;
			printf("exactly-once: reader: end of file after %zu bytes of a number\n",
			       got);
			return -1;
		} else if (errno == EINTR) {
			bn_add(&sh->eintr, 1);
		} else {
			printf("exactly-once: reader: read: %s\n",
			       strerror(errno));
			return -1;
		}
	}
	return 1;
}

static int reader(void *arg)
{
	unsigned int v, next = 0;
	long shown = 0;
	int r;

	close(pipefd[1]);
	close(logfd);
	close(efd);
	start_ticks();
	while ((r = read4(&v)) > 0) {
		if (v == next) {
			next++;
		} else if (v < next) {
			bn_add(&sh->dup, 1);
			if (shown++ < MAX_SHOWN)
				printf("exactly-once: reader: DUP %u (expected %u)\n",
				       v, next);
		} else {
			bn_add(&sh->lost, v - next);
			if (shown++ < MAX_SHOWN)
				printf("exactly-once: reader: LOST %u..%u (got %u)\n",
				       next, v - 1, v);
			next = v + 1;
		}
		__atomic_store_n(&sh->got, sh->got + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->next, next, __ATOMIC_RELAXED);
	}
	return r < 0;
}

/* The log must hold "%010u\n" lines of 0..n-1 in order; count deviations. */
static long check_log(const char *path, unsigned int n)
{
	unsigned int next = 0, lines = 0;
	char line[LINE + 1], want[LINE + 1];
	long bad = 0, shown = 0;
	struct stat st;
	FILE *f;

	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st)) {
		printf("exactly-once: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (st.st_size % LINE) {
		printf("exactly-once: log size %lld is not a multiple of %d\n",
		       (long long)st.st_size, LINE);
		bad++;
	}
	if (st.st_size != (off_t)n * LINE) {
		printf("exactly-once: log size %lld, expected %lld (%u lines)\n",
		       (long long)st.st_size, (long long)n * LINE, n);
	}
	while (fread(line, 1, LINE, f) == LINE) {
		char *end;
		unsigned long v;

		line[LINE] = 0;
		lines++;
		snprintf(want, sizeof(want), "%010u\n", next);
		if (!strcmp(line, want)) {
			next++;
			continue;
		}
		bad++;
		v = strtoul(line, &end, 10);
		if (shown++ < MAX_SHOWN)
			printf("exactly-once: log line %u: \"%.10s\", expected %u\n",
			       lines, line, next);
		if (end == line + LINE - 1 && *end == '\n' && v <= UINT32_MAX)
			next = v + 1;	/* resynchronise after a dup or gap */
	}
	fclose(f);
	if (next != n) {
		printf("exactly-once: log ends before %u, expected %u\n", next,
		       n);
		bad++;
	}
	return bad;
}

static void progress(void *arg)
{
	printf("exactly-once: %.0fs n=%u read=%u dup=%ld lost=%ld\n",
	       bn_now() - start_time, __atomic_load_n(&sh->n, __ATOMIC_RELAXED),
	       __atomic_load_n(&sh->got, __ATOMIC_RELAXED), bn_get(&sh->dup),
	       bn_get(&sh->lost));
}

int main(int argc, char **argv)
{
	struct bn_tally t = { 0 };
	struct bn_proc procs[2];
	uint64_t events = 0;
	char path[4096];
	long file_bad, lost;
	int secs, fail;
	unsigned int n;

	secs = argc > 1 ? atoi(argv[1]) : 0;
	if (argc != 3 || secs <= 0) {
		fprintf(stderr, "usage: exactly-once SECONDS DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/exactly-once.log", argv[2]);
	sh = bn_shared(sizeof(*sh));
	logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	efd = eventfd(0, EFD_NONBLOCK);
	if (logfd < 0 || efd < 0 || pipe(pipefd)) {
		printf("exactly-once: setup (%s): %s\n", path, strerror(errno));
		return bn_result("exactly-once", 1, "setup failed");
	}
	start_time = bn_now();
	end_time = start_time + secs;
	printf("exactly-once: counting for %d s into a pipe, %s and an eventfd\n",
	       secs, path);

	if (bn_spawn(&procs[0], "reader", reader, NULL) < 0 ||
	    bn_spawn(&procs[1], "writer", writer, NULL) < 0) {
		printf("exactly-once: fork: %s\n", strerror(errno));
		return bn_result("exactly-once", 1, "fork failed");
	}
	close(pipefd[0]);
	close(pipefd[1]);
	close(logfd);
	bn_wait_all("exactly-once", procs, 2, start_time + secs + 60,
		    progress, NULL, &t);

	n = sh->n;
	lost = sh->lost;
	/* numbers written but never read: only meaningful after a clean run */
	if (!t.killed && !t.failed && !t.stuck && sh->next < n)
		lost += n - sh->next;
	if (read(efd, &events, sizeof(events)) < 0 && errno != EAGAIN)
		printf("exactly-once: read eventfd: %s\n", strerror(errno));
	if (events != n)
		printf("exactly-once: eventfd counted %llu writes, expected %u\n",
		       (unsigned long long)events, n);
	file_bad = check_log(path, n);
	printf("exactly-once: read=%u interrupted=%ld%s\n", sh->got,
	       bn_get(&sh->eintr), sh->capped ? " (stopped at the cap)" : "");
	fail = t.killed || t.failed || t.stuck || sh->dup || lost ||
	       file_bad || events != n;
	return bn_result("exactly-once", fail,
			 "n=%u dup=%ld lost=%ld file_bad=%ld eventfd=%llu killed=%d failed=%d stuck=%d",
			 n, sh->dup, lost, file_bad,
			 (unsigned long long)events, t.killed, t.failed,
			 t.stuck);
}
