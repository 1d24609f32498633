/*
 * fuzz_image.c - the image importer's parsers (src/sandbox/image.c) on
 * arbitrary bytes: docker-archive manifest.json, OCI index.json and image
 * manifest, the image config, archive entry names and digests. An image
 * tarball may come from anywhere. The first byte picks the parser. Checks:
 * no crash, leak or UB; a failure has a message; what parses keeps each
 * parser's promises (entry names normalised, never absolute or with "..";
 * layer paths present; blob paths under blobs/).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
manifest_ok(const struct img_manifest *m)
{
	assert(m->im_config != NULL && m->im_config[0] != '/');
	/* No layer at all is an empty image: im_layers stays NULL. */
	assert((m->im_layers == NULL) == (m->im_nlayers == 0));
	for (size_t i = 0; i < m->im_nlayers; i++)
		assert(m->im_layers[i] != NULL && m->im_layers[i][0] != '/');
	assert(m->im_layers == NULL || m->im_layers[m->im_nlayers] == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data + 1, *why = NULL;
	size_t			 n = size - 1;
	struct img_manifest	 m;
	struct ir_err		 e = { 0 };
	char			 path[4096], *t, **env = NULL, *wd = NULL;
	int			 nested = 0;

	if (size == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	switch (data[0] % 6) {
	case 0:
		if (img_parse_docker_manifest(s, n, &m, &e) == 0)
			manifest_ok(&m);
		else
			assert(e.msg[0] != '\0');
		img_manifest_free(&m);
		break;
	case 1:
		if (img_parse_oci_manifest(s, n, &m, &e) == 0)
			manifest_ok(&m);
		else
			assert(e.msg[0] != '\0');
		img_manifest_free(&m);
		break;
	case 2:
		if (img_parse_oci_index(s, n, "amd64", path, sizeof(path),
		    &nested, &e) == 0)
			assert(strncmp(path, "blobs/", 6) == 0);
		else
			assert(e.msg[0] != '\0');
		break;
	case 3:
		if (img_parse_config(s, n, &env, &wd, &e) == -1)
			assert(e.msg[0] != '\0');
		sb_strv_free(env);
		free(wd);
		break;
	case 4:
		if ((t = strndup(s, n)) == NULL)
			break;
		if (img_path_norm(t, path, sizeof(path), &why) == 0) {
			assert(path[0] != '/');
			assert(strcmp(path, "..") != 0 &&
			    strncmp(path, "../", 3) != 0 &&
			    strstr(path, "/../") == NULL &&
			    (strlen(path) < 3 ||
			    strcmp(path + strlen(path) - 3, "/..") != 0));
		} else
			assert(why != NULL);
		free(t);
		break;
	default:
		if ((t = strndup(s, n)) == NULL)
			break;
		if (img_digest_path(t, path, sizeof(path)) == 0)
			assert(strncmp(path, "blobs/sha256/", 13) == 0);
		free(t);
		break;
	}
	return 0;
}
