// SPDX-License-Identifier: GPL-2.0
/*
 * ubench - guest microbenchmarks for comparing UML userspace modes.
 *
 * Usage: ubench <benchmark> [scale]
 *        ubench list
 *
 * Every benchmark is timed inside the guest with CLOCK_MONOTONIC after a
 * short untimed warm-up, and prints one line:
 *
 *	bench <name> <ns_per_op> <iterations>
 *
 * The iteration counts are sized for about 0.5-1 s per benchmark on an
 * unpatched kernel in seccomp mode with the host CPUs unpinned, where a
 * guest syscall costs ~90 us and a page fault ~150 us.  "scale" (or the
 * environment variable BENCH_SCALE) multiplies every count; a smoke run
 * uses something like 0.05.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define FAULT_CHUNK	1024	/* pages mapped, touched and unmapped at once */
#define CHURN_PAGES	4	/* size of each mmap in mmap_churn */

struct bench {
	const char *name;
	long iterations;	/* at scale 1 */
	const char *what;	/* one op */
	int (*setup)(void);
	int (*run)(long n);
	void (*teardown)(void);
};

static char self_dir[PATH_MAX];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "ubench: %s: %s\n", what, strerror(errno));
}

static int run_getppid(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return 0;
}

static int run_pagefault(long n)
{
	while (n > 0) {
		long pages = n < FAULT_CHUNK ? n : FAULT_CHUNK;
		volatile char *p;

		p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fail("mmap");
			return -1;
		}
		for (long i = 0; i < pages; i++)
			p[i * PAGE] = 1;
		munmap((void *)p, pages * PAGE);
		n -= pages;
	}
	return 0;
}

/*
 * Touch one page of each mapping: an untouched mapping never reaches the
 * host, and what this is meant to measure is the host-side map and unmap
 * that the guest's fault and munmap cause.
 */
static int run_mmap_churn(long n)
{
	for (long i = 0; i < n; i++) {
		volatile char *p;

		p = mmap(NULL, CHURN_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fail("mmap");
			return -1;
		}
		p[0] = 1;
		munmap((void *)p, CHURN_PAGES * PAGE);
	}
	return 0;
}

/* Fork, exec argv in the child (or just exit if argv is NULL), wait */
static int spawn_wait(char *const argv[])
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fail("fork");
		return -1;
	}
	if (pid == 0) {
		if (!argv)
			_exit(0);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fail("waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "ubench: %s: exit status %#x\n",
			argv ? argv[0] : "child", status);
		return -1;
	}
	return 0;
}

static char true_path[PATH_MAX + 16];

static int setup_fork_exec(void)
{
	snprintf(true_path, sizeof(true_path), "%s/bench-true", self_dir);
	if (access(true_path, X_OK)) {
		fail(true_path);
		return -1;
	}
	return 0;
}

static int run_fork_exec(long n)
{
	char *argv[] = { true_path, NULL };

	for (long i = 0; i < n; i++)
		if (spawn_wait(argv))
			return -1;
	return 0;
}

/* A new address space and stub, torn down at once, without exec */
static int run_fork_exit(long n)
{
	for (long i = 0; i < n; i++)
		if (spawn_wait(NULL))
			return -1;
	return 0;
}

static int ping_fd[2], pong_fd[2];
static pid_t ponger;

