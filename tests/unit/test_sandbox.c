/*
 * test_sandbox.c - the pure parts of src/sandbox: archive entry names,
 * digests, image manifests and configs, environment merging, ids and image
 * names. (Launching sandboxes is tested by tests/net/sandbox_*.sh.)
 */
#include <stdlib.h>
#include <string.h>

#include "sandbox/sb_int.h"
#include "t.h"

static const struct {
	const char	*in;
	const char	*out;	/* NULL: rejected */
} paths[] = {
	{ "a/b/c", "a/b/c" },
	{ "./a/b", "a/b" },
	{ "./", "" },
	{ ".", "" },
	{ "a//b/./c/", "a/b/c" },
	{ "a/b/", "a/b" },
	{ ".wh..wh..opq", ".wh..wh..opq" },
	{ "a/..b", "a/..b" },
	{ "...", "..." },
	{ "../x", NULL },
	{ "a/../b", NULL },
	{ "a/..", NULL },
	{ "..", NULL },
	{ "/etc/passwd", NULL },
	{ "/", NULL },
};

static void
t_path(size_t i)
{
	char		 out[64];
	const char	*why = NULL;
	int		 rc;

	rc = img_path_norm(paths[i].in, out, sizeof(out), &why);
	if (paths[i].out == NULL)
		T_CHECK(rc == -1 && why != NULL, "'%s' accepted as '%s'",
		    paths[i].in, out);
	else {
		T_CHECK(rc == 0, "'%s' rejected: %s", paths[i].in, why);
		if (rc == 0)
			T_STREQ(out, paths[i].out);
	}
}

static void
t_path_long(void)
{
	char		 out[8];
	const char	*why = NULL;

	T_CHECK(img_path_norm("abcd/efgh", out, sizeof(out), &why) == -1,
	    "overflow accepted");
	T_CHECK(img_path_norm("abc/efg", out, sizeof(out), &why) == 0,
	    "exact fit rejected: %s", why);
}

static void
t_digest(void)
{
	char	 out[256];
	char	 d[80];

	memset(d, 0, sizeof(d));
	memcpy(d, "sha256:", 7);
	memset(d + 7, 'a', 64);
	T_CHECK(img_digest_path(d, out, sizeof(out)) == 0, "good digest");
	T_CHECK(strncmp(out, "blobs/sha256/aaaa", 17) == 0, "path %s", out);
	d[7] = 'A';
	T_CHECK(img_digest_path(d, out, sizeof(out)) == -1, "upper case hex");
	d[7] = '/';
	T_CHECK(img_digest_path(d, out, sizeof(out)) == -1, "slash in hex");
	d[7] = 'a';
	d[70] = '\0';
	T_CHECK(img_digest_path(d, out, sizeof(out)) == -1, "short digest");
	T_CHECK(img_digest_path("md5:abc", out, sizeof(out)) == -1, "md5");
	T_CHECK(img_digest_path("sha256:../../etc", out, sizeof(out)) == -1,
	    "traversal");
}

