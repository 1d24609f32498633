/*
 * sandbox.h - sandboxes launched with bubblewrap, the images they run, and
 * commands run inside them (SPEC §4; design in docs/sandbox.md).
 *
 * A sandbox is a long-lived init (isorun-init, PID 1) in its own user, mount,
 * PID, IPC and UTS namespaces, joined to a network namespace someone else
 * prepared (the gateway's /run/netns/<runner>-sb<N>). The guest is uid 0 in
 * its user namespace only: its uids 0..65535 are host uids SB_UID_BASE + N,
 * never the host's root; the files of its image are shown to it through
 * idmapped mounts, so it owns them. It keeps a small capability set that
 * reaches nothing outside, cannot create user namespaces, and runs under a
 * seccomp filter. Its root is a writable overlay whose upper layer is a
 * tmpfs in a mount namespace private to the sandbox: nothing is mounted in
 * the runner's mount namespace, and everything the sandbox wrote vanishes
 * with its last process.
 *
 * The sandbox outlives the process that created it (unless sc_lifeline):
 * its state lives in <run_dir>/sandboxes/<id>/, and any process can
 * sandbox_open() it again, exec in it and destroy it.
 *
 * Images: "host" (the default: a copy-on-write view of the host's /usr,
 * /etc, /opt and the top-level symlinks, without what of /etc others
 * cannot read, such as /etc/shadow), an absolute path to a rootfs directory, or the NAME of an image
 * imported from a docker-archive or OCI-layout tarball with image_import()
 * (stored flattened under <state_dir>/images/NAME/). A rootfs path shows
 * that directory to the guest, whatever it is: an API must only pass paths
 * its operator allowed.
 *
 * Threads: every function may be called from any thread. A struct sandbox
 * may be used by several threads at once (concurrent execs, exec during
 * destroy: the exec then fails or reports the command killed); only
 * sandbox_free() needs all other users to be done. The calling thread never
 * changes namespace: the launch happens in a forked child.
 *
 * Errors: err->code is an errno value, or 0 when the input is at fault
 * (unknown image, bad name, bad tarball): a CLI exits 2 for those. Messages
 * name the input and say why.
 *
 * Needs root (real uid 0 with CAP_SYS_ADMIN), Linux 5.19 or later (idmapped
 * lower layers of overlayfs) with the image files on a file system that
 * supports idmapped mounts (ext4, xfs, btrfs, tmpfs), /usr/bin/bwrap (0.8
 * or later) and the static isorun-init program (sandbox_paths.sp_init).
 *
 * The bwrap process of a sandbox is a child of the process that created it;
 * sandbox_destroy() reaps it there. A process that creates sandboxes must
 * not reap children it did not start (waitpid(-1)), or must tolerate that.
 */
#ifndef ISORUN_SANDBOX_H
#define ISORUN_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

#define SB_STATE_DIR	"/var/lib/isorun"	/* images/NAME/ */
#define SB_RUN_DIR	"/run/isorun"		/* sandboxes/ID/ */
#define SB_BWRAP	"/usr/bin/bwrap"
#define SB_ID_MAX	48		/* [A-Za-z0-9_-], first alnum */
#define SB_IMAGE_NAME_MAX 128		/* [A-Za-z0-9._:-], first alnum */
#define SB_WRITE_MB	1024		/* default size of the writable layer */
#define SB_OUTPUT_MAX	(1u << 20)	/* default capture per stream */
#define SB_UID_BASE	0x40000000u	/* host uid of every guest's uid 0 */
#define SB_UID_COUNT	65536u		/* guest uids 0..65535 */

/* Where a runner keeps things. Fields left NULL take the defaults. */
struct sandbox_paths {
	const char	*sp_state_dir;	/* default SB_STATE_DIR */
	const char	*sp_run_dir;	/* default SB_RUN_DIR; create makes it
					   and its sandboxes/ searchable by
					   others (o+x), and its parents must
					   be: bwrap runs as the guest's uid */
	const char	*sp_init;	/* the static isorun-init; default: $ISORUN_INIT,
					   else isorun-init beside or one level
					   above /proc/self/exe, else
					   /usr/local/libexec/isorun/isorun-init,
					   else /usr/libexec/isorun/isorun-init */
	const char	*sp_bwrap;	/* default SB_BWRAP */
	unsigned	 sp_uid_base;	/* 0: SB_UID_BASE. Guest uid (and gid) N
					   is host uid sp_uid_base + N, for N <
					   SB_UID_COUNT; a multiple of 65536,
					   and no host user's */
};

/* What a sandbox's processes may take together (cgroups; 0: no limit). */
struct sandbox_limits {
	unsigned	 sl_pids_max;	/* processes and threads at once */
	uint64_t	 sl_memory_max;	/* bytes, page cache and the writable
					   layer (tmpfs) included */
};
#define SB_PIDS_MAX	4096		/* the default of sl_pids_max */

