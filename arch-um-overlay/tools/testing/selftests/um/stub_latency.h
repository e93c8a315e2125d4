/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A victim that measures how late it wakes up next to a hog on the same
 * vCPU, for the tests of the watchdog's bound.
 */
#ifndef STUB_LATENCY_H
#define STUB_LATENCY_H

#include "stub_util.h"

struct lat_shared {
	unsigned long hog_reports;
	unsigned long victim_wakeups;
	unsigned long victim_worst_us;
	int hog_ready;
	int victim_ready;
	char err[128];
};

/* Pin to @cpu on SMP guests; on one vCPU everything shares it anyway */
static inline int lat_pin(int cpu, int ncpus)
{
	cpu_set_t set;

	if (ncpus < 2)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static inline unsigned long lat_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000UL + ts.tv_nsec / 1000;
}

/* Sleep 1 ms at a time on CPU 0 and keep the worst lateness; never returns */
static inline void lat_victim(struct lat_shared *s, int ncpus)
{
	unsigned long before, late;

	stub_prefault(s, sizeof(*s));
	if (lat_pin(0, ncpus))
		_exit(1);
	__atomic_store_n(&s->victim_ready, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		before = lat_now_us();
		stub_sleep_ms(1);
		late = lat_now_us() - before - 1000;
		if (late > s->victim_worst_us)
			__atomic_store_n(&s->victim_worst_us, late,
					 __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&s->victim_wakeups, 1, __ATOMIC_SEQ_CST);
	}
}

static struct lat_shared *lat_hog_shared;
static ucontext_t lat_hog_frame;
static unsigned char lat_hog_stack[65536] __aligned(16);

/* Run @fn with SIGALRM blocked (again), on a fresh stack; never returns */
static inline void lat_hog_block_timer(void (*fn)(void))
{
	stub_run_with_timer_blocked(&lat_hog_frame, fn, lat_hog_stack,
				    sizeof(lat_hog_stack),
				    &lat_hog_shared->hog_ready);
}

/* The hog: on CPU 0, unprivileged, runs @fn with SIGALRM blocked */
static inline void lat_hog(struct lat_shared *s, int ncpus, void (*fn)(void))
{
	stub_prefault(s, sizeof(*s));
	if (lat_pin(0, ncpus) || stub_drop_privs()) {
		snprintf(s->err, sizeof(s->err), "pin/setuid failed");
		_exit(1);
	}
	lat_hog_shared = s;
	lat_hog_block_timer(fn);
}

/* Watch the hog for @ms: 1 if it died meanwhile, its status in *@hstatus */
static inline int lat_watch(pid_t hpid, unsigned long ms, int *hstatus)
{
	unsigned long end = stub_now_ms() + ms;
	int dead = 0;

	while (stub_now_ms() < end) {
		if (!dead && waitpid(hpid, hstatus, WNOHANG) == hpid)
			dead = 1;
		stub_sleep_ms(20);
	}
	return dead;
}

/* Kill what is left of the hog, then the victim; 1 once the victim is gone */
static inline int lat_stop(pid_t hpid, int hog_dead, int *hstatus,
			   pid_t vpid)
{
	int status;

	if (!hog_dead)
		stub_kill_wait(hpid, 10000, hstatus);
	kill(vpid, SIGKILL);
	return stub_wait_child(vpid, 10000, &status);
}

/* Start the victim, let it settle and log the machine's own noise */
#define LAT_START_VICTIM(s, ncpus, vpid) do {				\
	struct lat_shared *__s = (s);					\
	int __ncpus = (ncpus);						\
	pid_t *__vpid = &(vpid);					\
	unsigned long __end = stub_now_ms() + 5000;			\
									\
	ASSERT_EQ(0, lat_pin(1, __ncpus));				\
	fflush(NULL);							\
	*__vpid = fork();						\
	ASSERT_GE(*__vpid, 0);						\
	if (*__vpid == 0)						\
		lat_victim(__s, __ncpus);				\
	while (!__s->victim_ready && stub_now_ms() < __end)		\
		stub_sleep_ms(10);					\
	ASSERT_TRUE(__s->victim_ready);					\
	stub_sleep_ms(200);						\
	TH_LOG("worst wake-up delay before the hog: %lu ms",		\
	       __s->victim_worst_us / 1000);				\
	__atomic_store_n(&__s->victim_worst_us, 0, __ATOMIC_SEQ_CST);	\
} while (0)

/*
 * The kernel's 100 ms, up to two polls of its watchdog (25 ms each: it
 * samples a run at the first poll and kills at the first poll past the
 * bound), a 10 ms tick for the victim to be scheduled, and slack for a
 * busy host.
 */
#define LATENCY_LIMIT_MS	250

#endif /* STUB_LATENCY_H */
