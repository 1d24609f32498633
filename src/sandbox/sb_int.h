/*
 * sb_int.h - what the files of src/sandbox share. Not a contract: the unit
 * tests include it to reach the pure parts (names, paths, manifests, env).
 */
#ifndef ISORUN_SB_INT_H
#define ISORUN_SB_INT_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/file.h"
#include "sandbox.h"

/* The paths with defaults filled in; strings are static or the caller's. */
struct sb_paths {
	const char	*state_dir;
	const char	*run_dir;
	const char	*init;		/* NULL if not found */
	const char	*bwrap;
	uid_t		 uid_base;
};
int	sb_paths_get(const struct sandbox_paths *in, struct sb_paths *out,
	    struct ir_err *err);

struct sandbox {
	pthread_mutex_t	 sb_lock;	/* sb_destroyed, sb_lifeline */
	char		 sb_id[SB_ID_MAX + 1];
	char		*sb_dir;	/* <run>/sandboxes/<id> */
	char		*sb_sock;	/* <dir>/ctl.sock */
	char		*sb_image;
	char		*sb_netns;
	char		*sb_workdir;	/* default cwd, or NULL */
	char		*sb_cgroup;	/* its cgroup leaves, ':' between
					   them, the cpu one first; or NULL */
	char		**sb_env;	/* every exec's base environment */
	pid_t		 sb_init_pid;
	uint64_t	 sb_init_start;	/* /proc start time: pid reuse check */
	uint64_t	 sb_pidns;
	pid_t		 sb_bwrap_pid;
	uint64_t	 sb_bwrap_start;
	int64_t		 sb_created;
	int		 sb_lifeline;	/* write end, or -1 */
	bool		 sb_destroyed;
};

/* [A-Za-z0-9_-], first alnum, at most SB_ID_MAX. */
int	sb_id_check(const char *id, struct ir_err *err);

/*
 * Merges layers of "K=V" arrays (each NULL-terminated, NULL layers skipped)
 * into one malloc'd NULL-terminated array of malloc'd strings; a later layer
 * overrides an earlier one's K. An entry without '=' or with an empty name
 * is an error naming it. Free with sb_strv_free().
 */
char	**sb_env_merge(const char *const *const *layers, size_t n,
	    struct ir_err *err);
void	 sb_strv_free(char **v);
size_t	 sb_strv_len(char *const *v);

/* "a/b" into a malloc'd string; NULL on ENOMEM. */
char	*sb_join(const char *a, const char *b);

/* Removes `path` and everything below it, never following symlinks nor
 * crossing mount points. ENOENT is success. */
int	sb_rm_rf(const char *path, struct ir_err *err);
/* The same below an open directory: removes `name` in `dirfd`. */
int	sb_rm_rf_at(int dirfd, const char *name);
/* Removes what is inside the directory `fd` (which stays). */
int	sb_empty_dir(int fd);

/* mkdir -p with `mode` for the missing ones. */
int	sb_mkdirs(const char *path, mode_t mode, struct ir_err *err);

/* From /proc/PID/stat: state, parent, start time (clock ticks). */
struct sb_proc {
	char		 pr_state;	/* 'Z': a zombie */
	pid_t		 pr_ppid;
	uint64_t	 pr_start;
};
int	sb_proc_stat(pid_t pid, struct sb_proc *out);
/* The start time of a live (not zombie) process, 0 if there is none. */
uint64_t sb_proc_start(pid_t pid);

/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (or IN_ROOT). */
int	sb_openat_beneath(int dirfd, const char *path, int flags, mode_t mode);
int	sb_openat_in_root(int dirfd, const char *path, int flags, mode_t mode);

/* Writes `len` bytes to `path` atomically (temp file + rename), mode 0600. */
int	sb_write_file(const char *path, const void *buf, size_t len,
	    struct ir_err *err);

/* Images (image.c, layer.c). */
enum img_kind { IMG_HOST, IMG_DIR, IMG_NAMED };

struct img_ref {
	enum img_kind	 ir_kind;
	char		*ir_rootfs;	/* DIR, NAMED: the lower directory */
	char		**ir_env;	/* NAMED: the config's Env, or NULL */
	char		*ir_workdir;	/* NAMED: WorkingDir, or NULL */
};
int	img_resolve(const struct sb_paths *p, const char *spec,
	    struct img_ref *out, struct ir_err *err);
void	img_ref_free(struct img_ref *r);

