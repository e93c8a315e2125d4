// SPDX-License-Identifier: GPL-2.0
/*
 * stress-spin SECONDS: burn CPU in userspace without making syscalls, so the
 * stub only ever reports because of the timer. A stub watchdog that fired
 * on such a loop would be a false positive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 10);
	volatile unsigned long n = 0;
	unsigned long rounds = 0;

	while (time(NULL) < end) {
		/* a few hundred ms between two syscalls */
		for (unsigned long i = 0; i < 200000000UL; i++)
			n++;
		rounds++;
	}
	printf("stress-spin: %lu rounds\n", rounds);
	return 0;
}
