/* SPDX-License-Identifier: GPL-2.0 */
/* The predicates of stub_check.c that its KUnit tests call */
#ifndef __UM_STUB_CHECK_H
#define __UM_STUB_CHECK_H

#include <linux/types.h>

bool stub_range_ok(unsigned long addr, unsigned long len, unsigned long limit);
bool stub_mmap_args_ok(const unsigned long long *args, unsigned long limit);

#endif