/*
 * Normalises an archive entry name into `out`: "./" prefixes, "." and empty
 * components and a trailing '/' go; "" is the root. Rejects absolute names
 * and ".." components: returns -1 with *why set.
 */
int	img_path_norm(const char *in, char *out, size_t len, const char **why);

struct img_manifest {
	char		*im_config;	/* path inside the archive */
	char		**im_layers;	/* paths, NULL-terminated */
	size_t		 im_nlayers;
};
void	img_manifest_free(struct img_manifest *m);

/* docker-archive manifest.json: the first image's Config and Layers. */
int	img_parse_docker_manifest(const char *buf, size_t len,
	    struct img_manifest *m, struct ir_err *err);

/*
 * OCI index.json (or a nested index blob): the blob path of the manifest
 * for `arch` ("amd64", ...; "linux" only), or of the only one. *nested is
 * set when that entry is itself an index.
 */
int	img_parse_oci_index(const char *buf, size_t len, const char *arch,
	    char *path, size_t pathlen, int *nested, struct ir_err *err);

/* OCI image manifest: config and layer blob paths. */
int	img_parse_oci_manifest(const char *buf, size_t len,
	    struct img_manifest *m, struct ir_err *err);

/* Image config: config.Env and config.WorkingDir (either may be absent). */
int	img_parse_config(const char *buf, size_t len, char ***env,
	    char **workdir, struct ir_err *err);

/* "sha256:<64 hex>" to "blobs/sha256/<hex>". */
int	img_digest_path(const char *digest, char *out, size_t len);

/*
 * Applies the tar archive open on `fd` (any compression libarchive knows)
 * to the directory `rootfd`, confined beneath it. With `layer`, whiteouts
 * (.wh.NAME, .wh..wh..opq) remove what earlier layers put there; without,
 * they are ordinary names. `what` names the archive in messages. Adds the
 * bytes of regular files to *size.
 */
int	layer_apply(int rootfd, int fd, int layer, const char *what,
	    uint64_t *size, struct ir_err *err);

/*
 * Launch (launch.c): builds the root in a private mount namespace and
 * starts bwrap with the init. In: everything above `out`. On success the
 * init is ready; on failure nothing runs any more.
 */
struct launch {
	const struct sb_paths	*la_paths;
	const char	*la_id;
	const char	*la_dir;	/* <run>/sandboxes/<id> */
	const char	*la_hostname;
	const char	*la_hostname_line;	/* for /etc/hostname */
	const struct img_ref *la_img;
	int		 la_netns_fd;	/* -1: bwrap --unshare-net */
	int		 la_listen_fd;
	int		 la_log_fd;
	const char	*la_resolv;
	const char	*la_hosts;
	const struct sandbox_file *la_files;
	size_t		 la_nfiles;
	unsigned	 la_write_mb;
	uid_t		 la_uid_base;	/* host uid of the guest's 0 */
	const char	*la_uid_map;	/* "0 <base> <count>\n" */
	bool		 la_lifeline;
	const int	*la_cgroup_fds;	/* cgroup.procs to join */
	size_t		 la_ncgroup_fds;
	/* out */
	pid_t		 la_bwrap_pid;
	pid_t		 la_init_pid;
	uint64_t	 la_pidns;
	int		 la_lifeline_fd;	/* write end, or -1 */
};
int	sb_launch(struct launch *l, struct ir_err *err);

/*
 * Cgroups (cgroup.c). sb_cgroup_open() makes the sandbox's leaves
 * <hierarchy>/isorun/<leaf>: the cpu weight every sandbox gets, and
 * `lim`'s pids and memory limits (0: none), and opens each leaf's
 * cgroup.procs for writing: fds[0..*nfds) and *path (the leaves, ':'
 * between them, malloc'd) for the caller. A controller that cannot be
 * used is warned about once on stderr and left out (*nfds may be 0, *path
 * NULL); -1 with `err` on a failure, nothing left. sb_cgroup_remove()
 * removes the leaves of such a path once their processes are gone (NULL:
 * nothing): 0 or -1 (errno of the first failure).
 */
#define SB_CG_MAX	3
int	sb_cgroup_open(const char *leaf, const struct sandbox_limits *lim,
	    int fds[SB_CG_MAX], size_t *nfds, char **path, struct ir_err *err);
int	sb_cgroup_remove(const char *path);

/* Seccomp (seccomp.c): a sealed memfd holding the compiled BPF program. */
int	sb_seccomp_fd(struct ir_err *err);

#endif
