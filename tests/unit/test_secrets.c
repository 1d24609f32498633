/*
 * test_secrets.c - src/secrets: the directory's checks, names, values,
 * atomic replacement (a write that fails leaves the old value and no
 * temporary file), delete and list, and values kept out of every message.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets/secrets.h"
#include "t.h"

static char	 base[64];

static void
path_of(char *buf, size_t len, const char *sub)
{
	snprintf(buf, len, "%s/%s", base, sub);
}

static int
nfiles(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_open(void)
{
	char		 dir[128], link[128];
	struct secrets	*s;
	struct ir_err	 err = { 0 };
	struct stat	 sb;

	path_of(dir, sizeof(dir), "a");
	s = secrets_open(dir, &err);
	T_CHECK(s != NULL, "created: %s", err.msg);
	T_CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0700 &&
	    sb.st_uid == geteuid(), "mode %o", (unsigned)sb.st_mode);
	secrets_close(s);
	s = secrets_open(dir, &err);
	T_CHECK(s != NULL, "reopened: %s", err.msg);
	secrets_close(s);

	chmod(dir, 0750);
	s = secrets_open(dir, &err);
	T_CHECK(s == NULL && err.code == EPERM && strstr(err.msg, dir) &&
	    strstr(err.msg, "0750"), "group-accessible: %s", err.msg);
	secrets_close(s);
	chmod(dir, 0701);
	s = secrets_open(dir, &err);
	T_CHECK(s == NULL && strstr(err.msg, "0701"), "world-x: %s", err.msg);
	secrets_close(s);
	chmod(dir, 0700);

	if (geteuid() == 0) {
		T_CHECK(chown(dir, 1, 1) == 0, "chown");
		s = secrets_open(dir, &err);
		T_CHECK(s == NULL && err.code == EPERM &&
		    strstr(err.msg, "owned by uid 1"), "not ours: %s", err.msg);
		secrets_close(s);
		T_CHECK(chown(dir, 0, 0) == 0, "chown back");
	}

	path_of(link, sizeof(link), "link");
	T_CHECK(symlink(dir, link) == 0, "symlink");
	s = secrets_open(link, &err);
	T_CHECK(s == NULL && strstr(err.msg, link) &&
	    strstr(err.msg, "symlink"), "symlink refused: %s", err.msg);
	secrets_close(s);

	path_of(link, sizeof(link), "file");
	close(open(link, O_CREAT | O_WRONLY, 0600));
	s = secrets_open(link, &err);
	T_CHECK(s == NULL && err.code == ENOTDIR && strstr(err.msg, link) &&
	    strstr(err.msg, "not a directory"), "a file: %s", err.msg);
	secrets_close(s);

	path_of(dir, sizeof(dir), "none/deeper");
	s = secrets_open(dir, &err);
	T_CHECK(s == NULL && err.code == ENOENT && strstr(err.msg, dir),
	    "missing parent: %s", err.msg);
	secrets_close(s);
}

static void
test_names(void)
{
	static const char *good[] = { "openai", "a", "A_b.c-9", "_x", "0",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	static const struct {
		const char	*name, *want;
	} bad[] = {
		{ "", "empty" },
		{ ".", "must start" },
		{ "..", "must start" },
		{ ".tmp.x", "must start" },
		{ "-rf", "must start" },
		{ "a/b", "only letters" },
		{ "a b", "only letters" },
		{ "caf\xc3\xa9", "only letters" },
		{ "a\nb", "'a\\x0ab'" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "longer than 64" },
	};
	struct ir_err	 err;
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		T_CHECK(secrets_name_check(good[i], &err) == 0, "%s: %s",
		    good[i], err.msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		T_CHECK(secrets_name_check(bad[i].name, &err) == -1 &&
		    err.code == EINVAL && strstr(err.msg, bad[i].want),
		    "bad %zu: %s", i, err.msg);
	}
	T_CHECK(secrets_name_check(NULL, &err) == -1, "NULL");
}

static void
test_set_get(void)
{
	char		 dir[128], file[192], *v, *names_big;
	struct secrets	*s;
	struct ir_err	 err = { 0 };
	struct stat	 sb;
	size_t		 len, i;
	char		**names;
	size_t		 n;

	path_of(dir, sizeof(dir), "b");
	if ((s = secrets_open(dir, &err)) == NULL) {
		T_CHECK(0, "open: %s", err.msg);
		return;
	}
	T_CHECK(secrets_set(s, "openai", "sk-123", 6, &err) == 0, "set: %s",
	    err.msg);
	snprintf(file, sizeof(file), "%s/openai", dir);
	T_CHECK(stat(file, &sb) == 0 && (sb.st_mode & 07777) == 0600 &&
	    sb.st_size == 6, "file mode %o size %lld", (unsigned)sb.st_mode,
	    (long long)sb.st_size);
	T_CHECK(secrets_get(s, "openai", &v, &len, &err) == 0 && len == 6 &&
	    strcmp(v, "sk-123") == 0, "get: %s", err.msg);
	secrets_wipe(v, len);
	T_CHECK(secrets_set(s, "openai", "sk-456789", 9, &err) == 0,
	    "replace: %s", err.msg);
	T_CHECK(secrets_get(s, "openai", &v, &len, &err) == 0 && len == 9 &&
	    memcmp(v, "sk-456789", 9) == 0, "replaced value");
	secrets_wipe(v, len);
	T_CHECK(nfiles(dir) == 1, "one file, no temporary: %d", nfiles(dir));

	/* The largest value, and one byte more. */
	if ((names_big = malloc(SECRET_VALUE_MAX + 1)) != NULL) {
		memset(names_big, 'k', SECRET_VALUE_MAX + 1);
		T_CHECK(secrets_set(s, "big", names_big, SECRET_VALUE_MAX,
		    &err) == 0, "64 KiB: %s", err.msg);
		T_CHECK(secrets_get(s, "big", &v, &len, &err) == 0 &&
		    len == SECRET_VALUE_MAX && v[len] == '\0', "64 KiB back");
		secrets_wipe(v, len);
		T_CHECK(secrets_set(s, "big", names_big, SECRET_VALUE_MAX + 1,
		    &err) == -1 && err.code == EFBIG &&
		    strstr(err.msg, "'big'") && !strstr(err.msg, "kkkk"),
		    "too long: %s", err.msg);
		free(names_big);
	}
	T_CHECK(secrets_set(s, "e", "", 0, &err) == -1 &&
	    strstr(err.msg, "empty"), "empty value: %s", err.msg);
	T_CHECK(secrets_set(s, "nul", "ab\0cd", 5, &err) == -1 &&
	    strstr(err.msg, "NUL") && strstr(err.msg, "'nul'") &&
	    !strstr(err.msg, "ab"), "NUL: %s", err.msg);
	T_CHECK(secrets_set(s, "../x", "v", 1, &err) == -1 &&
	    strstr(err.msg, "'../x'"), "bad name: %s", err.msg);
	T_CHECK(secrets_get(s, "missing", &v, &len, &err) == -1 &&
	    err.code == ENOENT && v == NULL &&
	    strcmp(err.msg, "secret 'missing' is not set") == 0, "missing: %s",
	    err.msg);
	T_CHECK(secrets_get(s, "..", &v, &len, &err) == -1 &&
	    err.code == EINVAL, "get '..'");

	/* A value with line breaks is stored as given: only NUL is refused. */
	T_CHECK(secrets_set(s, "ml", "a\r\nb", 4, &err) == 0, "CRLF stored");

	/* Something not a regular file under a secret's name. */
	snprintf(file, sizeof(file), "%s/adir", dir);
	mkdir(file, 0700);
	T_CHECK(secrets_get(s, "adir", &v, &len, &err) == -1 &&
	    strstr(err.msg, "not a regular file"), "dir: %s", err.msg);
	rmdir(file);
	snprintf(file, sizeof(file), "%s/lnk", dir);
	T_CHECK(symlink("/etc/passwd", file) == 0, "symlink");
	T_CHECK(secrets_get(s, "lnk", &v, &len, &err) == -1 &&
	    strstr(err.msg, "symlink"), "symlink: %s", err.msg);
	unlink(file);

	T_CHECK(secrets_list(s, &names, &n, &err) == 0 && n == 3 &&
	    strcmp(names[0], "big") == 0 && strcmp(names[1], "ml") == 0 &&
	    strcmp(names[2], "openai") == 0, "list: %zu", n);
	secrets_names_free(names, n);

	T_CHECK(secrets_delete(s, "big", &err) == 0, "delete: %s", err.msg);
	T_CHECK(secrets_delete(s, "big", &err) == -1 && err.code == ENOENT &&
	    strstr(err.msg, "'big' is not set"), "delete twice: %s", err.msg);
	T_CHECK(secrets_delete(s, "a/b", &err) == -1 && err.code == EINVAL,
	    "delete bad name");
	T_CHECK(secrets_get(s, "big", &v, &len, &err) == -1 &&
	    err.code == ENOENT, "gone");
	secrets_delete(s, "ml", NULL);
	secrets_delete(s, "openai", NULL);
	T_CHECK(secrets_list(s, &names, &n, &err) == 0 && n == 0 &&
	    names == NULL, "empty list");
	for (i = 0; i < n; i++)
		free(names[i]);
	secrets_close(s);
}

