/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Links libvma_ffi and runs the same memory calls on this process's
 * kernel and on a model of that kernel, comparing every result and the
 * layout of a private window of /proc/self/maps after each call. Prints
 * TAP; exits non-zero if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "vma.h"
#include "tap.h"

#define WINDOW_PAGES 64

/* From linux/mempolicy.h, which a libc may not carry. */
#define BIND_MODE 2		/* MPOL_BIND */
#define F_ADDR 2		/* MPOL_F_ADDR */
#define HOME_NODE_SYSCALL 450	/* set_mempolicy_home_node on x86-64 */

static long page;
static uint64_t base;
static vma_mm_t mm;

/* The kernel's answer in the model's convention: value or -errno. */
static int64_t kret(long r)
{
	return r == -1 ? -(int64_t)errno : (int64_t)r;
}

static int64_t kaddr(void *p)
{
	return p == MAP_FAILED ? -(int64_t)errno : (int64_t)(uintptr_t)p;
}

/* The window's lines of a maps text, as "start-end perms offset\n",
 * relative to the window, into out. */
static void window_lines(const char *maps, char *out, size_t len)
{
	const char *line = maps;
	size_t used = 0;

	out[0] = 0;
	while (*line) {
		unsigned long long s, e, off;
		char perms[5];
		const char *next = strchr(line, '\n');

		if (sscanf(line, "%llx-%llx %4s %llx", &s, &e, perms, &off) == 4 &&
		    s >= base && e <= base + WINDOW_PAGES * page) {
			int n = snprintf(out + used, len - used, "%llu-%llu %s %llu\n",
					 (s - base) / page, (e - base) / page, perms,
					 off / page);
			if (n > 0 && (size_t)n < len - used)
				used += (size_t)n;
		}
		if (!next)
			break;
		line = next + 1;
	}
}

static void compare_layout(const char *after)
{
	static char kernel_maps[1 << 20], model_maps[1 << 20];
	static char k[8192], m[8192];
	char what[256];
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = f ? fread(kernel_maps, 1, sizeof(kernel_maps) - 1, f) : 0;
	int64_t len;

	if (f)
		fclose(f);
	kernel_maps[n] = 0;
	len = vma_render_maps(mm, model_maps, sizeof(model_maps));
	window_lines(kernel_maps, k, sizeof(k));
	window_lines(model_maps, m, sizeof(m));
	snprintf(what, sizeof(what), "layout after %s", after);
	check(len >= 0 && strcmp(k, m) == 0, what);
	if (strcmp(k, m) != 0)
		printf("# kernel:\n%s# model:\n%s", k, m);
	if (vma_validate(mm) != 0)
		check(0, "model invariants");
}

static void same(const char *what, int64_t kernel, int64_t model)
{
	char line[256];

	snprintf(line, sizeof(line), "%s: kernel %lld, model %lld", what,
		 (long long)kernel, (long long)model);
	check(kernel == model, line);
	compare_layout(what);
}

#define P(n) ((uint64_t)(n) * (uint64_t)page)
#define A(n) (base + P(n))
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