static void
t_docker_manifest(void)
{
	const char	*good = "[{\"Config\":\"./c.json\",\"RepoTags\":[],"
	    "\"Layers\":[\"a/layer.tar\",\"b//layer.tar\"]},{\"Config\":\"x\","
	    "\"Layers\":[]}]";
	struct img_manifest	 m;
	struct ir_err		 err;
	static const char *const bad[] = {
		"{}", "[]", "[1]", "[{\"Layers\":[]}]",
		"[{\"Config\":\"c\"}]", "[{\"Config\":\"c\",\"Layers\":[1]}]",
		"[{\"Config\":\"../c\",\"Layers\":[]}]",
		"[{\"Config\":\"c\",\"Layers\":[\"/abs\"]}]", "[{\"Config\":",
	};
	size_t	 i;

	T_CHECK(img_parse_docker_manifest(good, strlen(good), &m, &err) == 0,
	    "%s", err.msg);
	T_STREQ(m.im_config, "c.json");
	T_CHECK(m.im_nlayers == 2, "%zu layers", m.im_nlayers);
	if (m.im_nlayers == 2) {
		T_STREQ(m.im_layers[0], "a/layer.tar");
		T_STREQ(m.im_layers[1], "b/layer.tar");
		T_CHECK(m.im_layers[2] == NULL, "not NULL-terminated");
	}
	img_manifest_free(&m);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_CHECK(img_parse_docker_manifest(bad[i], strlen(bad[i]), &m,
		    &err) == -1, "accepted %s", bad[i]);
		T_CHECK(strstr(err.msg, "manifest.json") != NULL,
		    "message does not name the file: %s", err.msg);
		T_CHECK(m.im_layers == NULL && m.im_config == NULL,
		    "left allocated on failure");
	}
}

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H64B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define H64C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void
t_oci_index(void)
{
	const char *multi = "{\"manifests\":["
	    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"digest\":\"sha256:" H64A "\",\"platform\":{\"os\":\"linux\","
	    "\"architecture\":\"arm64\"}},"
	    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"digest\":\"sha256:" H64B "\",\"platform\":{\"os\":\"linux\","
	    "\"architecture\":\"amd64\"}},"
	    "{\"mediaType\":\"application/vnd.in-toto+json\","
	    "\"digest\":\"sha256:" H64C "\"}]}";
	const char *nested = "{\"manifests\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"sha256:"
	    H64C "\"}]}";
	const char *none = "{\"manifests\":["
	    "{\"digest\":\"sha256:" H64A "\",\"platform\":{\"os\":\"linux\","
	    "\"architecture\":\"arm64\"}},"
	    "{\"digest\":\"sha256:" H64B "\",\"platform\":{\"os\":\"linux\","
	    "\"architecture\":\"s390x\"}}]}";
	const char *baddigest = "{\"manifests\":[{\"digest\":\"sha256:../x\"}]}";
	struct ir_err	 err;
	char		 path[256];
	int		 n;

	T_CHECK(img_parse_oci_index(multi, strlen(multi), "amd64", path,
	    sizeof(path), &n, &err) == 0, "%s", err.msg);
	T_STREQ(path, "blobs/sha256/" H64B);
	T_CHECK(n == 0, "a manifest taken for an index");
	T_CHECK(img_parse_oci_index(multi, strlen(multi), "arm64", path,
	    sizeof(path), &n, &err) == 0, "%s", err.msg);
	T_STREQ(path, "blobs/sha256/" H64A);
	T_CHECK(img_parse_oci_index(nested, strlen(nested), "amd64", path,
	    sizeof(path), &n, &err) == 0 && n == 1, "nested: %s", err.msg);
	T_CHECK(img_parse_oci_index(none, strlen(none), "amd64", path,
	    sizeof(path), &n, &err) == -1, "no amd64 accepted");
	T_CHECK(strstr(err.msg, "no image for linux/amd64 among 2") != NULL,
	    "%s", err.msg);
	T_CHECK(img_parse_oci_index(baddigest, strlen(baddigest), "amd64", path,
	    sizeof(path), &n, &err) == -1, "bad digest accepted");
	T_CHECK(img_parse_oci_index("[]", 2, "amd64", path, sizeof(path), &n,
	    &err) == -1, "array accepted");
}

static void
t_oci_manifest(void)
{
	const char *good = "{\"config\":{\"digest\":\"sha256:" H64A "\"},"
	    "\"layers\":[{\"digest\":\"sha256:" H64B "\"},"
	    "{\"digest\":\"sha256:" H64C "\"}]}";
	const char *bad = "{\"config\":{\"digest\":\"sha256:" H64A "\"},"
	    "\"layers\":[{\"digest\":\"sha1:abc\"}]}";
	struct img_manifest	 m;
	struct ir_err		 err;

	T_CHECK(img_parse_oci_manifest(good, strlen(good), &m, &err) == 0,
	    "%s", err.msg);
	T_STREQ(m.im_config, "blobs/sha256/" H64A);
	T_CHECK(m.im_nlayers == 2 && strcmp(m.im_layers[1],
	    "blobs/sha256/" H64C) == 0, "layers");
	img_manifest_free(&m);
	T_CHECK(img_parse_oci_manifest(bad, strlen(bad), &m, &err) == -1,
	    "bad layer digest accepted");
	T_CHECK(strstr(err.msg, "layers[0]") != NULL, "%s", err.msg);
	T_CHECK(img_parse_oci_manifest("{}", 2, &m, &err) == -1, "{}");
}

