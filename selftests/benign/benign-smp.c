// SPDX-License-Identifier: GPL-2.0
/*
 * benign-smp [SECONDS=15] [WORKERS=4]: legal multithreaded work that keeps
 * a guest kernel's page tables and the (host-side) mappings behind them in
 * flux on several vCPUs at once.  A guest kernel that forgets to bring
 * another vCPU's view of an address space up to date after fork(), munmap,
 * mprotect or MADV_DONTNEED lets a thread see stale data, lose a write or
 * take a fault it should not; this program counts every such event.
 *
 * Each of WORKERS processes runs, round-robin in slices of a second, the
 * scenarios
 *   a) two threads rewrite and verify a private buffer each, while a third
 *      forks children that check their (copy-on-write) snapshot of those
 *      buffers stays intact while the parent keeps writing;
 *   b) a writer maps fresh anonymous pages, fills them, hands them to two
 *      readers that verify them, and unmaps them once both are done;
 *   c) a toggler flips a region between read-only and read-write, zaps
 *      parts of it with MADV_DONTNEED and replaces it with munmap/mmap,
 *      while two readers verify it under a read lock;
 *   d) one thread puts the whole of a region in need of a sync (mprotect
 *      read-only and back) again and again, another ages one page in its
 *      middle with MADV_COLD, a third reads every page: when a sync of
 *      the region is refused for that one changed page, the host mapping
 *      of all the others must come back too, or the reader stops in a
 *      fault loop.
 * Every access is legal: a data mismatch is "wrong", a worker killed by a
 * signal "killed", one exiting non-zero "failed" and one still alive
 * SECONDS+60 s after the start "stuck".
 */
#include <pthread.h>
#include <sched.h>
#include "benign.h"

#define SLICE		1.0	/* seconds per scenario */
#define MAX_SHOWN	20	/* wrong events printed in detail */

#define A_WRITERS	2
#define A_WORDS		(128 * BN_PAGE / 8)	/* 512 KiB per writer */
#define B_MAXPAGES	16
#define C_PAGES		32
#define D_PAGES		64
#define D_TOGGLED	(D_PAGES / 2)
#define PAGE_WORDS	(BN_PAGE / 8)

#define barrier()	__asm__ __volatile__("" ::: "memory")

struct shared {
	long wrong;
	long errors;
	long shown;
	long rounds[4];
	long forks;
};

static struct shared *sh;
static int worker_id;
static long w_errors;

static void wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void wrong(const char *fmt, ...)
{
	va_list ap;

	bn_add(&sh->wrong, 1);
	if (__atomic_add_fetch(&sh->shown, 1, __ATOMIC_RELAXED) > MAX_SHOWN)
		return;
	printf("benign-smp: worker %d: WRONG: ", worker_id);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define error(fmt, ...) bn_error(&w_errors, &sh->errors,		\
	"benign-smp: worker %d: error: " fmt, worker_id, ##__VA_ARGS__)

static int stop_now(int *stop)
{
	return __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		error("mmap %zu bytes: %s", size, strerror(errno));
		return NULL;
	}
	return p;
}

static int start_threads(pthread_t *t, int n, void *(*fn)(void *),
			 void *arg)
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = pthread_create(&t[i], NULL, fn, arg);
		if (err) {
			error("pthread_create: %s", strerror(err));
			return i;
		}
	}
	return n;
}

static void join_threads(pthread_t *t, int n)
{
	while (n--)
		pthread_join(t[n], NULL);
}

/* ---- a) private buffers written while another thread forks ---------- */

static uint64_t *a_buf[A_WRITERS];
static int a_stop;
static int a_next_tid;
static char a_child_mem[16 * BN_PAGE];

static uint64_t a_word(unsigned int tid, uint32_t iter, unsigned long i)
{
	return (uint64_t)iter << 32 | tid << 24 | (i & 0xffffff);
}

static void *a_writer(void *arg)
{
	unsigned int tid = __atomic_fetch_add(&a_next_tid, 1, __ATOMIC_RELAXED);
	uint64_t *buf = a_buf[tid];
	uint32_t iter = 0;
	unsigned long i;

	while (!stop_now(&a_stop)) {
		iter++;
		for (i = 0; i < A_WORDS; i++)
			buf[i] = a_word(tid, iter, i);
		barrier();
		for (i = 0; i < A_WORDS; i++) {
			if (buf[i] != a_word(tid, iter, i)) {
				wrong("a: writer %u iteration %u word %lu: %#lx, expected %#lx",
				      tid, iter, i, (unsigned long)buf[i],
				      (unsigned long)a_word(tid, iter, i));
				break;
			}
		}
		bn_add(&sh->rounds[0], 1);
	}
	return NULL;
}

