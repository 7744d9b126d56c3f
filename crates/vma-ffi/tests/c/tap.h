/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TAP output shared by the C tests of the vma C ABI: `check` numbers each
 * result and counts the failures, which decide the exit status. */
#ifndef VMA_TEST_TAP_H
#define VMA_TEST_TAP_H

#include <stdio.h>

static int tests, failures;

static void check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", tests, what);
}

#endif
