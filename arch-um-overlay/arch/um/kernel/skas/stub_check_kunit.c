// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the checks on SECCOMP mode stub mmap and munmap calls.
 */

#include <kunit/test.h>
#include <linux/mman.h>
#include <as-layout.h>
#include <stub-data.h>
#include "stub_check.h"

#define LIMIT	(16 * PAGE_SIZE)

static void stub_range_accepts_aligned_ranges(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, stub_range_ok(0, PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_TRUE(test, stub_range_ok(PAGE_SIZE, 3 * PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_TRUE(test, stub_range_ok(0, LIMIT, LIMIT));
}

static void stub_range_rejects_bad_ranges(struct kunit *test)
{
	/* empty */
	KUNIT_EXPECT_FALSE(test, stub_range_ok(PAGE_SIZE, 0, LIMIT));
	/* unaligned start or length */
	KUNIT_EXPECT_FALSE(test, stub_range_ok(1, PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_FALSE(test, stub_range_ok(0, PAGE_SIZE + 1, LIMIT));
	/* past the limit, by one page and by wrapping around */
	KUNIT_EXPECT_FALSE(test, stub_range_ok(LIMIT - PAGE_SIZE,
					       2 * PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_FALSE(test, stub_range_ok(LIMIT, PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_FALSE(test, stub_range_ok(PAGE_SIZE, -PAGE_SIZE, LIMIT));
	KUNIT_EXPECT_FALSE(test, stub_range_ok(-PAGE_SIZE, 2 * PAGE_SIZE,
					       -1UL));
}

static void stub_mmap_args_accepts_the_stub_mmap(struct kunit *test)
{
	unsigned long long args[6] = {
		PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_FIXED, STUB_MEM_FD, 4 * PAGE_SIZE,
	};

	KUNIT_EXPECT_TRUE(test, stub_mmap_args_ok(args, LIMIT));
	args[2] = PROT_READ | PROT_EXEC;
	KUNIT_EXPECT_TRUE(test, stub_mmap_args_ok(args, LIMIT));
	args[2] = PROT_NONE;
	KUNIT_EXPECT_TRUE(test, stub_mmap_args_ok(args, LIMIT));
	/* The offset as the host takes it: in pages for mmap2() on i386 */
	args[5] = IS_ENABLED(CONFIG_64BIT) ? 5 * PAGE_SIZE : 5;
	KUNIT_EXPECT_TRUE(test, stub_mmap_args_ok(args, LIMIT));
}

static void stub_mmap_args_rejects_everything_else(struct kunit *test)
{
	static const unsigned long long good[6] = {
		PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED,
		STUB_MEM_FD, 0,
	};
	unsigned long long args[6];
	static const struct {
		int arg;
		unsigned long long val;
	} bad[] = {
		{ 0, PAGE_SIZE + 8 },			/* unaligned address */
		{ 0, LIMIT },				/* above the limit */
		{ 1, 0 },				/* empty */
		{ 1, -PAGE_SIZE },			/* wraps */
		{ 2, PROT_READ | 0x10 },		/* unknown prot bit */
		{ 3, MAP_PRIVATE | MAP_FIXED },		/* private */
		{ 3, MAP_SHARED },			/* not fixed */
		{ 3, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS },
		{ 4, 0 },				/* another FD */
		{ 4, (1ULL << 32) | STUB_MEM_FD },	/* truncates to it */
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(args, good, sizeof(args));
		args[bad[i].arg] = bad[i].val;
		KUNIT_EXPECT_FALSE_MSG(test, stub_mmap_args_ok(args, LIMIT),
				       "case %d", i);
	}

	/* A byte offset must be page aligned; a page offset always is */
	if (IS_ENABLED(CONFIG_64BIT)) {
		memcpy(args, good, sizeof(args));
		args[5] = 1;
		KUNIT_EXPECT_FALSE(test, stub_mmap_args_ok(args, LIMIT));
	}
}

static struct kunit_case stub_check_test_cases[] = {
	KUNIT_CASE(stub_range_accepts_aligned_ranges),
	KUNIT_CASE(stub_range_rejects_bad_ranges),
	KUNIT_CASE(stub_mmap_args_accepts_the_stub_mmap),
	KUNIT_CASE(stub_mmap_args_rejects_everything_else),
	{}
};

static struct kunit_suite stub_check_test_suite = {
	.name = "um_stub_check",
	.test_cases = stub_check_test_cases,
};

kunit_test_suite(stub_check_test_suite);

MODULE_DESCRIPTION("KUnit tests for UML SECCOMP stub syscall checks");