static uint64_t a_sum(const uint64_t *buf)
{
	uint64_t s = 0;
	unsigned long i;

	for (i = 0; i < A_WORDS; i++)
		s = s * 31 + buf[i];
	return s;
}

/*
 * In the forked child: the copy of each writer buffer must hold words of
 * that writer only, and must not change while the parent keeps writing.
 * Then write and verify some memory of our own.
 */
static void a_child(void)
{
	uint64_t sum[A_WRITERS];
	char seed = (char)getpid();
	unsigned int t;
	unsigned long i;
	int rc = 0;

	for (t = 0; t < A_WRITERS; t++) {
		for (i = 0; i < A_WORDS; i++) {
			uint64_t w = a_buf[t][i];

			if ((w & 0xffffffff) != (a_word(t, 0, i) & 0xffffffff))
				rc = 3;
		}
		sum[t] = a_sum(a_buf[t]);
	}
	for (i = 0; i < sizeof(a_child_mem); i++)
		a_child_mem[i] = (char)i ^ seed;
	sched_yield();
	for (i = 0; i < sizeof(a_child_mem); i++)
		if (a_child_mem[i] != ((char)i ^ seed))
			rc = 5;
	for (t = 0; t < A_WRITERS; t++)
		if (a_sum(a_buf[t]) != sum[t])
			rc = 4;
	_exit(rc);
}

static const char *const a_child_error[] = {
	"foreign word in its copy of a writer buffer",		/* 3 */
	"its copy of a writer buffer changed under it",		/* 4 */
	"its own memory did not keep what it wrote",		/* 5 */
};

static void *a_forker(void *arg)
{
	int status = 0;
	pid_t pid;

	while (!stop_now(&a_stop)) {
		pid = fork();
		if (pid < 0) {
			error("a: fork: %s", strerror(errno));
			bn_sleep_ms(10);
			continue;
		}
		if (pid == 0)
			a_child();
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				error("a: waitpid %d: %s", pid, strerror(errno));
				break;
			}
		}
		bn_add(&sh->forks, 1);
		if (WIFEXITED(status) && WEXITSTATUS(status) >= 3 &&
		    WEXITSTATUS(status) <= 5)
			wrong("a: child %d: %s", pid,
			      a_child_error[WEXITSTATUS(status) - 3]);
		else if (WIFSIGNALED(status))
			error("a: child %d killed by signal %d (%s)", pid,
			      WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			error("a: child %d: wait status %#x", pid, status);
	}
	return NULL;
}

static void scenario_a(double until)
{
	pthread_t t[A_WRITERS + 1];
	int i, n;

	for (i = 0; i < A_WRITERS; i++) {
		a_buf[i] = map_anon(A_WORDS * 8);
		if (!a_buf[i]) {
			while (i--)
				munmap(a_buf[i], A_WORDS * 8);
			return;
		}
		memset(a_buf[i], 0, A_WORDS * 8);
		/* a valid tag everywhere before a child can look at it */
		for (unsigned long j = 0; j < A_WORDS; j++)
			a_buf[i][j] = a_word(i, 0, j);
	}
	a_stop = 0;
	a_next_tid = 0;
	n = start_threads(t, A_WRITERS, a_writer, NULL);
	if (n == A_WRITERS)
		n += start_threads(t + n, 1, a_forker, NULL);
	while (bn_now() < until)
		bn_sleep_ms(20);
	__atomic_store_n(&a_stop, 1, __ATOMIC_RELAXED);
	join_threads(t, n);
	for (i = 0; i < A_WRITERS; i++)
		munmap(a_buf[i], A_WORDS * 8);
}

/* ---- b) fresh pages published to readers, then unmapped ------------- */

static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	uint64_t *ptr;
	unsigned long npages;
	uint32_t gen;
	int done;
	int stop;
} b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static uint64_t b_word(uint32_t gen, unsigned long pg, unsigned long w)
{
	return (uint64_t)gen << 32 | 0xb0000000 | pg << 9 | w;
}