/* A file the runner writes into the sandbox's root before it starts. */
struct sandbox_file {
	const char	*sf_path;	/* absolute, under /etc/ (components
					   [A-Za-z0-9._-], no "." or "..") */
	const char	*sf_content;	/* text, replaces the image's file */
};

struct sandbox_config {
	const struct sandbox_paths *sc_paths;	/* NULL: all defaults */
	const char	*sc_id;		/* NULL: a random "sb-" + 12 hex */
	const char	*sc_image;	/* NULL or "host", "/abs/rootfs", NAME */
	const char	*sc_netns;	/* network namespace to join, a path
					   (/run/netns/isorun-sb3); NULL: a new
					   empty one (loopback only) */
	const char	*sc_hostname;	/* default "isorun" */
	const char *const *sc_env;	/* "K=V"... NULL-terminated; every exec
					   gets them (over the image's) */
	const char	*sc_resolv_conf; /* /etc/resolv.conf content; NULL:
					   a comment only (no resolver) */
	const char	*sc_hosts;	/* /etc/hosts content; NULL: localhost
					   and the hostname */
	const struct sandbox_file *sc_files;	/* e.g. a CA bundle */
	size_t		 sc_nfiles;
	unsigned	 sc_write_mb;	/* writable layer (tmpfs) size; 0:
					   SB_WRITE_MB */
	bool		 sc_lifeline;	/* the sandbox dies when this process
					   exits or calls sandbox_free() (for a
					   one-shot `isorun run`) */
	struct sandbox_limits sc_limits; /* pids SB_PIDS_MAX, memory none */
};

struct sandbox;

void	sandbox_config_default(struct sandbox_config *c);

/*
 * Prepares the root (overlay on a private tmpfs), /etc/resolv.conf and
 * /etc/hosts, and starts bwrap with the init; returns once the init is
 * ready to run commands. Fails (nothing left behind) on an unknown image
 * (the message says how to import one), an id in use (EEXIST), a missing
 * network namespace, bwrap or init, or a launch failure (with bwrap's
 * message). The caller frees the result with sandbox_free().
 */
struct sandbox *sandbox_create(const struct sandbox_config *c,
	    struct ir_err *err);

/*
 * A sandbox created earlier, by this or another process (a restarted
 * daemon), from its state file. Fails with ENOENT for an unknown id. A
 * sandbox whose init died still opens (sandbox_alive() says false) so that
 * it can be destroyed.
 */
struct sandbox *sandbox_open(const struct sandbox_paths *p, const char *id,
	    struct ir_err *err);

/*
 * Kills every process of the sandbox (its whole PID namespace), waits until
 * they and their mounts are gone, and removes its directory. The network
 * namespace is not touched (the gateway owns it). Destroying a destroyed
 * sandbox fails with ENOENT ("already destroyed"). Returns 0 or -1; on -1
 * it has still done every step it could. `sb` stays allocated.
 */
int	sandbox_destroy(struct sandbox *sb, struct ir_err *err);

/* Releases `sb` (does not destroy the sandbox, unless sc_lifeline). */
void	sandbox_free(struct sandbox *sb);

/* The ids under <run_dir>/sandboxes, NULL-terminated, sorted; NULL on error. */
char	**sandbox_list(const struct sandbox_paths *p, struct ir_err *err);
void	 sandbox_list_free(char **ids);

struct sandbox_info {
	const char	*si_id;
	const char	*si_image;	/* as given: "host", a path or a name */
	const char	*si_netns;	/* NULL: its own empty namespace */
	const char	*si_dir;	/* <run_dir>/sandboxes/<id> */
	pid_t		 si_init_pid;	/* the init, in the caller's PID ns */
	pid_t		 si_bwrap_pid;	/* bwrap's monitor process */
	uint64_t	 si_pidns;	/* inode of the sandbox's PID namespace */
	int64_t		 si_created;	/* Unix time */
	bool		 si_alive;
	bool		 si_destroyed;
};

/* Pointers stay valid until sandbox_free(). */
void	sandbox_info(struct sandbox *sb, struct sandbox_info *out);
bool	sandbox_alive(struct sandbox *sb);
const char *sandbox_id(const struct sandbox *sb);

/*
 * One command. Initialise with sandbox_exec_req_init() (the fd fields are
 * -1, not 0), then set argv or shell.
 */
