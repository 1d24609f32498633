/*
 * cmd_image.c - `isorun image import|ls|rm`: the runner's local images.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../sandbox/sandbox.h"

static const struct option opts[] = {
	{ "state-dir",	required_argument,	NULL, 's' },
	{ "run-dir",	required_argument,	NULL, 'r' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

void
cmd_image_usage(FILE *f)
{
	fprintf(f, "usage: isorun image import [--state-dir DIR] NAME FILE\n"
	    "       isorun image ls [--state-dir DIR] [--json]\n"
	    "       isorun image rm [--state-dir DIR] [--run-dir DIR] NAME\n"
	    "\n"
	    "Manages the images sandboxes can run besides 'host' (a view of "
	    "this\n"
	    "machine's system) and rootfs directories given by absolute "
	    "path.\n"
	    "\n"
	    "  import NAME FILE   unpack FILE, a docker-archive (docker save) "
	    "or an OCI\n"
	    "                     image layout tarball, as image NAME\n"
	    "  ls                 list the imported images\n"
	    "  rm NAME            remove image NAME (refused while a sandbox "
	    "uses it)\n"
	    "\n"
	    "  --state-dir DIR    the runner's state directory (default %s);\n"
	    "                     images live in DIR/images/NAME\n"
	    "  --run-dir DIR      the runner's run directory (default %s)\n"
	    "  --json             ls: a JSON array of {name, format, source, "
	    "layers,\n"
	    "                     size, imported, env, workdir}\n",
	    SB_STATE_DIR, SB_RUN_DIR);
}

/* Input at fault (code 0): usage exit code; the system: failure. */
static int
report(const struct ir_err *err)
{
	cli_warnx("%s", err->msg);
	return err->code == 0 || err->code == EEXIST ? CLI_USAGE : CLI_FAIL;
}

static int
image_ls(const struct sandbox_paths *p, int json)
{
	struct image_info	*v;
	struct ir_err		 err;
	json_t			*a, *env, *o;
	size_t			 n, i, k;
	char			 when[32], buf[1024];
	struct tm		 tm;
	time_t			 t;

	if (image_list(p, &v, &n, &err) == -1)
		return report(&err);
	if (json) {
		a = json_array();
		for (i = 0; a != NULL && i < n; i++) {
			env = json_array();
			for (k = 0; env && v[i].ii_env && v[i].ii_env[k]; k++)
				json_array_append_new(env,
				    json_string(v[i].ii_env[k]));
			o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, "
			    "s:o}", "name", v[i].ii_name,
			    "format", v[i].ii_format,
			    "source", v[i].ii_source,
			    "layers", (json_int_t)v[i].ii_layers,
			    "size", (json_int_t)v[i].ii_size,
			    "imported", (json_int_t)v[i].ii_imported,
			    "env", env ? env : json_null(),
			    "workdir", v[i].ii_workdir ?
			    json_string(v[i].ii_workdir) : json_null());
			if (o == NULL || json_array_append_new(a, o) == -1) {
				json_decref(a);
				a = NULL;
			}
		}
		image_list_free(v, n);
		return cli_json_print(a);
	}
	printf("%-24s  %-14s  %6s  %10s  %-20s  %s\n", "NAME", "FORMAT",
	    "LAYERS", "SIZE", "IMPORTED", "SOURCE");
	printf("%-24s  %-14s  %6s  %10s  %-20s  %s\n", "host", "built-in", "-",
	    "-", "-", "this machine's /usr, /etc, /opt");
	for (i = 0; i < n; i++) {
		t = (time_t)v[i].ii_imported;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(when, sizeof(when), "?");
		printf("%-24s  %-14s  %6u  %10llu  %-20s  %s\n", v[i].ii_name,
		    v[i].ii_format, v[i].ii_layers,
		    (unsigned long long)v[i].ii_size, when,
		    cli_show(v[i].ii_source, buf, sizeof(buf)));
	}
	image_list_free(v, n);
	return CLI_OK;
}

int
cmd_image(int argc, char **argv)
{
	struct sandbox_paths	 p;
	struct ir_err		 err;
	const char		*sub;
	char			 q[300];
	int			 c, json = 0, want;

	memset(&p, 0, sizeof(p));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:r:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			p.sp_state_dir = optarg;
			break;
		case 'r':
			p.sp_run_dir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			cmd_image_usage(stdout);
			return CLI_OK;
		default:
			return cli_getopt_error("image", c, optopt,
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("image", "image: missing subcommand "
		    "(import, ls or rm)");
	sub = argv[optind++];
	if (strcmp(sub, "import") == 0)
		want = 2;
	else if (strcmp(sub, "rm") == 0)
		want = 1;
	else if (strcmp(sub, "ls") == 0)
		want = 0;
	else {
		str_quote(sub, strlen(sub), 64, q, sizeof(q));
		return cli_usage_error("image", "image: unknown subcommand "
		    "%s (import, ls or rm)", q);
	}
	if (json && want != 0)
		return cli_usage_error("image", "image %s: --json is for ls",
		    sub);
	if (argc - optind != want)
		return cli_usage_error("image", "image %s: want %s", sub,
		    want == 2 ? "NAME FILE" : want == 1 ? "NAME" :
		    "no arguments");
	if (want == 0)
		return image_ls(&p, json);
	if (want == 1) {
		if (image_remove(&p, argv[optind], &err) == -1)
			return report(&err);
		return CLI_OK;
	}
	if (image_import(&p, argv[optind], argv[optind + 1], &err) == -1)
		return report(&err);
	printf("imported %s\n", argv[optind]);
	return CLI_OK;
}
