/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runtime every exported vmalab scenario shares: TAP output, system
 * calls answered as value or -errno, one-byte accesses that catch their
 * signal, the window and its two guard pages, the scenario's files, a
 * userfaultfd, and the window's layout read from /proc/self/smaps in the
 * form the expected layouts are written in.
 */
#define _GNU_SOURCE
/* Each program uses the part of the runtime its steps need. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#define MAX_FILES 16

static int tests, failures;
static uint64_t W, PS, PAGES;
static int file_fd[MAX_FILES];
static unsigned long long file_ino[MAX_FILES];
static const char *file_name[MAX_FILES];
static int nfiles;

static void report(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", tests, what);
}

static void skip(const char *what, const char *why)
{
	tests++;
	printf("ok %d - %s # SKIP %s\n", tests, what, why);
}

static void bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(2);
}

static int finish(void)
{
	printf("1..%d\n", tests);
	return failures != 0;
}

/* A system call's answer: its value, or -errno. */
static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);

	return r == -1 ? -errno : r;
}

static sigjmp_buf touch_jump;
static volatile sig_atomic_t touch_sig, touch_code;

static void on_fault(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	touch_sig = sig;
	touch_code = info->si_code;
	siglongjmp(touch_jump, 1);
}

/* A one-byte access: the byte read (0 for a write, which stores `stored`);
 * on a fault, *sig and *code are set and -1 is returned. */
static long touch(uint64_t addr, int write, unsigned char stored, int *sig, int *code)
{
	struct sigaction sa;
	volatile long value = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	*sig = 0;
	*code = 0;
	if (sigsetjmp(touch_jump, 1)) {
		*sig = touch_sig;
		*code = touch_code;
		return -1;
	}
	if (write)
		*(volatile unsigned char *)(uintptr_t)addr = stored;
	else
		value = *(volatile unsigned char *)(uintptr_t)addr;
	return value;
}

/* fork(): the parent waits and leaves with the child's status, so the
 * remaining steps and their TAP lines are the child's. */
static long do_fork(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		return 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			bail("waitpid failed");
	}
	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	printf("not ok %d - the child died of signal %d\n", tests + 1,
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	printf("1..%d\n", tests + 1);
	exit(1);
}

/* process_madvise on a pidfd of this process, opened for the call (the
 * numbers are x86-64's: not every libc names the calls yet). */
static long self_process_madvise(const struct iovec *iov, long n, uint64_t advice, uint64_t flags)
{
	long pidfd = sys(434, (long)getpid(), 0, 0, 0, 0, 0);
	long r;

	if (pidfd < 0)
		return pidfd;
	r = sys(440, pidfd, (long)(uintptr_t)iov, n, (long)advice, (long)flags, 0);
	close((int)pidfd);
	return r;
}

/* process_mrelease on a pidfd of this process. */
static long self_process_mrelease(uint64_t flags)
{
	long pidfd = sys(434, (long)getpid(), 0, 0, 0, 0, 0);
	long r;

	if (pidfd < 0)
		return pidfd;
	r = sys(448, pidfd, (long)flags, 0, 0, 0, 0);
	close((int)pidfd);
	return r;
}

/* mincore's residency vector as a bit mask (bit i: page i, at most 63). */
static long mincore_mask(uint64_t addr, uint64_t len)
{
	unsigned char vec[64] = { 0 };
	long r = sys(SYS_mincore, (long)addr, (long)len, (long)(uintptr_t)vec, 0, 0, 0);
	uint64_t pages = (len + PS - 1) / PS;
	long mask = 0;

	if (r < 0)
		return r;
	for (uint64_t i = 0; i < pages && i < 63; i++)
		mask |= (long)(vec[i] & 1) << i;
	return mask;
}

/* get_mempolicy with both outputs: the policy word, or (nodes) the first
 * 64 bits of the node mask. */
static long get_mempolicy_word(int nodes, uint64_t flags, uint64_t addr)
{
	int policy = 0;
	unsigned long mask[16] = { 0 };
	long r = sys(SYS_get_mempolicy, (long)(uintptr_t)&policy, (long)(uintptr_t)mask,
		     16 * 64 + 1, (long)addr, (long)flags, 0);

	if (r < 0)
		return r;
	return nodes ? (long)mask[0] : policy;
}

/* The `NAME:  N kB` value among the lines of `f` up to the next smaps
 * header (or the end); -ENOENT if absent. */
static long kb_field(FILE *f, const char *name)
{
	char line[512];
	size_t n = strlen(name);

	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' '))
			break;
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			return strtol(line + n + 1, NULL, 10);
	}
	return -ENOENT;
}

/* A /proc/self/status field in kB. */
static long status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	long v;

	if (!f)
		bail("cannot read /proc/self/status");
	v = kb_field(f, name);
	fclose(f);
	return v;
}