struct sandbox_exec_req {
	const char *const *er_argv;	/* argv, searched in the exec's PATH */
	const char	*er_shell;	/* or: /bin/sh -c er_shell */
	const char *const *er_env;	/* "K=V" over the sandbox's; NULL */
	const char	*er_cwd;	/* NULL: the image's WorkingDir, else
					   /root if it exists, else / */
	const void	*er_stdin;	/* bytes for stdin, then EOF; NULL and
					   er_stdin_fd -1: /dev/null */
	size_t		 er_stdin_len;
	int		 er_stdin_fd;	/* >= 0: given to the command as is */
	int		 er_stdout_fd;	/* >= 0: given as is, not captured */
	int		 er_stderr_fd;	/* (e.g. a terminal for `isorun run`) */
	unsigned	 er_timeout_ms;	/* 0: none. At the deadline the
					   command's whole process tree is
					   killed (SIGKILL) */
	size_t		 er_output_max;	/* capture per stream; 0: SB_OUTPUT_MAX;
					   the rest is read and dropped */
	/* Called on the calling thread with each chunk of output as it comes
	 * (stream 1 or 2; not for a stream given as an fd); NULL: none. */
	void		(*er_output)(void *arg, int stream, const char *buf,
			    size_t len);
	void		*er_arg;
	int		 er_signal_fd;	/* >= 0: each int read from it is a
					   signal for the command's process
					   group (Ctrl-C forwarding); -1 none */
};

struct sandbox_exec_result {
	int		 xr_exit_code;	/* 0..255; 128 + signal if killed */
	int		 xr_signal;	/* the signal that ended it, or 0 */
	bool		 xr_timed_out;	/* killed at er_timeout_ms */
	char		*xr_stdout;	/* NUL-terminated (not counted); "" */
	size_t		 xr_stdout_len;
	bool		 xr_stdout_truncated;
	char		*xr_stderr;
	size_t		 xr_stderr_len;
	bool		 xr_stderr_truncated;
	uint64_t	 xr_stdout_total;	/* bytes the command wrote */
	uint64_t	 xr_stderr_total;
	uint64_t	 xr_duration_us;	/* start to exit, measured inside */
	pid_t		 xr_pid;	/* in the sandbox's PID namespace */
};

void	sandbox_exec_req_init(struct sandbox_exec_req *r);

/*
 * Runs one command in the sandbox: same files, same PID namespace as every
 * other exec, so files and background processes persist. Returns 0 when the
 * command ran, whatever its exit code (a command that cannot be found exits
 * 127, one that cannot be executed 126, with a message on its stderr); -1
 * when it could not run (sandbox gone or destroyed, cwd missing, request
 * too big) or the sandbox vanished while it ran. The exec returns when the
 * command's main process has exited and its output up to then is read; a
 * background process that keeps stdout open does not hold it up (later
 * writes to that pipe fail with EPIPE: background jobs should redirect).
 * Several execs may run at once on one sandbox, from any threads.
 * Free `res` with sandbox_exec_result_free() (also after -1).
 */
int	sandbox_exec(struct sandbox *sb, const struct sandbox_exec_req *req,
	    struct sandbox_exec_result *res, struct ir_err *err);
void	sandbox_exec_result_free(struct sandbox_exec_result *res);

/* Images. */
struct image_info {
	char		*ii_name;
	char		*ii_format;	/* "docker-archive" or "oci" */
	char		*ii_source;	/* the imported file, as given */
	unsigned	 ii_layers;
	uint64_t	 ii_size;	/* bytes of regular files */
	int64_t		 ii_imported;	/* Unix time */
	char		**ii_env;	/* the image config's Env; NULL-term. */
	char		*ii_workdir;	/* its WorkingDir, or NULL */
};

/* 0 if `name` may name an imported image (not "host"); else says why. */
int	image_name_check(const char *name, struct ir_err *err);

/*
 * Imports `file`, a docker-archive (`docker save`) or OCI image layout
 * tarball (optionally compressed), as image `name`: the layers are applied
 * in order (whiteouts and opaque directories honoured) into
 * <state_dir>/images/<name>/rootfs, the config's Env and WorkingDir kept.
 * Entries that would leave the root (`..`, absolute names, a path through a
 * symlink that points out, a hard link to outside) reject the whole import
 * with a message naming the file, the layer and the entry. Device nodes
 * are skipped; setuid/setgid bits dropped. EEXIST if the name is taken.
 * Nothing is left behind on failure.
 */
int	image_import(const struct sandbox_paths *p, const char *name,
	    const char *file, struct ir_err *err);

/* Removes an imported image. EBUSY while a sandbox under this run
 * directory uses it (its files would vanish from under the sandbox). */
int	image_remove(const struct sandbox_paths *p, const char *name,
	    struct ir_err *err);

/* The imported images, sorted by name, into *out (NULL when there are
 * none) and *n. Returns 0 or -1. */
int	image_list(const struct sandbox_paths *p, struct image_info **out,
	    size_t *n, struct ir_err *err);
void	image_list_free(struct image_info *v, size_t n);

#endif
