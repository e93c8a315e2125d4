// SPDX-License-Identifier: GPL-2.0
/*
 * benign-pagecache SECONDS FILE [PROCS=4] [THREADS=3]: page cache churn
 * through shared file mappings.  PROCS processes of THREADS threads each
 * map the whole of FILE (which should be larger than the guest's memory,
 * e.g. a sparse 400 MB file on the hostfs root) MAP_SHARED read/write and
 * touch random pages: mostly reads, some writes, now and then a
 * MADV_DONTNEED of a few pages.  Meanwhile another process fork+execs
 * /bin/true in a loop.  The guest kernel has to read pages in, write them
 * back, evict them and unmap them from every process (and every vCPU)
 * while the others keep using them.
 *
 * A write stores the page's stamp (STAMP ^ page index) in its first
 * 8 bytes, so the first word of any page must always read back as 0
 * (never written) or as that page's own stamp; anything else is "wrong".
 * FILE must therefore be all zeroes (sparse) or have been written only by
 * this program.  A process killed by a signal is "killed", one exiting
 * non-zero (the fork loop does when a fork, exec or /bin/true fails)
 * "failed", one alive SECONDS+60 s after the start "stuck".
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include "benign.h"

#define STAMP		0x5a5a00005a5a0000ULL
#define MAX_SHOWN	20
#define MADV_MAX	8	/* pages per MADV_DONTNEED */

struct shared {
	long wrong;
	long shown;
	long reads;
	long writes;
	long madvs;
	long forks;
	long errors;
};

static struct shared *sh;
static const char *path;
static unsigned long npages;
static double end_time, start_time;
static int nthreads;
static char *base;
static long errors;

static uint64_t stamp(unsigned long pg)
{
	return STAMP ^ pg;
}

#define error(what, fmt, ...) bn_error(&errors, &sh->errors,		\
	"benign-pagecache: %s: error: " fmt, what, ##__VA_ARGS__)

static void check(unsigned long pg, uint64_t v, const char *when)
{
	if (v == 0 || v == stamp(pg))
		return;
	bn_add(&sh->wrong, 1);
	if (__atomic_add_fetch(&sh->shown, 1, __ATOMIC_RELAXED) <= MAX_SHOWN)
		printf("benign-pagecache: WRONG: page %lu %s: %#lx, expected 0 or %#lx\n",
		       pg, when, (unsigned long)v, (unsigned long)stamp(pg));
}

static void *toucher(void *arg)
{
	uint64_t seed = bn_seed((uintptr_t)arg);
	long reads = 0, writes = 0, madvs = 0;
	volatile uint64_t *w;
	unsigned long pg, n;
	unsigned int op;

	while (bn_now() < end_time) {
		for (int i = 0; i < 64; i++) {
			pg = bn_rand(&seed) % npages;
			w = (volatile uint64_t *)(base + pg * BN_PAGE);
			op = bn_rand(&seed) % 100;
			if (op < 85) {
				check(pg, *w, "read");
				reads++;
			} else if (op < 97) {
				*w = stamp(pg);
				check(pg, *w, "read after write");
				writes++;
			} else {
				n = 1 + bn_rand(&seed) % MADV_MAX;
				if (pg + n > npages)
					n = npages - pg;
				if (madvise(base + pg * BN_PAGE, n * BN_PAGE,
					    MADV_DONTNEED))
					error("madvise", "page %lu+%lu: %s", pg,
					      n, strerror(errno));
				check(pg, *w, "read after MADV_DONTNEED");
				madvs++;
			}
		}
		bn_add(&sh->reads, reads);
		bn_add(&sh->writes, writes);
		bn_add(&sh->madvs, madvs);
		reads = writes = madvs = 0;
	}
	return NULL;
}

static int mapper(void *arg)
{
	pthread_t *t = calloc(nthreads, sizeof(*t));
	int fd, i, n = 0, err;

	fd = open(path, O_RDWR);
	if (fd < 0) {
		error("open", "%s: %s", path, strerror(errno));
		return 1;
	}
	base = mmap(NULL, npages * BN_PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		error("mmap", "%s: %s", path, strerror(errno));
		return 1;
	}
	close(fd);
	for (i = 0; i < nthreads; i++) {
		err = pthread_create(&t[i], NULL, toucher,
				     (void *)(uintptr_t)(i + 1));
		if (err) {
			error("pthread_create", "%s", strerror(err));
			break;
		}
		n++;
	}
	while (n--)
		pthread_join(t[n], NULL);
	if (munmap(base, npages * BN_PAGE))
		error("munmap", "%s", strerror(errno));
	return bn_get(&errors) ? 1 : 0;
}