/* An smaps field in kB of the VMA holding `addr`; -ENOENT without one. */
static long smaps_kb(uint64_t addr, const char *name)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	long v = -ENOENT;

	if (!f)
		bail("cannot read /proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && a <= addr && addr < b) {
			v = kb_field(f, name);
			break;
		}
	}
	fclose(f);
	return v;
}

/* prlimit64 on this process. */
static long set_rlimit(int resource, uint64_t soft, uint64_t hard)
{
	uint64_t lim[2] = { soft, hard };

	return sys(SYS_prlimit64, 0, resource, (long)(uintptr_t)lim, 0, 0, 0);
}

/* Removes a capability from the effective, permitted and inheritable sets. */
static long drop_cap(int cap)
{
	uint32_t header[2] = { 0x20080522, 0 };
	uint32_t data[6] = { 0 };
	long r = sys(SYS_capget, (long)(uintptr_t)header, (long)(uintptr_t)data, 0, 0, 0, 0);

	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++)
		data[(cap / 32) * 3 + i] &= ~(1U << (cap % 32));
	return sys(SYS_capset, (long)(uintptr_t)header, (long)(uintptr_t)data, 0, 0, 0, 0);
}

static int uffd = -1;

struct uffd_api_arg {
	uint64_t api, features, ioctls;
};
struct uffd_range_arg {
	uint64_t start, len;
};
struct uffd_register_arg {
	struct uffd_range_arg range;
	uint64_t mode, ioctls;
};

static int uffd_open_raw(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1);
	return fd;
}

/* A userfaultfd with SIGBUS delivery (no handler thread) and the shmem and
 * hugetlb modes the kernel offers. */
static int uffd_get(void)
{
	const uint64_t wanted = (1ULL << 0) | (1ULL << 4) | (1ULL << 5) | (1ULL << 7) |
				(1ULL << 9) | (1ULL << 10) | (1ULL << 12);
	struct uffd_api_arg api = { 0xAA, 0, 0 };
	int probe;

	if (uffd >= 0)
		return uffd;
	probe = uffd_open_raw();
	if (probe < 0)
		return -errno;
	if (ioctl(probe, 0xc018aa3fUL, &api) != 0) {
		int e = errno;
		close(probe);
		return -e;
	}
	close(probe);
	uffd = uffd_open_raw();
	if (uffd < 0)
		return -errno;
	api.api = 0xAA;
	api.features &= wanted;
	api.ioctls = 0;
	if (ioctl(uffd, 0xc018aa3fUL, &api) != 0) {
		int e = errno;
		close(uffd);
		uffd = -1;
		return -e;
	}
	return uffd;
}

static long uffd_register(uint64_t start, uint64_t len, uint64_t mode)
{
	struct uffd_register_arg r = { { start, len }, mode, 0 };
	int fd = uffd_get();

	if (fd < 0)
		return fd;
	return ioctl(fd, 0xc020aa00UL, &r) == 0 ? 0 : -errno;
}

static long uffd_unregister(uint64_t start, uint64_t len)
{
	struct uffd_range_arg r = { start, len };
	int fd = uffd_get();

	if (fd < 0)
		return fd;
	return ioctl(fd, 0x8010aa01UL, &r) == 0 ? 0 : -errno;
}

/* A userfaultfd range ioctl on the 64-bit words of its structure: the
 * bytes the kernel reports done in word `count` when positive (also when
 * the ioctl failed with EAGAIN for a partial fill), else 0 or -errno. */
static long uffd_range(unsigned long cmd, uint64_t *w, int count)
{
	int fd = uffd_get();
	int rc, e;

	if (fd < 0)
		return fd;
	if (count >= 0)
		w[count] = 0;
	rc = ioctl(fd, cmd, w);
	e = errno;
	if (count >= 0 && (int64_t)w[count] > 0)
		return (long)w[count];
	return rc == 0 ? 0 : -e;
}

/* Claims the window at `base` with a PROT_NONE guard page on each side,
 * as vmalab's runner does, or bails out. */
static void open_window(uint64_t base, uint64_t pages)
{
	uint64_t total = (pages + 2) * PS;
	void *want = (void *)(uintptr_t)(base - PS);
	void *got = mmap(want, total, PROT_NONE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);

	if (got != want)
		bail("the window's address is taken");
	if (munmap((void *)(uintptr_t)base, pages * PS) != 0)
		bail("cannot open the window");
	W = base;
	PAGES = pages;
}

/* A scenario file: a memfd of `size` bytes (open to seals if asked,
 * MFD_ALLOW_SEALING), /dev/zero (source 1) or a pipe's read end (source 2),
 * reopened read-only or write-only as declared. */