static void *b_reader(void *arg)
{
	unsigned long n, i;
	uint32_t seen = 0;
	uint64_t *p;

	pthread_mutex_lock(&b.m);
	for (;;) {
		while (!b.stop && b.gen == seen)
			pthread_cond_wait(&b.c, &b.m);
		if (b.gen == seen)
			break;
		seen = b.gen;
		p = b.ptr;
		n = b.npages;
		pthread_mutex_unlock(&b.m);

		for (i = 0; i < n * PAGE_WORDS; i++) {
			if (p[i] != b_word(seen, i / PAGE_WORDS, i % PAGE_WORDS)) {
				wrong("b: generation %u page %lu word %lu: %#lx, expected %#lx",
				      seen, i / PAGE_WORDS, i % PAGE_WORDS,
				      (unsigned long)p[i],
				      (unsigned long)b_word(seen, i / PAGE_WORDS,
							    i % PAGE_WORDS));
				break;
			}
		}

		pthread_mutex_lock(&b.m);
		b.done++;
		pthread_cond_broadcast(&b.c);
	}
	pthread_mutex_unlock(&b.m);
	return NULL;
}

static void *b_writer(void *arg)
{
	double until = *(double *)arg;
	uint64_t seed = bn_seed(2);
	unsigned long n, i;
	uint64_t *p;

	while (bn_now() < until) {
		n = 1 + bn_rand(&seed) % B_MAXPAGES;
		p = map_anon(n * BN_PAGE);
		if (!p)
			break;
		for (i = 0; i < n * PAGE_WORDS; i++)
			p[i] = b_word(b.gen + 1, i / PAGE_WORDS, i % PAGE_WORDS);

		pthread_mutex_lock(&b.m);
		b.ptr = p;
		b.npages = n;
		b.gen++;
		b.done = 0;
		pthread_cond_broadcast(&b.c);
		while (b.done < 2)
			pthread_cond_wait(&b.c, &b.m);
		pthread_mutex_unlock(&b.m);

		if (munmap(p, n * BN_PAGE))
			error("b: munmap: %s", strerror(errno));
		bn_add(&sh->rounds[1], 1);
	}
	pthread_mutex_lock(&b.m);
	b.stop = 1;
	pthread_cond_broadcast(&b.c);
	pthread_mutex_unlock(&b.m);
	return NULL;
}

static void scenario_b(double until)
{
	pthread_t t[3];
	int n;

	b.gen = 0;
	b.stop = 0;
	b.done = 0;
	n = start_threads(t, 2, b_reader, NULL);
	if (n < 2) {
		pthread_mutex_lock(&b.m);
		b.stop = 1;
		pthread_cond_broadcast(&b.c);
		pthread_mutex_unlock(&b.m);
		join_threads(t, n);
		return;
	}
	if (pthread_create(&t[2], NULL, b_writer, &until)) {
		error("b: pthread_create writer failed");
		b_writer(&(double){ 0 });	/* just stops the readers */
	} else {
		n++;
	}
	join_threads(t, n);
}

/* ---- c) mprotect / MADV_DONTNEED / munmap+mmap under readers -------- */

static struct {
	pthread_rwlock_t lock;
	uint64_t *region;		/* replaced under the write lock */
	uint32_t gen[C_PAGES];		/* under the lock; 0: page is zero */
	int stop;
} c;

static uint64_t c_word(uint32_t gen, unsigned long pg, unsigned long w)
{
	return (uint64_t)gen << 32 | 0xc0000000 | pg << 9 | w;
}

static void c_fill(unsigned long pg, uint32_t gen)
{
	uint64_t *p = c.region + pg * PAGE_WORDS;
	unsigned long w;

	for (w = 0; w < PAGE_WORDS; w++)
		p[w] = c_word(gen, pg, w);
	c.gen[pg] = gen;
}

static void *c_reader(void *arg)
{
	unsigned long pg, w;
	uint64_t want;
	uint64_t *p;

	while (!stop_now(&c.stop)) {
		pthread_rwlock_rdlock(&c.lock);
		if (stop_now(&c.stop)) {
			pthread_rwlock_unlock(&c.lock);
			break;
		}
		for (pg = 0; pg < C_PAGES; pg++) {
			p = c.region + pg * PAGE_WORDS;
			for (w = 0; w < PAGE_WORDS; w++) {
				want = c.gen[pg] ? c_word(c.gen[pg], pg, w) : 0;
				if (p[w] != want) {
					wrong("c: page %lu word %lu: %#lx, expected %#lx",
					      pg, w, (unsigned long)p[w],
					      (unsigned long)want);
					break;
				}
			}
		}
		pthread_rwlock_unlock(&c.lock);
		sched_yield();
	}
	return NULL;
}

