/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The embedder's extras of the C ABI on the model alone: merge verdicts
 * checked against a known layout, and dry runs that answer what the real
 * call then answers while the address space stays as it was. Bad
 * handles and null pointers are error values. Prints TAP; exits non-zero
 * if any check failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vma.h"
#include "tap.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define RW (PROT_READ | PROT_WRITE)
#define VM_WRITE 0x2ULL
#define VM_ACCOUNT 0x100000ULL

#define PG 4096ULL
#define BASE 0x100000000000ULL
#define A(n) (BASE + (uint64_t)(n) * PG)
#define P(n) ((uint64_t)(n) * PG)


static void maps(vma_mm_t mm, char *buf, size_t len)
{
	if (vma_render_maps(mm, buf, len) < 0)
		buf[0] = 0;
}

/* The verdict on the VMAs at pages lo and hi: its code, and *v. */
static int64_t verdict(vma_mm_t mm, unsigned lo, unsigned hi, vma_verdict *v)
{
	memset(v, 0, sizeof(*v));
	return vma_merge_verdict(mm, A(lo), A(hi), v);
}

int main(void)
{
	static char before[1 << 16], after[1 << 16], dry[1 << 16];
	vma_mm_t mm = vma_mm_new(6, 18, 0, 0);
	int64_t file = vma_file_new(16, 1);
	int64_t other = vma_file_new(16, 1);
	vma_verdict v;
	int64_t copy, r;
	int code;

	check(mm != 0 && file > 0 && other > 0, "an address space and two files");

	/*
	 * 0-4 rw, 4-8 r (flags differ), hole at 8, 9-11 file at page 0,
	 * 11-13 the same file at page 5 (offsets discontiguous), 13-15
	 * another file.
	 */
	check(vma_mmap(mm, A(0), P(4), RW, ANON, 0, 0) == (int64_t)A(0), "mmap 0-4 rw");
	check(vma_mmap(mm, A(4), P(4), PROT_READ, ANON, 0, 0) == (int64_t)A(4), "mmap 4-8 r");
	check(vma_mmap(mm, A(9), P(2), PROT_READ, MAP_PRIVATE | MAP_FIXED, (vma_file_t)file, 0) ==
		      (int64_t)A(9),
	      "mmap 9-11 file page 0");
	check(vma_mmap(mm, A(11), P(2), PROT_READ, MAP_PRIVATE | MAP_FIXED, (vma_file_t)file,
		       P(5)) == (int64_t)A(11),
	      "mmap 11-13 file page 5");
	check(vma_mmap(mm, A(13), P(2), PROT_READ, MAP_PRIVATE | MAP_FIXED, (vma_file_t)other,
		       P(13)) == (int64_t)A(13),
	      "mmap 13-15 another file");
	check(vma_count(mm) == 5, "five VMAs");

	r = verdict(mm, 1, 6, &v);
	check(r == VMA_NOMERGE_FLAGS_DIFFER && v.code == r && v.detail[0] == (VM_WRITE | VM_ACCOUNT) &&
		      v.lower_start == A(0) && v.lower_end == A(4) && v.upper_start == A(4) &&
		      v.upper_end == A(8),
	      "0-4 rw and 4-8 r: flags differ in VM_WRITE and VM_ACCOUNT");
	if (v.detail[0] != (VM_WRITE | VM_ACCOUNT))
		printf("# differ: %#llx\n", (unsigned long long)v.detail[0]);
	r = verdict(mm, 4, 9, &v);
	check(r == VMA_NOMERGE_NOT_ADJACENT && v.detail[0] == A(8) && v.detail[1] == A(9),
	      "4-8 and 9-11: a hole from 8 to 9");
	r = verdict(mm, 9, 11, &v);
	check(r == VMA_NOMERGE_PGOFF_DISCONTIGUOUS && v.detail[0] == 2 && v.detail[1] == 5,
	      "9-11 and 11-13: offset 2 would continue, 5 does not");
	r = verdict(mm, 12, 14, &v);
	check(r == VMA_NOMERGE_FILE_DIFFERS, "11-13 and 13-15: different files");
	check(strcmp(vma_verdict_name(VMA_NOMERGE_FLAGS_DIFFER), "flags_differ") == 0 &&
		      strcmp(vma_verdict_name(VMA_MERGE_YES), "merges") == 0,
	      "codes have names");
	code = 0;
	while (vma_verdict_name(code))
		code++;
	check(code == VMA_NOMERGE_PREV_NEXT_ANON_VMA + 1 && vma_verdict_name(-1) == NULL,
	      "every code has a name, and nothing else");

	/* A dry run: mprotect 4-8 rw would merge it into 0-4. */
	maps(mm, before, sizeof(before));
	copy = vma_dry_run(mm);
	check(copy > 0, "vma_dry_run gives a scratch handle");
	check(vma_mprotect((vma_mm_t)copy, A(4), P(4), RW) == 0 &&
		      vma_count((vma_mm_t)copy) == 4 && vma_count(mm) == 5,
	      "the dry run merges 4-8 into 0-4 on the copy only");
	maps((vma_mm_t)copy, dry, sizeof(dry));
	maps(mm, after, sizeof(after));
	check(strcmp(before, after) == 0, "the address space is as it was");
	check(vma_mprotect(mm, A(4), P(4), RW) == 0, "the real mprotect answers the same");
	maps(mm, after, sizeof(after));
	check(strcmp(dry, after) == 0, "and leaves the layout the dry run showed");
	check(vma_mm_free((vma_mm_t)copy) == 0, "the copy is freed like any handle");

	/* A dry run of a failing call. */
	copy = vma_dry_run(mm);
	r = vma_munmap((vma_mm_t)copy, A(1) + 1, P(1));
	check(r == -EINVAL && r == vma_munmap(mm, A(1) + 1, P(1)), "a misaligned munmap: EINVAL both");
	vma_mm_free((vma_mm_t)copy);

	/* Bad input is an error value. */
	check(verdict(mm, 1, 11, &v) == -EINVAL, "11-13 is not the VMA next above 0-8");
	check(verdict(mm, 8, 9, &v) == -EINVAL, "no VMA at 8");
	check(verdict(mm, 14, 20, &v) == -EINVAL, "nothing above 13-15");
	check(vma_merge_verdict(mm, A(0), A(9), NULL) == -EFAULT, "null verdict is EFAULT");
	check(vma_merge_verdict(0, A(0), A(9), &v) == -EBADF, "handle 0 is EBADF");
	check(vma_dry_run(0) == -EBADF && vma_dry_run(mm + 1000) == -EBADF,
	      "dry run of a bad handle is EBADF");
	check(vma_mm_free(mm) == 0, "freed");
	printf("1..%d\n", tests);
	return failures != 0;
}