static void make_file(const char *name, uint64_t size, int readable, int writable,
		      int sealable, int source)
{
	struct stat st;
	char path[64];
	int fd, pipefd[2];

	if (source == 1) {
		fd = open("/dev/zero", O_RDWR);
	} else if (source == 2) {
		fd = pipe(pipefd) == 0 ? pipefd[0] : -1;
		if (fd >= 0)
			close(pipefd[1]);
	} else if (source == 3) {
		fd = open("/", O_RDONLY | O_DIRECTORY);
	} else if (source == 4) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
	} else if (source == 5) {
		fd = (int)syscall(447 /* memfd_secret */, (unsigned long)O_CLOEXEC);
		if (fd >= 0 && size != 0 && ftruncate(fd, (off_t)size) != 0)
			fd = -1;
	} else {
		fd = (int)syscall(SYS_memfd_create, name, sealable ? 2U : 0U);
		if (fd >= 0 && ftruncate(fd, (off_t)size) != 0)
			fd = -1;
	}
	if (fd < 0)
		bail("cannot create a scenario file");
	if ((!readable || !writable || source == 2) && !(source == 3 && readable) && source < 4) {
		int again;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		again = open(path, !readable && !writable ? O_PATH
				   : !writable		 ? O_RDONLY
				   : !readable		 ? O_WRONLY
							 : O_RDWR);
		close(fd);
		if (again < 0)
			bail("cannot reopen a scenario file");
		fd = again;
	}
	if (fstat(fd, &st) != 0 || nfiles >= MAX_FILES)
		bail("cannot stat a scenario file");
	file_fd[nfiles] = fd;
	file_ino[nfiles] = (unsigned long long)st.st_ino;
	file_name[nfiles] = name;
	nfiles++;
}

static int cmp_words(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The VmFlags words, sorted, without `sd` (soft-dirty, a build option). */
static void flag_set(char *line, char *out, size_t len)
{
	char *words[64];
	int n = 0;
	size_t used = 0;

	for (char *w = strtok(line, " \t\n"); w && n < 64; w = strtok(NULL, " \t\n"))
		if (strcmp(w, "sd") != 0)
			words[n++] = w;
	qsort(words, (size_t)n, sizeof(words[0]), cmp_words);
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		int k = snprintf(out + used, len - used, "%s%s", i ? " " : "", words[i]);
		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
}

/* What a mapping's pathname column names, as the expected layouts write
 * it: anon (with its name), a scenario file, shm, or the path. */
static void file_column(const char *path, unsigned long long ino, char *out, size_t len)
{
	for (int i = 0; i < nfiles; i++) {
		if (ino != 0 && ino == file_ino[i]) {
			snprintf(out, len, "%s", file_name[i]);
			return;
		}
	}
	if (ino == 0 && strncmp(path, "[anon:", 6) == 0)
		snprintf(out, len, "anon name=%.*s", (int)(strlen(path) - 7), path + 6);
	else if (ino == 0 && path[0] == '[')
		snprintf(out, len, "%s", path);
	else if (ino == 0)
		snprintf(out, len, "anon");
	else if (strncmp(path, "[anon_shmem:", 12) == 0)
		snprintf(out, len, "shm name=%.*s", (int)(strlen(path) - 13), path + 12);
	else if (strncmp(path, "/dev/zero", 9) == 0 || strncmp(path, "/SYSV", 5) == 0)
		snprintf(out, len, "shm");
	else
		snprintf(out, len, "%s", path);
}

/* The window's layout: one line per mapping, clipped to the window,
 * `START-END PERMS OFFSET FILE flags=WORDS` in pages from the window. */
static void window_layout(char *out, size_t len)
{
	static char line[4096], flags[1024], file[2048];
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long long s = 0, e = 0, off = 0, ino = 0;
	char perms[8] = "", path[1024] = "";
	int have = 0;
	size_t used = 0;

	out[0] = 0;
	if (!f)
		bail("cannot read /proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, o, i;
		char p[8], dev[32];
		int consumed = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &a, &b, p, &o, dev, &i,
			   &consumed) >= 6) {
			s = a;
			e = b;
			off = o;
			ino = i;
			snprintf(perms, sizeof(perms), "%s", p);
			snprintf(path, sizeof(path), "%s", line + consumed);
			path[strcspn(path, "\n")] = 0;
			have = 1;
			continue;
		}
		if (!have || strncmp(line, "VmFlags:", 8) != 0)
			continue;
		have = 0;
		if (e <= W || s >= W + PAGES * PS)
			continue;
		{
			unsigned long long cs = s < W ? W : s;
			unsigned long long ce = e > W + PAGES * PS ? W + PAGES * PS : e;
			long long op = (long long)(off / PS + (cs - s) / PS);
			int k;

			flag_set(line + 8, flags, sizeof(flags));
			file_column(path, ino, file, sizeof(file));
			k = snprintf(out + used, len - used, "%llu-%llu %s %lld %s flags=%s\n",
				     (cs - W) / PS, (ce - W) / PS, perms, op, file, flags);
			if (k > 0 && (size_t)k < len - used)
				used += (size_t)k;
		}
	}
	fclose(f);
}

static void layout_is(const char *what, const char *expected)
{
	static char actual[1 << 16];

	window_layout(actual, sizeof(actual));
	report(strcmp(actual, expected) == 0, what);
	if (strcmp(actual, expected) != 0)
		printf("# expected:\n%s# actual:\n%s", expected, actual);
}
