/*
 * image.c - images: resolving the name a sandbox asks for, importing
 * docker-archive and OCI-layout tarballs, listing and removing them.
 *
 * An imported image is stored flattened, ready to be an overlay's lower
 * layer:
 *
 *   <state>/images/NAME/rootfs/     the layers applied in order
 *   <state>/images/NAME/image.json  name, format, source, layers, size,
 *                                   imported, env, workdir
 *
 * An import is built in <state>/images/.import-NAME.<pid>.<n>/ and renamed
 * into place, so a name is either absent or complete; a failed import
 * leaves nothing. The parsers of the manifests are pure (bytes in, values
 * out) and unit-tested.
 */
#include "sb_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define JSON_MAX	(16u << 20)
#define INDEX_DEPTH	4

#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"

int
image_name_check(const char *name, struct ir_err *err)
{
	char	 q[300];
	size_t	 i, n = strlen(name);

	for (i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'))
			continue;
		break;
	}
	str_quote(name, n, 200, q, sizeof(q));
	if (n == 0 || n > SB_IMAGE_NAME_MAX || i != n)
		return err_set(err, 0, "bad image name %s: want 1 to %d of "
		    "[A-Za-z0-9._:-], starting with a letter or digit", q,
		    SB_IMAGE_NAME_MAX);
	if (strcmp(name, "host") == 0)
		return err_set(err, 0, "image name 'host' is reserved for "
		    "the host's own system");
	return 0;
}

int
img_path_norm(const char *in, char *out, size_t len, const char **why)
{
	const char	*p = in, *s;
	size_t		 o = 0, n;

	if (in[0] == '/') {
		*why = "absolute path";
		return -1;
	}
	while (*p != '\0') {
		s = strchrnul(p, '/');
		n = (size_t)(s - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "path leaves the root ('..')";
			return -1;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + (o > 0) + n + 1 > len) {
				*why = "path too long";
				return -1;
			}
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *s ? s + 1 : s;
	}
	if (len == 0) {
		*why = "path too long";
		return -1;
	}
	out[o] = '\0';
	return 0;
}

int
img_digest_path(const char *digest, char *out, size_t len)
{
	const char	*h;
	size_t		 n, want, i;

	if (strncmp(digest, "sha256:", 7) == 0)
		want = 64;
	else if (strncmp(digest, "sha512:", 7) == 0)
		want = 128;
	else
		return -1;
	h = digest + 7;
	n = strlen(h);
	if (n != want)
		return -1;
	for (i = 0; i < n; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		    (h[i] >= 'a' && h[i] <= 'f')))
			return -1;
	if (snprintf(out, len, "blobs/%.6s/%s", digest, h) >= (int)len)
		return -1;
	return 0;
}

void
img_manifest_free(struct img_manifest *m)
{
	free(m->im_config);
	sb_strv_free(m->im_layers);
	memset(m, 0, sizeof(*m));
}

static json_t *
load(const char *buf, size_t len, const char *what, struct ir_err *err)
{
	json_error_t	 je;
	json_t		*j;

	if ((j = json_loadb(buf, len, 0, &je)) == NULL)
		err_set(err, 0, "%s: bad JSON at line %d: %s", what, je.line,
		    je.text);
	return j;
}