static void *c_toggler(void *arg)
{
	double until = *(double *)arg;
	uint64_t seed = bn_seed(3);
	unsigned long pg, first, len, round = 0;
	uint32_t gen = 0;
	void *p;

	while (bn_now() < until) {
		round++;
		/* rewrite some pages */
		pthread_rwlock_wrlock(&c.lock);
		gen++;
		for (pg = 0; pg < C_PAGES; pg++)
			if (bn_rand(&seed) & 1)
				c_fill(pg, gen);
		pthread_rwlock_unlock(&c.lock);

		/* read-only and back, while the readers read */
		if (mprotect(c.region, C_PAGES * BN_PAGE, PROT_READ))
			error("c: mprotect RO: %s", strerror(errno));
		sched_yield();
		if (mprotect(c.region, C_PAGES * BN_PAGE,
			     PROT_READ | PROT_WRITE))
			error("c: mprotect RW: %s", strerror(errno));

		/* zap a range, rewrite half of it */
		first = bn_rand(&seed) % C_PAGES;
		len = 1 + bn_rand(&seed) % (C_PAGES - first);
		pthread_rwlock_wrlock(&c.lock);
		if (madvise(c.region + first * PAGE_WORDS, len * BN_PAGE,
			    MADV_DONTNEED))
			error("c: madvise: %s", strerror(errno));
		gen++;
		for (pg = first; pg < first + len; pg++) {
			c.gen[pg] = 0;
			if (pg & 1)
				c_fill(pg, gen);
		}
		pthread_rwlock_unlock(&c.lock);
		sched_yield();

		/* now and then, a new region in place of the old one */
		if (round % 4)
			goto done;
		pthread_rwlock_wrlock(&c.lock);
		if (munmap(c.region, C_PAGES * BN_PAGE))
			error("c: munmap: %s", strerror(errno));
		p = map_anon(C_PAGES * BN_PAGE);
		if (!p) {
			/* no region any more: the readers must not look */
			__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
			c.region = NULL;
			pthread_rwlock_unlock(&c.lock);
			break;
		}
		c.region = p;
		gen++;
		for (pg = 0; pg < C_PAGES; pg++) {
			c.gen[pg] = 0;
			if (bn_rand(&seed) & 1)
				c_fill(pg, gen);
		}
		pthread_rwlock_unlock(&c.lock);
done:
		bn_add(&sh->rounds[2], 1);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void scenario_c(double until)
{
	pthread_rwlockattr_t attr;
	pthread_t t[3];
	int n;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c.lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	c.region = map_anon(C_PAGES * BN_PAGE);
	if (!c.region)
		return;
	memset(c.gen, 0, sizeof(c.gen));
	c.stop = 0;

	n = start_threads(t, 2, c_reader, NULL);
	if (n == 2 && pthread_create(&t[2], NULL, c_toggler, &until) == 0)
		n++;
	else
		__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	join_threads(t, n);
	if (c.region)
		munmap(c.region, C_PAGES * BN_PAGE);
	pthread_rwlock_destroy(&c.lock);
}

/* ---- d) one page of a region changed while the rest is synced ------- */

static struct {
	uint64_t *region;
	long reads;		/* full rounds of the reader */
	int stop;
} d;

static uint64_t d_word(unsigned long pg, unsigned long w)
{
	return 0xd0000000 | pg << 9 | w;
}

static void *d_reader(void *arg)
{
	unsigned long pg, w;
	uint64_t *p;

	while (!stop_now(&d.stop)) {
		for (pg = 0; pg < D_PAGES; pg++) {
			p = d.region + pg * PAGE_WORDS;
			for (w = 0; w < PAGE_WORDS; w += 64)
				if (p[w] != d_word(pg, w)) {
					wrong("d: page %lu word %lu: %#lx, expected %#lx",
					      pg, w, (unsigned long)p[w],
					      (unsigned long)d_word(pg, w));
					break;
				}
		}
		bn_add(&d.reads, 1);
		bn_add(&sh->rounds[3], 1);
	}
	return NULL;
}

/* The page in the middle: aged by MADV_COLD, so its PTE changes */
static void *d_toggler(void *arg)
{
	uint64_t *p = d.region + D_TOGGLED * PAGE_WORDS;

	while (!stop_now(&d.stop))
		if (madvise(p, BN_PAGE, MADV_COLD)) {
			error("d: madvise one page: %s", strerror(errno));
			break;
		}
	return NULL;
}

/*
 * One resync of the whole region at a time, and the reader must read it
 * all twice before the next: a page whose host mapping never comes back
 * stops the reader in a fault loop, which is "wrong" after a second.
 */
static void *d_protector(void *arg)
{
	double until = *(double *)arg, stalled;
	long reads;

	while (bn_now() < until) {
		if (mprotect(d.region, D_PAGES * BN_PAGE, PROT_READ) ||
		    mprotect(d.region, D_PAGES * BN_PAGE,
			     PROT_READ | PROT_WRITE)) {
			error("d: mprotect the region: %s", strerror(errno));
			break;
		}
		reads = bn_get(&d.reads);
		stalled = bn_now() + 1.0;
		while (bn_get(&d.reads) < reads + 2 && bn_now() < stalled)
			sched_yield();
		if (bn_get(&d.reads) < reads + 2) {
			wrong("d: the reader made no progress for 1 s after a resync of the region");
			break;
		}
	}
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void scenario_d(double until)
{
	unsigned long pg, w;
	pthread_t t[3];
	int n = 0;

	d.region = map_anon(D_PAGES * BN_PAGE);
	if (!d.region)
		return;
	/* written in order, so the frames tend to be adjacent */
	for (pg = 0; pg < D_PAGES; pg++)
		for (w = 0; w < PAGE_WORDS; w++)
			d.region[pg * PAGE_WORDS + w] = d_word(pg, w);
	d.stop = 0;
	d.reads = 0;

	if (pthread_create(&t[n], NULL, d_reader, NULL) == 0)
		n++;
	if (n == 1 && pthread_create(&t[n], NULL, d_toggler, NULL) == 0)
		n++;
	if (n == 2 && pthread_create(&t[n], NULL, d_protector, &until) == 0)
		n++;
	if (n < 3) {
		error("d: pthread_create failed");
		__atomic_store_n(&d.stop, 1, __ATOMIC_RELAXED);
	}
	join_threads(t, n);
	munmap(d.region, D_PAGES * BN_PAGE);
}

/* ---- the worker and the parent -------------------------------------- */

static double end_time;

static int worker(void *arg)
{
	int s = worker_id % 4;
	double until;

	while (bn_now() < end_time) {
		until = bn_now() + SLICE;
		if (until > end_time)
			until = end_time;
		if (s == 0)
			scenario_a(until);
		else if (s == 1)
			scenario_b(until);
		else if (s == 2)
			scenario_c(until);
		else
			scenario_d(until);
		s = (s + 1) % 4;
	}
	return bn_get(&w_errors) ? 1 : 0;
}

static double start_time;

static void progress(void *arg)
{
	static int calls;

	/* every 2 s while it runs, every 10 s while waiting for stragglers */
	if (++calls % (bn_now() < end_time + 1 ? 2 : 10))
		return;
	printf("benign-smp: %.0fs rounds a=%ld b=%ld c=%ld d=%ld forks=%ld wrong=%ld errors=%ld\n",
	       bn_now() - start_time, bn_get(&sh->rounds[0]),
	       bn_get(&sh->rounds[1]), bn_get(&sh->rounds[2]),
	       bn_get(&sh->rounds[3]), bn_get(&sh->forks), bn_get(&sh->wrong),
	       bn_get(&sh->errors));
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 15;
	int nworkers = argc > 2 ? atoi(argv[2]) : 4;
	struct bn_tally t = { 0 };
	struct bn_proc *procs;
	char name[32];
	int i, n = 0;
	long wrong;

	if (secs <= 0 || nworkers <= 0 || nworkers > 1000) {
		fprintf(stderr, "usage: benign-smp [SECONDS=15] [WORKERS=4]\n");
		return 2;
	}
	sh = bn_shared(sizeof(*sh));
	procs = calloc(nworkers, sizeof(*procs));
	start_time = bn_now();
	end_time = start_time + secs;
	printf("benign-smp: %d workers for %d s on %ld CPUs\n", nworkers, secs,
	       sysconf(_SC_NPROCESSORS_ONLN));

	for (i = 0; i < nworkers; i++) {
		worker_id = i;
		snprintf(name, sizeof(name), "worker%d", i);
		if (bn_spawn(&procs[n], name, worker, NULL) < 0) {
			printf("benign-smp: fork worker %d: %s\n", i,
			       strerror(errno));
			t.failed++;
			continue;
		}
		n++;
	}
	worker_id = -1;
	bn_wait_all("benign-smp", procs, n, start_time + secs + 60, progress,
		    NULL, &t);

	wrong = bn_get(&sh->wrong);
	printf("benign-smp: rounds a=%ld b=%ld c=%ld d=%ld forks=%ld errors=%ld\n",
	       bn_get(&sh->rounds[0]), bn_get(&sh->rounds[1]),
	       bn_get(&sh->rounds[2]), bn_get(&sh->rounds[3]),
	       bn_get(&sh->forks), bn_get(&sh->errors));
	return bn_result("benign-smp", t.killed || t.failed || t.stuck || wrong,
			 "workers=%d killed=%d failed=%d wrong=%ld stuck=%d",
			 nworkers, t.killed, t.failed, wrong, t.stuck);
}