int main(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0, patch = 0;
	void *w;
	vma_entry e;

	page = sysconf(_SC_PAGESIZE);
	uname(&u);
	sscanf(u.release, "%u.%u.%u", &major, &minor, &patch);
	/* A window the kernel chose, emptied: the model is empty too. */
	w = mmap(NULL, P(WINDOW_PAGES), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	base = (uint64_t)(uintptr_t)w;
	munmap(w, P(WINDOW_PAGES));
	mm = vma_mm_new((uint16_t)major, (uint16_t)minor, (uint16_t)patch, 0);
	check(mm != 0, "vma_mm_new");

	same("mmap 0 8 rw",
	     kaddr(mmap((void *)A(0), P(8), PROT_READ | PROT_WRITE, ANON, -1, 0)) - (int64_t)base,
	     vma_mmap(mm, A(0), P(8), PROT_READ | PROT_WRITE, ANON, 0, 0) - (int64_t)base);
	same("mprotect 2 2 r", kret(mprotect((void *)A(2), P(2), PROT_READ)),
	     vma_mprotect(mm, A(2), P(2), PROT_READ));
	same("mmap 8 4 rw (merges)",
	     kaddr(mmap((void *)A(8), P(4), PROT_READ | PROT_WRITE, ANON, -1, 0)) - (int64_t)base,
	     vma_mmap(mm, A(8), P(4), PROT_READ | PROT_WRITE, ANON, 0, 0) - (int64_t)base);
	same("munmap 5 1", kret(munmap((void *)A(5), P(1))), vma_munmap(mm, A(5), P(1)));
	same("mprotect 2 2 rw (merges back)",
	     kret(mprotect((void *)A(2), P(2), PROT_READ | PROT_WRITE)),
	     vma_mprotect(mm, A(2), P(2), PROT_READ | PROT_WRITE));
	*(volatile char *)A(0) = 1;
	same("touch write 0", 0, vma_touch(mm, A(0), 1));
	same("mremap 6 6 -> 10 in place",
	     kaddr(mremap((void *)A(6), P(6), P(10), 0)) - (int64_t)base,
	     vma_mremap(mm, A(6), P(6), P(10), 0, 0) - (int64_t)base);
	same("madvise 0 4 DONTNEED", kret(madvise((void *)A(0), P(4), MADV_DONTNEED)),
	     vma_madvise(mm, A(0), P(4), MADV_DONTNEED));
	same("mmap 20 4 r",
	     kaddr(mmap((void *)A(20), P(4), PROT_READ, ANON, -1, 0)) - (int64_t)base,
	     vma_mmap(mm, A(20), P(4), PROT_READ, ANON, 0, 0) - (int64_t)base);
	/* A fetch where nothing may run: the page comes in, the fetch faults. */
	check(vma_fetch(mm, A(20)) == SIGSEGV * 256 + SEGV_ACCERR,
	      "fetch from a page without PROT_EXEC: SIGSEGV/SEGV_ACCERR");
	check(vma_fetch(mm, A(40)) == SIGSEGV * 256 + SEGV_MAPERR,
	      "fetch from nothing: SIGSEGV/SEGV_MAPERR");
	same("mremap 0 4 -> 30 moved",
	     kaddr(mremap((void *)A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED,
			  (void *)A(30))) - (int64_t)base,
	     vma_mremap(mm, A(0), P(4), P(4), MREMAP_MAYMOVE | MREMAP_FIXED, A(30)) -
		     (int64_t)base);
	same("munmap misaligned", kret(munmap((void *)(A(1) + 1), P(1))),
	     vma_munmap(mm, A(1) + 1, P(1)));
	same("mprotect unmapped", kret(mprotect((void *)A(40), P(1), PROT_READ)),
	     vma_mprotect(mm, A(40), P(1), PROT_READ));
	same("mseal 30 4", kret(syscall(462, (void *)A(30), P(4), 0UL)),
	     vma_mseal(mm, A(30), P(4), 0));
	same("munmap sealed", kret(munmap((void *)A(30), P(4))), vma_munmap(mm, A(30), P(4)));

	/* Residency, syncing and memory policy on a fresh stretch. */
	same("mmap 44 8 rw",
	     kaddr(mmap((void *)A(44), P(8), PROT_READ | PROT_WRITE, ANON, -1, 0)) - (int64_t)base,
	     vma_mmap(mm, A(44), P(8), PROT_READ | PROT_WRITE, ANON, 0, 0) - (int64_t)base);
	*(volatile char *)A(45) = 1;
	same("touch write 45", 0, vma_touch(mm, A(45), 1));
	{
		unsigned char kv[8] = { 0 }, mv[8] = { 0 };

		same("mincore 44 8", kret(mincore((void *)A(44), P(8), kv)),
		     vma_mincore(mm, A(44), P(8), mv));
		check(memcmp(kv, mv, sizeof(kv)) == 0, "mincore vectors agree");
		same("mincore over a hole", kret(mincore((void *)A(50), P(4), kv)),
		     vma_mincore(mm, A(50), P(4), mv));
	}
	same("msync 44 8 MS_SYNC", kret(msync((void *)A(44), P(8), MS_SYNC)),
	     vma_msync(mm, A(44), P(8), MS_SYNC));
	same("msync over a hole", kret(msync((void *)A(50), P(4), MS_ASYNC)),
	     vma_msync(mm, A(50), P(4), MS_ASYNC));
	{
		unsigned long node0[16] = { 1 }, kmask[16] = { 0 };
		uint64_t mmask = 0;
		int kpol = -1, mpol = -1;
		long kr = kret(syscall(SYS_mbind, (void *)A(44), P(2), BIND_MODE, node0, 1025, 0));

		if (kr == -ENOSYS) {
			printf("# skip memory policy checks: this kernel has no NUMA\n");
		} else {
			same("mbind 44 2 bind 0", kr,
			     vma_mbind(mm, A(44), P(2), BIND_MODE, 1, 0));
			same("get_mempolicy addr 44",
			     kret(syscall(SYS_get_mempolicy, &kpol, kmask, 1025, (void *)A(44),
					  F_ADDR)),
			     vma_get_mempolicy(mm, &mpol, &mmask, A(44), F_ADDR));
			check(kpol == mpol && kmask[0] == mmask, "get_mempolicy outputs agree");
			same("set_mempolicy_home_node 45 1 0",
			     kret(syscall(HOME_NODE_SYSCALL, (void *)A(45), P(1), 0UL, 0UL)),
			     vma_set_mempolicy_home_node(mm, A(45), P(1), 0, 0));
			same("set_mempolicy bind 0",
			     kret(syscall(SYS_set_mempolicy, BIND_MODE, node0, 1025)),
			     vma_set_mempolicy(mm, BIND_MODE, 1));
			kpol = mpol = -1;
			same("get_mempolicy task",
			     kret(syscall(SYS_get_mempolicy, &kpol, kmask, 1025, NULL, 0)),
			     vma_get_mempolicy(mm, &mpol, &mmask, 0, 0));
			check(kpol == mpol && kmask[0] == mmask, "task policies agree");
			same("set_mempolicy default", kret(syscall(SYS_set_mempolicy, 0, NULL, 0)),
			     vma_set_mempolicy(mm, 0, 0));
		}
	}

	/* Bad input from C is an error value, never a crash. */
	check(vma_munmap(0, A(0), P(1)) == -EBADF, "handle 0 is EBADF");
	check(vma_munmap(mm + 1000, A(0), P(1)) == -EBADF, "unknown handle is EBADF");
	check(vma_find(mm, 0, NULL) == -EFAULT, "null entry is EFAULT");
	check(vma_render_maps(mm, NULL, 16) == -EFAULT, "null buffer is EFAULT");
	check(vma_mincore(mm, A(44), P(2), NULL) == -EFAULT, "null mincore vector is EFAULT");
	check(vma_process_madvise(mm, NULL, 1, MADV_COLD, 0) == -EFAULT,
	      "null process_madvise vector is EFAULT");
	check(vma_process_madvise(mm, NULL, 1, MADV_COLD, 1) == -EINVAL,
	      "process_madvise flags are checked before the vector");
	check(vma_process_madvise(mm, NULL, 5000, MADV_COLD, 0) == -EINVAL,
	      "a process_madvise vector over UIO_MAXIOV is EINVAL");
	{
		vma_iovec iov[2] = { { A(44), P(2) }, { A(46), P(1) } };

		check(vma_process_madvise(mm, iov, 2, MADV_WILLNEED, 0) == (int64_t)P(3),
		      "process_madvise answers the bytes advised");
	}
	check(vma_mmap(mm, 0, P(1), PROT_READ, MAP_PRIVATE, 12345, 0) == -EBADF,
	      "unknown file is EBADF");
	check(vma_find(mm, A(6), &e) == 1 && e.start == A(6) && strcmp(e.perms, "rw-p") == 0,
	      "vma_find gives the VMA at 6");
	check(vma_mm_free(mm) == 0 && vma_mm_free(mm) == -EBADF, "a freed handle is EBADF");
	printf("1..%d\n", tests);
	return failures != 0;
}
