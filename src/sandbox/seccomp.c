/*
 * seccomp.c - the filter every sandbox process runs under, compiled once
 * with libseccomp and handed to bwrap (--seccomp FD) as BPF.
 *
 * It refuses what a guest never needs and what widens the kernel surface it
 * can reach; docs/sandbox.md has the list and the reasons. The default is
 * to allow: the guest's privilege is already bounded by its user namespace
 * and capability set, and an allow-list breaks real tools (pip, npm, git,
 * compilers) in ways a deny-list does not. The i386 and x32 ABIs get the
 * same rules, or a 32-bit program could walk around them.
 */
#include "sb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK	40
#endif

/* Refused with EPERM. */
static const char *const sc_eperm[] = {
	/* loading code into the kernel, replacing it */
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "bpf", "perf_event_open",
	/* kernel keyrings are not namespaced per sandbox */
	"keyctl", "add_key", "request_key",
	/* file systems: bwrap built the view; nothing more is mounted */
	"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig",
	"fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
	"quotactl", "quotactl_fd", "swapon", "swapoff",
	/* the machine's clock, console and accounting */
	"reboot", "syslog", "acct", "settimeofday", "clock_settime",
	"clock_adjtime", "vhangup", "iopl", "ioperm",
	/* old exploit vehicles */
	"userfaultfd", "open_by_handle_at", "lookup_dcookie", "fanotify_init",
	"nfsservctl", "uselib", "_sysctl", "create_module", "get_kernel_syms",
	"query_module", "vm86", "vm86old",
};

/* Refused with ENOSYS, so that callers fall back (libuv, liburing users). */
static const char *const sc_enosys[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
};

static char		*bpf_buf;
static size_t		 bpf_len;
static int		 bpf_errno;
static char		 bpf_msg[128];
static pthread_once_t	 bpf_once = PTHREAD_ONCE_INIT;

static int
add_list(scmp_filter_ctx ctx, const char *const *names, size_t n,
    uint32_t action)
{
	size_t	 i;
	int	 nr, rc;

	for (i = 0; i < n; i++) {
		/* Names some architecture lacks resolve to an error: skip. */
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, action, nr, 0)) < 0) {
			snprintf(bpf_msg, sizeof(bpf_msg), "seccomp rule for "
			    "%s: %s", names[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* One rule on one argument (`b` is the value for SCMP_CMP_MASKED_EQ). */
static int
rule_arg(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg,
    enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp	 c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return seccomp_rule_add_array(ctx, action, nr, 1, &c);
}

static int
build(scmp_filter_ctx ctx)
{
	int	 rc;

#if defined(__x86_64__)
	if ((rc = seccomp_arch_add(ctx, SCMP_ARCH_X86)) < 0 && rc != -EEXIST)
		return rc;
	if ((rc = seccomp_arch_add(ctx, SCMP_ARCH_X32)) < 0 && rc != -EEXIST)
		return rc;
#endif
	if ((rc = add_list(ctx, sc_eperm, sizeof(sc_eperm) /
	    sizeof(sc_eperm[0]), SCMP_ACT_ERRNO(EPERM))) < 0)
		return rc;
	if ((rc = add_list(ctx, sc_enosys, sizeof(sc_enosys) /
	    sizeof(sc_enosys[0]), SCMP_ACT_ERRNO(ENOSYS))) < 0)
		return rc;
	/* Pushing input into a terminal the guest was handed (CVE-2017-5226). */
	if ((rc = rule_arg(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)) < 0 ||
	    (rc = rule_arg(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX)) < 0)
		return rc;
	/* vsock reaches the hypervisor host and is not network-namespaced. */
	if ((rc = rule_arg(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket),
	    0, SCMP_CMP_EQ, AF_VSOCK, 0)) < 0)
		return rc;
	return 0;
}

static void
compile(void)
{
	scmp_filter_ctx	 ctx;
	off_t		 end;
	int		 fd = -1, rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		bpf_errno = ENOMEM;
		snprintf(bpf_msg, sizeof(bpf_msg), "seccomp_init failed");
		return;
	}
	if ((rc = build(ctx)) < 0) {
		bpf_errno = -rc;
		if (bpf_msg[0] == '\0')
			snprintf(bpf_msg, sizeof(bpf_msg), "seccomp filter: "
			    "%s", strerror(-rc));
		goto out;
	}
	if ((fd = memfd_create("isorun-seccomp", MFD_CLOEXEC)) == -1 ||
	    (rc = seccomp_export_bpf(ctx, fd)) < 0 ||
	    (end = lseek(fd, 0, SEEK_END)) <= 0 ||
	    (bpf_buf = malloc((size_t)end)) == NULL ||
	    pread(fd, bpf_buf, (size_t)end, 0) != end) {
		bpf_errno = errno ? errno : EIO;
		snprintf(bpf_msg, sizeof(bpf_msg), "export seccomp filter: "
		    "%s", strerror(bpf_errno));
		free(bpf_buf);
		bpf_buf = NULL;
		goto out;
	}
	bpf_len = (size_t)end;
out:
	if (fd != -1)
		close(fd);
	seccomp_release(ctx);
}

int
sb_seccomp_fd(struct ir_err *err)
{
	int	 fd;

	pthread_once(&bpf_once, compile);
	if (bpf_buf == NULL)
		return err_set(err, bpf_errno, "%s", bpf_msg);
	if ((fd = memfd_create("isorun-seccomp", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return err_set(err, errno, "memfd_create: %s",
		    strerror(errno));
	if (write(fd, bpf_buf, bpf_len) != (ssize_t)bpf_len ||
	    lseek(fd, 0, SEEK_SET) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
		err_set(err, errno, "seccomp program: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