static int
add_layer(struct img_manifest *m, const char *path, struct ir_err *err)
{
	char	**v;

	if ((v = reallocarray(m->im_layers, m->im_nlayers + 2,
	    sizeof(*v))) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	m->im_layers = v;
	if ((v[m->im_nlayers] = strdup(path)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	v[++m->im_nlayers] = NULL;
	return 0;
}

int
img_parse_docker_manifest(const char *buf, size_t len,
    struct img_manifest *m, struct ir_err *err)
{
	json_t		*j, *img, *layers, *v;
	const char	*why;
	char		 norm[PATH_MAX];
	size_t		 i;

	memset(m, 0, sizeof(*m));
	if ((j = load(buf, len, "manifest.json", err)) == NULL)
		return -1;
	if (!json_is_array(j) || json_array_size(j) == 0 ||
	    !json_is_object(img = json_array_get(j, 0))) {
		err_set(err, 0, "manifest.json: want an array of images");
		goto fail;
	}
	v = json_object_get(img, "Config");
	layers = json_object_get(img, "Layers");
	if (!json_is_string(v) || !json_is_array(layers)) {
		err_set(err, 0, "manifest.json: the image has no Config or "
		    "Layers");
		goto fail;
	}
	if (img_path_norm(json_string_value(v), norm, sizeof(norm), &why) ==
	    -1) {
		err_set(err, 0, "manifest.json: Config: %s", why);
		goto fail;
	}
	if ((m->im_config = strdup(norm)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < json_array_size(layers); i++) {
		v = json_array_get(layers, i);
		if (!json_is_string(v)) {
			err_set(err, 0, "manifest.json: Layers[%zu] is not a "
			    "string", i);
			goto fail;
		}
		if (img_path_norm(json_string_value(v), norm, sizeof(norm),
		    &why) == -1) {
			err_set(err, 0, "manifest.json: Layers[%zu]: %s", i,
			    why);
			goto fail;
		}
		if (add_layer(m, norm, err) == -1)
			goto fail;
	}
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	img_manifest_free(m);
	return -1;
}

static int
mt_is_index(const char *mt)
{
	return mt != NULL && (strcmp(mt, MT_OCI_INDEX) == 0 ||
	    strcmp(mt, MT_DOCKER_LIST) == 0);
}

static int
mt_is_manifest(const char *mt)
{
	return mt == NULL || strcmp(mt, MT_OCI_MANIFEST) == 0 ||
	    strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

int
img_parse_oci_index(const char *buf, size_t len, const char *arch,
    char *path, size_t pathlen, int *nested, struct ir_err *err)
{
	json_t		*j, *ms, *e, *pl, *pick = NULL;
	const char	*mt, *os, *ar, *dg;
	size_t		 i, ncand = 0;

	if ((j = load(buf, len, "index.json", err)) == NULL)
		return -1;
	ms = json_object_get(j, "manifests");
	if (!json_is_array(ms)) {
		json_decref(j);
		return err_set(err, 0, "index.json: no manifests array");
	}
	for (i = 0; i < json_array_size(ms); i++) {
		e = json_array_get(ms, i);
		mt = json_string_value(json_object_get(e, "mediaType"));
		if (!json_is_object(e) || !(mt_is_manifest(mt) ||
		    mt_is_index(mt)))
			continue;
		ncand++;
		pl = json_object_get(e, "platform");
		os = json_string_value(json_object_get(pl, "os"));
		ar = json_string_value(json_object_get(pl, "architecture"));
		if (pl == NULL && pick == NULL)
			pick = e;
		else if (os != NULL && ar != NULL &&
		    strcmp(os, "linux") == 0 && strcmp(ar, arch) == 0)
			pick = e;
	}
	if (pick == NULL && ncand == 1)
		for (i = 0; i < json_array_size(ms); i++) {
			e = json_array_get(ms, i);
			mt = json_string_value(json_object_get(e, "mediaType"));
			if (json_is_object(e) && (mt_is_manifest(mt) ||
			    mt_is_index(mt)))
				pick = e;
		}
	if (pick == NULL) {
		json_decref(j);
		return err_set(err, 0, "index.json: no image for linux/%s "
		    "among %zu manifests", arch, ncand);
	}
	dg = json_string_value(json_object_get(pick, "digest"));
	if (dg == NULL || img_digest_path(dg, path, pathlen) == -1) {
		json_decref(j);
		return err_set(err, 0, "index.json: bad digest");
	}
	*nested = mt_is_index(json_string_value(json_object_get(pick,
	    "mediaType")));
	json_decref(j);
	return 0;
}

int
img_parse_oci_manifest(const char *buf, size_t len, struct img_manifest *m,
    struct ir_err *err)
{
	json_t		*j, *layers;
	const char	*dg;
	char		 path[PATH_MAX];
	size_t		 i;

	memset(m, 0, sizeof(*m));
	if ((j = load(buf, len, "image manifest", err)) == NULL)
		return -1;
	dg = json_string_value(json_object_get(json_object_get(j, "config"),
	    "digest"));
	layers = json_object_get(j, "layers");
	if (dg == NULL || !json_is_array(layers)) {
		err_set(err, 0, "image manifest: no config or layers");
		goto fail;
	}
	if (img_digest_path(dg, path, sizeof(path)) == -1) {
		err_set(err, 0, "image manifest: bad config digest");
		goto fail;
	}
	if ((m->im_config = strdup(path)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < json_array_size(layers); i++) {
		dg = json_string_value(json_object_get(json_array_get(layers,
		    i), "digest"));
		if (dg == NULL || img_digest_path(dg, path, sizeof(path)) ==
		    -1) {
			err_set(err, 0, "image manifest: layers[%zu]: bad "
			    "digest", i);
			goto fail;
		}
		if (add_layer(m, path, err) == -1)
			goto fail;
	}
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	img_manifest_free(m);
	return -1;
}

int
img_parse_config(const char *buf, size_t len, char ***env, char **workdir,
    struct ir_err *err)
{
	json_t		*j, *cfg, *e, *v;
	const char	*s;
	size_t		 i, n;

	*env = NULL;
	*workdir = NULL;
	if ((j = load(buf, len, "image config", err)) == NULL)
		return -1;
	cfg = json_object_get(j, "config");
	e = json_object_get(cfg, "Env");
	n = json_array_size(e);
	if ((*env = calloc(n + 1, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		v = json_array_get(e, i);
		if (!json_is_string(v) || strchr(json_string_value(v), '=') ==
		    NULL || json_string_value(v)[0] == '=') {
			json_decref(j);
			sb_strv_free(*env);
			*env = NULL;
			return err_set(err, 0, "image config: Env[%zu] is not "
			    "NAME=VALUE", i);
		}
		if (((*env)[i] = strdup(json_string_value(v))) == NULL)
			goto nomem;
	}
	s = json_string_value(json_object_get(cfg, "WorkingDir"));
	if (s != NULL && s[0] != '\0' && (*workdir = strdup(s)) == NULL)
		goto nomem;
	json_decref(j);
	return 0;
nomem:
	json_decref(j);
	sb_strv_free(*env);
	*env = NULL;
	return err_set(err, ENOMEM, "out of memory");
}

static const char *
host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#else
	static __thread struct utsname u;

	return uname(&u) == 0 ? u.machine : "unknown";
#endif
}

static char *
images_dir(const struct sb_paths *p)
{
	char	*s;

	if (asprintf(&s, "%s/images", p->state_dir) == -1)
		return NULL;
	return s;
}

static json_t *
info_load(const char *dir, const char *name, struct ir_err *err)
{
	json_error_t	 je;
	json_t		*j;
	char		*path, *buf;
	size_t		 len;

	if (asprintf(&path, "%s/%s/image.json", dir, name) == -1) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if ((buf = ir_read_file(path, JSON_MAX, &len, err)) == NULL) {
		free(path);
		return NULL;
	}
	if ((j = json_loadb(buf, len, 0, &je)) == NULL || !json_is_object(j))
		err_set(err, EINVAL, "%s: %s", path, j ? "not an object" :
		    je.text);
	free(buf);
	free(path);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static char **
json_strv(json_t *a)
{
	char	**v;
	size_t	 i, n = json_array_size(a), k = 0;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_is_string(json_array_get(a, i)) && (v[k++] =
		    strdup(json_string_value(json_array_get(a, i)))) == NULL) {
			sb_strv_free(v);
			return NULL;
		}
	return v;
}

int
img_resolve(const struct sb_paths *p, const char *spec, struct img_ref *out,
    struct ir_err *err)
{
	struct stat	 st;
	char		*dir = NULL, *root = NULL, q[300], rp[PATH_MAX];
	json_t		*j = NULL;
	const char	*wd;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || strcmp(spec, "host") == 0) {
		out->ir_kind = IMG_HOST;
		return 0;
	}
	str_quote(spec, strlen(spec), 200, q, sizeof(q));
	if (spec[0] == '/') {
		if (realpath(spec, rp) == NULL || stat(rp, &st) == -1)
			return err_set(err, 0, "image %s: %s", q,
			    strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_set(err, 0, "image %s: not a directory (a "
			    "rootfs directory or an imported image's name)", q);
		out->ir_kind = IMG_DIR;
		if ((out->ir_rootfs = strdup(rp)) == NULL)
			return err_set(err, ENOMEM, "out of memory");
		return 0;
	}
	if (image_name_check(spec, NULL) == -1)
		return err_set(err, 0, "unknown image %s: not 'host', an "
		    "absolute rootfs path, or an image name", q);
	if ((dir = images_dir(p)) == NULL ||
	    asprintf(&root, "%s/%s/rootfs", dir, spec) == -1) {
		free(dir);
		return err_set(err, ENOMEM, "out of memory");
	}
	if (stat(root, &st) == -1 || !S_ISDIR(st.st_mode)) {
		err_set(err, 0, "unknown image %s: import it with 'isorun "
		    "image import %s FILE' (a docker save or OCI image layout "
		    "tarball), or use 'host' or a rootfs directory's absolute "
		    "path", q, spec);
		goto fail;
	}
	if ((j = info_load(dir, spec, err)) == NULL)
		goto fail;
	out->ir_kind = IMG_NAMED;
	out->ir_rootfs = root;
	root = NULL;
	if ((out->ir_env = json_strv(json_object_get(j, "env"))) == NULL ||
	    ((wd = json_string_value(json_object_get(j, "workdir"))) != NULL &&
	    (out->ir_workdir = strdup(wd)) == NULL)) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	json_decref(j);
	free(dir);
	return 0;
fail:
	json_decref(j);
	free(dir);
	free(root);
	img_ref_free(out);
	return -1;
}

void
img_ref_free(struct img_ref *r)
{
	free(r->ir_rootfs);
	sb_strv_free(r->ir_env);
	free(r->ir_workdir);
	memset(r, 0, sizeof(*r));
}

/* A file of the unpacked outer archive, never outside it. */
static char *
read_beneath(int dirfd, const char *path, const char *file, size_t *len,
    struct ir_err *err)
{
	char	*buf = NULL, *nb, q[300];
	size_t	 cap = 0, n = 0;
	ssize_t	 r;
	int	 fd;

	str_quote(path, strlen(path), 200, q, sizeof(q));
	if ((fd = sb_openat_beneath(dirfd, path, O_RDONLY, 0)) == -1) {
		err_set(err, 0, "%s: %s: %s", file, q, errno == ENOENT ?
		    "not in the archive" : strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > JSON_MAX + 1 ||
			    (nb = realloc(buf, cap)) == NULL) {
				err_set(err, 0, "%s: %s: too large", file, q);
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(err, errno, "%s: %s: %s", file, q,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

struct import {
	const char		*im_file;
	int			 im_blobs;	/* the unpacked tarball */
	int			 im_root;	/* the rootfs being built */
	const char		*im_format;
	struct img_manifest	 im_m;
	char			**im_env;
	char			*im_workdir;
	uint64_t		 im_size;
};

static int
has(int dirfd, const char *name)
{
	int	 fd;

	if ((fd = sb_openat_beneath(dirfd, name, O_PATH, 0)) == -1)
		return 0;
	close(fd);
	return 1;
}

static int
find_manifest(struct import *im, struct ir_err *err)
{
	char	*buf, path[PATH_MAX] = "index.json";
	size_t	 len;
	int	 nested = 1, depth, rc;

	if (has(im->im_blobs, "manifest.json")) {
		im->im_format = "docker-archive";
		if ((buf = read_beneath(im->im_blobs, "manifest.json",
		    im->im_file, &len, err)) == NULL)
			return -1;
		rc = img_parse_docker_manifest(buf, len, &im->im_m, err);
		free(buf);
		goto out;
	}
	if (!has(im->im_blobs, "index.json"))
		return err_set(err, 0, "%s: neither a docker-archive (no "
		    "manifest.json) nor an OCI image layout (no index.json)",
		    im->im_file);
	im->im_format = "oci";
	for (depth = 0; nested; depth++) {
		if (depth == INDEX_DEPTH)
			return err_set(err, 0, "%s: image indexes nested too "
			    "deep", im->im_file);
		if ((buf = read_beneath(im->im_blobs, path, im->im_file, &len,
		    err)) == NULL)
			return -1;
		rc = img_parse_oci_index(buf, len, host_arch(), path,
		    sizeof(path), &nested, err);
		free(buf);
		if (rc == -1)
			goto out;
	}
	if ((buf = read_beneath(im->im_blobs, path, im->im_file, &len,
	    err)) == NULL)
		return -1;
	rc = img_parse_oci_manifest(buf, len, &im->im_m, err);
	free(buf);
out:
	if (rc == -1)
		err_prefix(err, "%s", im->im_file);
	return rc;
}

static int
apply_layers(struct import *im, struct ir_err *err)
{
	struct stat	 st;
	char		*buf, what[PATH_MAX + 64], q[300];
	size_t		 len, i;
	int		 fd, rc;

	if ((buf = read_beneath(im->im_blobs, im->im_m.im_config, im->im_file,
	    &len, err)) == NULL)
		return -1;
	rc = img_parse_config(buf, len, &im->im_env, &im->im_workdir, err);
	free(buf);
	if (rc == -1) {
		err_prefix(err, "%s", im->im_file);
		return -1;
	}
	for (i = 0; i < im->im_m.im_nlayers; i++) {
		str_quote(im->im_m.im_layers[i], strlen(im->im_m.im_layers[i]),
		    200, q, sizeof(q));
		snprintf(what, sizeof(what), "%s: layer %zu (%s)", im->im_file,
		    i + 1, q);
		fd = sb_openat_beneath(im->im_blobs, im->im_m.im_layers[i],
		    O_RDONLY, 0);
		if (fd == -1)
			return err_set(err, 0, "%s: %s", what, errno ==
			    ENOENT ? "not in the archive" : strerror(errno));
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			close(fd);
			return err_set(err, 0, "%s: not a file", what);
		}
		rc = layer_apply(im->im_root, fd, 1, what, &im->im_size, err);
		close(fd);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
info_write(const char *dir, const char *name, const char *file,
    const struct import *im, struct ir_err *err)
{
	json_t	*j, *env;
	char	*s, *path;
	size_t	 i;
	int	 rc;

	env = json_array();
	for (i = 0; env != NULL && im->im_env && im->im_env[i]; i++)
		json_array_append_new(env, json_string(im->im_env[i]));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}",
	    "name", name, "format", im->im_format, "source", file,
	    "layers", (json_int_t)im->im_m.im_nlayers,
	    "size", (json_int_t)im->im_size,
	    "imported", (json_int_t)time(NULL), "env", env,
	    "workdir", im->im_workdir ? json_string(im->im_workdir) :
	    json_null());
	if (j == NULL || (s = json_dumps(j, JSON_INDENT(1))) == NULL) {
		json_decref(j);
		return err_set(err, ENOMEM, "out of memory");
	}
	json_decref(j);
	if ((path = sb_join(dir, "image.json")) == NULL) {
		free(s);
		return err_set(err, ENOMEM, "out of memory");
	}
	rc = sb_write_file(path, s, strlen(s), err);
	free(path);
	free(s);
	return rc;
}

int
image_import(const struct sandbox_paths *sp, const char *name,
    const char *file, struct ir_err *err)
{
	struct sb_paths	 p;
	struct import	 im;
	struct stat	 st;
	char		*dir = NULL, *final = NULL, *tmp = NULL;
	unsigned	 r;
	int		 fd = -1, tfd = -1, rc = -1;

	memset(&im, 0, sizeof(im));
	im.im_blobs = im.im_root = -1;
	im.im_file = file;
	if (sb_paths_get(sp, &p, err) == -1 ||
	    image_name_check(name, err) == -1)
		return -1;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errno == ENOENT ? 0 : errno, "%s: %s",
		    file, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, 0, "%s: not a regular file", file);
	}
	if ((dir = images_dir(&p)) == NULL ||
	    asprintf(&final, "%s/%s", dir, name) == -1) {
		final = NULL;
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (sb_mkdirs(dir, 0700, err) == -1)
		goto out;
	if (lstat(final, &st) == 0) {
		err_set(err, EEXIST, "image '%s' already exists (%s): remove "
		    "it first with 'isorun image rm %s'", name, final, name);
		goto out;
	}
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)time(NULL);
	if (asprintf(&tmp, "%s/.import-%s.%d.%08x", dir, name, (int)getpid(),
	    r) == -1) {
		tmp = NULL;
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(tmp, 0700) == -1) {
		err_set(err, errno, "mkdir %s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    mkdirat(tfd, "blobs", 0700) == -1 ||
	    mkdirat(tfd, "rootfs", 0755) == -1 ||
	    (im.im_blobs = openat(tfd, "blobs", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 ||
	    (im.im_root = openat(tfd, "rootfs", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		err_set(err, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (layer_apply(im.im_blobs, fd, 0, file, NULL, err) == -1 ||
	    find_manifest(&im, err) == -1 || apply_layers(&im, err) == -1)
		goto out;
	close(im.im_blobs);
	im.im_blobs = -1;
	if (sb_rm_rf_at(tfd, "blobs") == -1) {
		err_set(err, errno, "%s/blobs: %s", tmp, strerror(errno));
		goto out;
	}
	if (info_write(tmp, name, file, &im, err) == -1)
		goto out;
	if (rename(tmp, final) == -1) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			err_set(err, EEXIST, "image '%s' already exists (%s)",
			    name, final);
		else
			err_set(err, errno, "rename %s: %s", tmp,
			    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (im.im_blobs != -1)
		close(im.im_blobs);
	if (im.im_root != -1)
		close(im.im_root);
	if (tfd != -1)
		close(tfd);
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		sb_rm_rf(tmp, NULL);
	img_manifest_free(&im.im_m);
	sb_strv_free(im.im_env);
	free(im.im_workdir);
	free(tmp);
	free(final);
	free(dir);
	return rc;
}

/* The first sandbox (by its state file) whose image is `name`, or 0. */
static int
image_user(const struct sb_paths *p, const char *name, char *who,
    size_t len)
{
	struct dirent	*de;
	DIR		*d;
	json_t		*j;
	char		*dir, *path;
	const char	*im;
	int		 found = 0;

	if (asprintf(&dir, "%s/sandboxes", p->run_dir) == -1)
		return 0;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    asprintf(&path, "%s/%s/state.json", dir, de->d_name) == -1)
			continue;
		if ((j = json_load_file(path, 0, NULL)) != NULL) {
			im = json_string_value(json_object_get(j, "image"));
			if (im != NULL && strcmp(im, name) == 0) {
				snprintf(who, len, "%s", de->d_name);
				found = 1;
			}
			json_decref(j);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	return found;
}

int
image_remove(const struct sandbox_paths *sp, const char *name,
    struct ir_err *err)
{
	struct sb_paths	 p;
	char		*dir = NULL, *final = NULL, *gone = NULL;
	char		 who[SB_ID_MAX + 1];
	int		 rc = -1;

	if (sb_paths_get(sp, &p, err) == -1 ||
	    image_name_check(name, err) == -1)
		return -1;
	if ((dir = images_dir(&p)) == NULL ||
	    asprintf(&final, "%s/%s", dir, name) == -1 ||
	    asprintf(&gone, "%s/.rm-%s.%d", dir, name, (int)getpid()) == -1) {
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (image_user(&p, name, who, sizeof(who))) {
		err_set(err, EBUSY, "image '%s' is used by sandbox '%s': "
		    "destroy it first", name, who);
		goto out;
	}
	/* Out of sight first, so a name is either whole or absent. */
	if (rename(final, gone) == -1) {
		if (errno == ENOENT)
			err_set(err, 0, "no image '%s' (nothing at %s)", name,
			    final);
		else
			err_set(err, errno, "rename %s: %s", final,
			    strerror(errno));
		goto out;
	}
	rc = sb_rm_rf(gone, err);
out:
	free(dir);
	free(final);
	free(gone);
	return rc;
}

static int
cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct image_info *)a)->ii_name,
	    ((const struct image_info *)b)->ii_name);
}

static int
info_fill(struct image_info *ii, const char *name, json_t *j)
{
	const char	*s;

	memset(ii, 0, sizeof(*ii));
	if ((ii->ii_name = strdup(name)) == NULL)
		return -1;
	s = json_string_value(json_object_get(j, "format"));
	if ((ii->ii_format = strdup(s ? s : "?")) == NULL)
		return -1;
	s = json_string_value(json_object_get(j, "source"));
	if ((ii->ii_source = strdup(s ? s : "")) == NULL)
		return -1;
	ii->ii_layers = (unsigned)json_integer_value(json_object_get(j,
	    "layers"));
	ii->ii_size = (uint64_t)json_integer_value(json_object_get(j, "size"));
	ii->ii_imported = (int64_t)json_integer_value(json_object_get(j,
	    "imported"));
	if ((ii->ii_env = json_strv(json_object_get(j, "env"))) == NULL)
		return -1;
	s = json_string_value(json_object_get(j, "workdir"));
	if (s != NULL && (ii->ii_workdir = strdup(s)) == NULL)
		return -1;
	return 0;
}

static void
info_free(struct image_info *ii)
{
	free(ii->ii_name);
	free(ii->ii_format);
	free(ii->ii_source);
	sb_strv_free(ii->ii_env);
	free(ii->ii_workdir);
}

void
image_list_free(struct image_info *v, size_t n)
{
	size_t	 i;

	for (i = 0; v != NULL && i < n; i++)
		info_free(&v[i]);
	free(v);
}

int
image_list(const struct sandbox_paths *sp, struct image_info **out,
    size_t *np, struct ir_err *err)
{
	struct sb_paths	 p;
	struct image_info *v = NULL, *nv;
	struct dirent	*de;
	DIR		*d;
	json_t		*j;
	char		*dir;
	size_t		 n = 0;

	*out = NULL;
	*np = 0;
	if (sb_paths_get(sp, &p, err) == -1)
		return -1;
	if ((dir = images_dir(&p)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return errno == ENOENT ? 0 : err_set(err, errno, "%s: %s",
		    p.state_dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    image_name_check(de->d_name, NULL) == -1)
			continue;
		/* An entry without its image.json is skipped, not fatal. */
		if ((j = info_load(dir, de->d_name, NULL)) == NULL)
			continue;
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			json_decref(j);
			goto nomem;
		}
		v = nv;
		if (info_fill(&v[n], de->d_name, j) == -1) {
			info_free(&v[n]);
			json_decref(j);
			goto nomem;
		}
		n++;
		json_decref(j);
	}
	closedir(d);
	free(dir);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_info);
	*out = v;
	*np = n;
	return 0;
nomem:
	closedir(d);
	free(dir);
	image_list_free(v, n);
	return err_set(err, ENOMEM, "out of memory");
}