static int forker(void *arg)
{
	char *const argv[] = { "true", NULL };
	int status;
	pid_t pid;

	while (bn_now() < end_time) {
		pid = fork();
		if (pid < 0) {
			error("fork loop", "fork: %s", strerror(errno));
			bn_sleep_ms(100);
			continue;
		}
		if (pid == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				error("fork loop", "waitpid: %s",
				      strerror(errno));
				status = 0;
				break;
			}
		}
		if (WIFSIGNALED(status))
			error("fork loop", "/bin/true pid %d killed by signal %d (%s)",
			      pid, WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		else if (WEXITSTATUS(status))
			error("fork loop", "/bin/true pid %d exited with %d%s",
			      pid, WEXITSTATUS(status),
			      WEXITSTATUS(status) == 127 ? " (exec failed)" : "");
		bn_add(&sh->forks, 1);
	}
	return bn_get(&errors) ? 1 : 0;
}

static void progress(void *arg)
{
	static int calls;

	/* every 2 s while it runs, every 10 s while waiting for stragglers */
	if (++calls % (bn_now() < end_time + 1 ? 2 : 10))
		return;
	printf("benign-pagecache: %.0fs reads=%ld writes=%ld madvise=%ld forks=%ld",
	       bn_now() - start_time, bn_get(&sh->reads),
	       bn_get(&sh->writes), bn_get(&sh->madvs), bn_get(&sh->forks));
	printf(" wrong=%ld errors=%ld\n", bn_get(&sh->wrong),
	       bn_get(&sh->errors));
}

int main(int argc, char **argv)
{
	struct bn_tally t = { 0 };
	int secs, nprocs, i, n = 0;
	struct bn_proc *procs;
	char name[32];
	struct stat st;
	long wrong;

	secs = argc > 1 ? atoi(argv[1]) : 0;
	if (argc < 3 || secs <= 0) {
		fprintf(stderr,
			"usage: benign-pagecache SECONDS FILE [PROCS=4] [THREADS=3]\n");
		return 2;
	}
	path = argv[2];
	nprocs = argc > 3 ? atoi(argv[3]) : 4;
	nthreads = argc > 4 ? atoi(argv[4]) : 3;
	if (nprocs <= 0 || nthreads <= 0) {
		fprintf(stderr, "benign-pagecache: bad PROCS or THREADS\n");
		return 2;
	}
	errno = 0;
	if (stat(path, &st) || st.st_size < (off_t)BN_PAGE) {
		printf("benign-pagecache: %s: %s\n", path,
		       errno ? strerror(errno) : "smaller than a page");
		return bn_result("benign-pagecache", 1, "no usable FILE");
	}
	npages = st.st_size / BN_PAGE;
	sh = bn_shared(sizeof(*sh));
	procs = calloc(nprocs + 1, sizeof(*procs));
	start_time = bn_now();
	end_time = start_time + secs;
	printf("benign-pagecache: %d processes x %d threads on %s (%lu pages) for %d s, %ld CPUs\n",
	       nprocs, nthreads, path, npages, secs,
	       sysconf(_SC_NPROCESSORS_ONLN));

	for (i = 0; i < nprocs; i++) {
		snprintf(name, sizeof(name), "mapper%d", i);
		if (bn_spawn(&procs[n], name, mapper, NULL) < 0) {
			printf("benign-pagecache: fork %s: %s\n", name,
			       strerror(errno));
			t.failed++;
			continue;
		}
		n++;
	}
	if (bn_spawn(&procs[n], "fork-loop", forker, NULL) < 0) {
		printf("benign-pagecache: fork fork-loop: %s\n",
		       strerror(errno));
		t.failed++;
	} else {
		n++;
	}
	bn_wait_all("benign-pagecache", procs, n, start_time + secs + 60,
		    progress, NULL, &t);

	wrong = bn_get(&sh->wrong);
	printf("benign-pagecache: reads=%ld writes=%ld madvise=%ld errors=%ld\n",
	       bn_get(&sh->reads), bn_get(&sh->writes), bn_get(&sh->madvs),
	       bn_get(&sh->errors));
	return bn_result("benign-pagecache",
			 t.killed || t.failed || t.stuck || wrong,
			 "procs=%d killed=%d failed=%d wrong=%ld stuck=%d forks=%ld",
			 nprocs, t.killed, t.failed, wrong, t.stuck,
			 bn_get(&sh->forks));
}