static int setup_pipe(void)
{
	char c;

	if (pipe(ping_fd) || pipe(pong_fd)) {
		fail("pipe");
		return -1;
	}
	ponger = fork();
	if (ponger < 0) {
		fail("fork");
		return -1;
	}
	if (ponger == 0) {
		close(ping_fd[1]);
		close(pong_fd[0]);
		while (read(ping_fd[0], &c, 1) == 1)
			if (write(pong_fd[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ping_fd[0]);
	close(pong_fd[1]);
	return 0;
}

static int run_pipe(long n)
{
	char c = 'x';

	for (long i = 0; i < n; i++) {
		if (write(ping_fd[1], &c, 1) != 1 || read(pong_fd[0], &c, 1) != 1) {
			fail("pipe round trip");
			return -1;
		}
	}
	return 0;
}

static void teardown_pipe(void)
{
	close(ping_fd[1]);
	close(pong_fd[0]);
	waitpid(ponger, NULL, 0);
}

static char tar_script[PATH_MAX + 16];

static int setup_tar(void)
{
	snprintf(tar_script, sizeof(tar_script), "%s/bench-tar", self_dir);
	if (access(tar_script, R_OK)) {
		fail(tar_script);
		return -1;
	}
	return 0;
}

static int run_tar(long n)
{
	const char *dir = getenv("BENCH_TMP");
	char *argv[] = { "/bin/sh", tar_script, (char *)(dir ? dir : "/tmp"), NULL };

	for (long i = 0; i < n; i++)
		if (spawn_wait(argv))
			return -1;
	return 0;
}

/*
 * Real programs: Debian's dynamically linked sh, coreutils and gcc from
 * the host's root, which bench-run mounts read-only at HOST_ROOT (with a
 * tmpfs on its /tmp) when the guest may mount it (run-guest --host-root).
 * They map, fault and exec far more than the static binaries above.
 */
#define HOST_ROOT	"/mnt/host"
#define REAL_C		"/tmp/ubench-real.c"

static int run_in_host(const char *script, long n)
{
	char *argv[] = { "/bin/busybox", "chroot", HOST_ROOT, "/bin/sh", "-c",
			 (char *)script, NULL };

	for (long i = 0; i < n; i++)
		if (spawn_wait(argv))
			return -1;
	return 0;
}

static int setup_host_root(void)
{
	if (access(HOST_ROOT "/usr/bin/gcc", X_OK) ||
	    access(HOST_ROOT "/tmp", W_OK)) {
		fail(HOST_ROOT ": the host's root with gcc and a writable /tmp");
		return -1;
	}
	return 0;
}

static int run_real_exec(long n)
{
	return run_in_host("i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i + 1)); done", n);
}

static int run_real_pipe(long n)
{
	return run_in_host("ls /usr/bin | sort | grep -c '^s' >/dev/null && "
			   "printf 'a b c\\n' | sed 's/b/X/' >/dev/null", n);
}

/* A C file of about 400 lines: 40 functions of loops and branches */
static int setup_real_gcc(void)
{
	FILE *f;

	if (setup_host_root())
		return -1;
	f = fopen(HOST_ROOT REAL_C, "w");
	if (!f) {
		fail(HOST_ROOT REAL_C);
		return -1;
	}
	fprintf(f, "#include <stdio.h>\n#include <string.h>\n\n");
	for (int i = 0; i < 40; i++)
		fprintf(f, "int f%d(const char *s, int n)\n{\n"
			"\tint i, h = %d;\n\n"
			"\tfor (i = 0; i < n && s[i]; i++)\n"
			"\t\th = h * 31 + (s[i] ^ %d);\n"
			"\tif (h %% 3 == 0)\n\t\th += (int)strlen(s);\n"
			"\treturn h;\n}\n\n", i, i, i * 7);
	fprintf(f, "int main(void)\n{\n\treturn f0(\"abc\", 3) == 1;\n}\n");
	if (fclose(f)) {
		fail(HOST_ROOT REAL_C);
		return -1;
	}
	return 0;
}

static int run_real_gcc(long n)
{
	return run_in_host("gcc -O2 -c -o /tmp/ubench-real.o " REAL_C, n);
}

static const struct bench benches[] = {
	{ "getppid", 10000, "getppid() syscall", NULL, run_getppid, NULL },
	{ "page_fault", 5000, "first write to a fresh anonymous page (mmap/munmap amortised over 1024 pages)",
	  NULL, run_pagefault, NULL },
	{ "mmap_churn", 3000, "mmap 4 pages, write the first, munmap", NULL, run_mmap_churn, NULL },
	{ "pipe_pingpong", 3000, "1-byte round trip between two processes over two pipes",
	  setup_pipe, run_pipe, teardown_pipe },
	{ "fork_exec", 150, "fork, exec a tiny static binary, wait", setup_fork_exec, run_fork_exec, NULL },
	{ "fork_exit", 300, "fork, the child exits at once, wait", NULL, run_fork_exit, NULL },
	{ "tar_workload", 2, "busybox sh script: write 100 files, tar czf, tar xzf, diff, rm",
	  setup_tar, run_tar, NULL },
	{ "real_exec", 4, "Debian's sh runs /bin/true 50 times (per op), host root via hostfs",
	  setup_host_root, run_real_exec, NULL },
	{ "real_pipe", 20, "Debian's sh: ls /usr/bin | sort | grep -c, printf | sed",
	  setup_host_root, run_real_pipe, NULL },
	{ "real_gcc", 6, "gcc -O2 -c of a 400-line C file",
	  setup_real_gcc, run_real_gcc, NULL },
};

#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static int run_bench(const struct bench *b, double scale)
{
	long n = (long)(b->iterations * scale + 0.5);
	long warm;
	uint64_t t0, t1;
	int ret;

	if (n < 1)
		n = 1;
	warm = n / 20 ? n / 20 : 1;

	if (b->setup && b->setup())
		return 1;
	ret = b->run(warm);
	if (!ret) {
		t0 = now_ns();
		ret = b->run(n);
		t1 = now_ns();
	}
	if (b->teardown)
		b->teardown();
	if (ret)
		return 1;
	printf("bench %s %" PRIu64 " %ld\n", b->name, (t1 - t0) / n, n);
	fflush(stdout);
	return 0;
}

static void find_self_dir(const char *argv0)
{
	ssize_t len = readlink("/proc/self/exe", self_dir, sizeof(self_dir) - 1);
	char *slash;

	if (len > 0) {
		self_dir[len] = '\0';
	} else {
		snprintf(self_dir, sizeof(self_dir), "%s", argv0);
	}
	slash = strrchr(self_dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(self_dir, ".");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ubench <benchmark|all|list> [scale]\n"
		   "prints: bench <name> <ns_per_op> <iterations>\n");
}

int main(int argc, char **argv)
{
	const char *env = getenv("BENCH_SCALE");
	double scale = env ? atof(env) : 1.0;
	int failed = 0, found = 0;

	if (argc < 2 || argc > 3) {
		usage(stderr);
		return 2;
	}
	if (argc == 3)
		scale = atof(argv[2]);
	if (!(scale > 0)) {
		fprintf(stderr, "ubench: bad scale\n");
		return 2;
	}
	find_self_dir(argv[0]);
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(argv[1], "list")) {
		for (size_t i = 0; i < NBENCH; i++)
			printf("%-14s %6ld  %s\n", benches[i].name,
			       benches[i].iterations, benches[i].what);
		return 0;
	}
	for (size_t i = 0; i < NBENCH; i++) {
		if (strcmp(argv[1], "all") && strcmp(argv[1], benches[i].name))
			continue;
		found = 1;
		failed |= run_bench(&benches[i], scale);
	}
	if (!found) {
		fprintf(stderr, "ubench: no benchmark '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	return failed;
}