/*
 * RLIMIT_FSIZE plays the full disk: the write of the new value fails, the
 * old value stays whole and the temporary file is gone. A temporary file
 * left by a crash is removed at the next open.
 */
static void
test_atomic(void)
{
	char		 dir[128], tmp[192], val[4096], *v;
	struct secrets	*s;
	struct ir_err	 err = { 0 };
	struct rlimit	 old, lim;
	size_t		 len;
	int		 rc, fd;

	path_of(dir, sizeof(dir), "c");
	if ((s = secrets_open(dir, &err)) == NULL) {
		T_CHECK(0, "open: %s", err.msg);
		return;
	}
	T_CHECK(secrets_set(s, "k", "old-value", 9, &err) == 0, "set");
	memset(val, 'n', sizeof(val));
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 1024;
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = secrets_set(s, "k", val, sizeof(val), &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	T_CHECK(rc == -1 && err.code == EFBIG && strstr(err.msg, "'k'") &&
	    !strstr(err.msg, "nnnn"), "write fails: %s", err.msg);
	T_CHECK(secrets_get(s, "k", &v, &len, &err) == 0 && len == 9 &&
	    memcmp(v, "old-value", 9) == 0, "old value intact");
	secrets_wipe(v, len);
	T_CHECK(nfiles(dir) == 1, "no temporary left: %d", nfiles(dir));
	secrets_close(s);

	snprintf(tmp, sizeof(tmp), "%s/.tmp.k.1.1", dir);
	fd = open(tmp, O_CREAT | O_WRONLY, 0600);
	close(fd);
	T_CHECK(nfiles(dir) == 2, "crash left a temporary");
	s = secrets_open(dir, &err);
	T_CHECK(s != NULL && nfiles(dir) == 1, "swept at open");
	T_CHECK(secrets_get(s, "k", &v, &len, &err) == 0, "value still there");
	secrets_wipe(v, len);
	secrets_close(s);
}

static void
test_exists(void)
{
	char		 dir[128], path[192];
	struct secrets	*s;
	struct ir_err	 err = { 0 };

	path_of(dir, sizeof(dir), "ex");
	s = secrets_open(dir, &err);
	T_CHECK(s != NULL, "open: %s", err.msg);
	if (s == NULL)
		return;
	T_CHECK(secrets_exists(s, "k", &err) == 0, "not set yet");
	T_CHECK(secrets_set(s, "k", "v", 1, &err) == 0, "set: %s", err.msg);
	T_CHECK(secrets_exists(s, "k", &err) == 1, "set: %s", err.msg);
	T_CHECK(secrets_exists(s, "../k", &err) == -1 &&
	    strstr(err.msg, "'../k'") != NULL, "bad name: %s", err.msg);
	snprintf(path, sizeof(path), "%s/d", dir);
	T_CHECK(mkdir(path, 0700) == 0, "mkdir");
	T_CHECK(secrets_exists(s, "d", &err) == -1 &&
	    strstr(err.msg, "not a regular file") != NULL, "a directory: %s",
	    err.msg);
	snprintf(path, sizeof(path), "%s/l", dir);
	T_CHECK(symlink("k", path) == 0, "symlink");
	T_CHECK(secrets_exists(s, "l", &err) == -1, "a symlink is not one");
	T_CHECK(secrets_delete(s, "k", &err) == 0, "delete: %s", err.msg);
	T_CHECK(secrets_exists(s, "k", &err) == 0, "deleted");
	secrets_close(s);
}

int
main(void)
{
	char	 cmd[128];

	snprintf(base, sizeof(base), "/tmp/isorun-test-secrets.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_open(), "secrets: the directory is created 0700 and "
	    "checked");
	T_RUN(test_names(), "secrets: names");
	T_RUN(test_set_get(), "secrets: set, get, delete, list, bad input");
	T_RUN(test_atomic(), "secrets: a failed write keeps the old value");
	T_RUN(test_exists(), "secrets: exists without reading the value");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return t_done();
}
