// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the i386 smoke guest (scripts/i386-smoke): a 32-bit static
 * program that does what every guest does first, in SECCOMP mode on an
 * i386 UML: it touches fresh memory, forks children that touch memory of
 * their own and re-executes itself in one of them. On an i386 stub every
 * page it touches is an mmap2() the kernel's checks must accept. Prints
 * "i386-smoke: ok" or "i386-smoke: FAIL ..." and powers the guest off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/wait.h>

#define MIB		(1024 * 1024)
#define CHILDREN	16

/* Write a pattern over @len bytes and read it back; 0 if it held */
static int touch(size_t len, unsigned int seed)
{
	unsigned int *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i, n = len / sizeof(*p);
	int bad = 0;

	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < n; i += 1024)
		p[i] = seed ^ i;
	for (i = 0; i < n; i += 1024)
		bad |= p[i] != (seed ^ i);
	munmap(p, len);
	return bad;
}

int main(int argc, char **argv)
{
	int i, status, failed = 0;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return touch(2 * MIB, 0x5eed) ? 1 : 0;

	printf("i386-smoke: start\n");
	if (touch(8 * MIB, 0x1386)) {
		printf("i386-smoke: FAIL memory did not hold its contents\n");
		failed++;
	}

	for (i = 0; i < CHILDREN; i++) {
		pid = fork();
		if (pid < 0) {
			perror("i386-smoke: fork");
			failed++;
			break;
		}
		if (pid == 0) {
			if (i == 0)
				execl("/init", "/init", "child", (char *)NULL);
			_exit(touch(MIB, i) ? 1 : 0);
		}
	}
	while ((pid = wait(&status)) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("i386-smoke: FAIL child %d status 0x%x\n",
			       pid, status);
			failed++;
		}
	}

	printf("i386-smoke: %s (%d failures)\n", failed ? "FAIL" : "ok",
	       failed);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