static void
t_config(void)
{
	const char	*good = "{\"config\":{\"Env\":[\"PATH=/bin\",\"A=b=c\"],"
	    "\"WorkingDir\":\"/w\"}}";
	const char	*empty = "{\"config\":{\"WorkingDir\":\"\"}}";
	const char	*bad = "{\"config\":{\"Env\":[\"NOEQUALS\"]}}";
	char		**env, *wd;
	struct ir_err	 err;

	T_CHECK(img_parse_config(good, strlen(good), &env, &wd, &err) == 0,
	    "%s", err.msg);
	T_CHECK(env != NULL && sb_strv_len(env) == 2, "env");
	if (env != NULL && sb_strv_len(env) == 2)
		T_STREQ(env[1], "A=b=c");
	T_STREQ(wd, "/w");
	sb_strv_free(env);
	free(wd);
	T_CHECK(img_parse_config(empty, strlen(empty), &env, &wd, &err) == 0 &&
	    wd == NULL && sb_strv_len(env) == 0, "empty config");
	sb_strv_free(env);
	T_CHECK(img_parse_config(bad, strlen(bad), &env, &wd, &err) == -1 &&
	    env == NULL, "bad Env accepted");
	T_CHECK(strstr(err.msg, "Env[0]") != NULL, "%s", err.msg);
}

static void
t_env(void)
{
	static const char *const a[] = { "PATH=/a", "HOME=/root", NULL };
	static const char *const b[] = { "PATH=/b", "X=1", "PATHX=2", NULL };
	static const char *const c[] = { "X=", NULL };
	static const char *const bad1[] = { "NOEQ", NULL };
	static const char *const bad2[] = { "=v", NULL };
	const char *const	*layers[4] = { a, NULL, b, c };
	struct ir_err		 err;
	char			**v;

	v = sb_env_merge(layers, 4, &err);
	T_CHECK(v != NULL, "%s", err.msg);
	if (v == NULL)
		return;
	T_CHECK(sb_strv_len(v) == 4, "%zu entries", sb_strv_len(v));
	T_STREQ(v[0], "PATH=/b");
	T_STREQ(v[1], "HOME=/root");
	T_STREQ(v[2], "X=");
	T_STREQ(v[3], "PATHX=2");
	sb_strv_free(v);
	layers[0] = bad1;
	T_CHECK(sb_env_merge(layers, 1, &err) == NULL &&
	    strstr(err.msg, "'NOEQ'") != NULL, "NOEQ: %s", err.msg);
	layers[0] = bad2;
	T_CHECK(sb_env_merge(layers, 1, &err) == NULL, "=v accepted");
}

static void
t_names(void)
{
	struct ir_err	 err;
	char		 big[200];

	T_CHECK(sb_id_check("sb-0a1b", &err) == 0, "%s", err.msg);
	T_CHECK(sb_id_check("A_b-9", &err) == 0, "%s", err.msg);
	T_CHECK(sb_id_check("", &err) == -1, "empty id");
	T_CHECK(sb_id_check("-x", &err) == -1, "leading dash");
	T_CHECK(sb_id_check("a/b", &err) == -1, "slash");
	T_CHECK(sb_id_check("..", &err) == -1, "dots");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_CHECK(sb_id_check(big, &err) == -1, "long id");
	T_CHECK(image_name_check("python:3.12-slim", &err) == 0, "%s",
	    err.msg);
	T_CHECK(image_name_check("host", &err) == -1 &&
	    strstr(err.msg, "reserved") != NULL, "host: %s", err.msg);
	T_CHECK(image_name_check(".hidden", &err) == -1, "leading dot");
	T_CHECK(image_name_check("a/b", &err) == -1, "slash");
	T_CHECK(image_name_check("a b", &err) == -1, "space");
	T_CHECK(image_name_check(big, &err) == -1, "long name");
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		T_RUN(t_path(i), "entry name '%s'", paths[i].in);
	T_RUN(t_path_long(), "entry name longer than the buffer");
	T_RUN(t_digest(), "digests to blob paths");
	T_RUN(t_docker_manifest(), "docker-archive manifest.json");
	T_RUN(t_oci_index(), "OCI index: platform choice, nesting, errors");
	T_RUN(t_oci_manifest(), "OCI image manifest");
	T_RUN(t_config(), "image config Env and WorkingDir");
	T_RUN(t_env(), "environment layers merge");
	T_RUN(t_names(), "sandbox ids and image names");
	return t_done();
}
