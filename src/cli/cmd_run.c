/*
 * cmd_run.c - `isorun run`: the one-shot main job. An embedded runner
 * (gateway, proxy, DNS view) and one sandbox for one command; the command's
 * output streams through, its exit code is ours; everything is removed at
 * the end.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../api/client.h"
#include "../audit/audit.h"
#include "../policy/policy.h"
#include "../runner/runner.h"

enum audit_show { SHOW_QUIET, SHOW_BLOCKED, SHOW_ALL, SHOW_JSON };

struct run {
	const char		*image;
	const char		*profile;
	const char		*profiles_dir;
	const char		*dns_servers;
	const char		*state_dir;
	const char		*ca_file;
	const char		*endpoints;	/* --endpoints FILE */
	char			*ep_text;	/* its JSON array */
	size_t			 ep_len;
	struct { const char **v; size_t n; } allow, deny, env;
	int			 have_network;
	unsigned		 timeout_s;
	enum audit_show		 show;
	int			 embedded;	/* --embedded, or a runner
						   option was given */
	struct cli_api		 api;
};

static const struct option run_opts[] = {
	{ "image",		required_argument,	NULL, 'i' },
	{ "profile",		required_argument,	NULL, 'p' },
	{ "allow",		required_argument,	NULL, 'a' },
	{ "deny",		required_argument,	NULL, 'd' },
	{ "network",		no_argument,		NULL, 'n' },
	{ "env",		required_argument,	NULL, 'e' },
	{ "timeout",		required_argument,	NULL, 't' },
	{ "dns-server",		required_argument,	NULL, 'D' },
	{ "audit",		required_argument,	NULL, 'A' },
	{ "profiles-dir",	required_argument,	NULL, 'P' },
	{ "state-dir",		required_argument,	NULL, 'S' },
	{ "ca-file",		required_argument,	NULL, 'C' },
	{ "embedded",		no_argument,		NULL, 'E' },
	{ "endpoints",		required_argument,	NULL, 'X' },
	CLI_API_OPTIONS,
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

void
cmd_run_usage(FILE *f)
{
	fprintf(f,
	    "usage: isorun run [--image IMAGE] [--profile NAME | --allow RULE... "
	    "--deny RULE...]\n"
	    "                  [--env K=V]... [--timeout SECONDS] "
	    "[--dns-server ADDRS]\n"
	    "                  [--audit quiet|blocked|all|json] "
	    "[--endpoints FILE.json]\n"
	    "                  -- COMMAND [ARG]...\n\n"
	    "Runs COMMAND in a new sandbox whose network the policy decides, "
	    "streams its\noutput and exits with its exit code. Needs root. "
	    "Nothing is left afterwards.\nWhen isorund answers on its socket, "
	    "the sandbox is the daemon's (output then\ncomes at the end); "
	    "otherwise, or with --embedded or any of --dns-server,\n"
	    "--ca-file, --state-dir, --profiles-dir, --audit, a runner is "
	    "embedded here.\n\n"
	    "  --image IMAGE       host (default), a rootfs directory, or an "
	    "imported name\n"
	    "  --profile NAME      a network profile ('isorun profiles'); "
	    "default unrestricted\n"
	    "  --allow RULE        allow a host, *.domain, address or CIDR "
	    "(with :PORT)\n"
	    "  --deny RULE         deny one; deny wins; '0.0.0.0/0' or '*' "
	    "blocks the rest\n"
	    "  --network           rules given (possibly none), not a "
	    "profile\n"
	    "  --env K=V           set an environment variable inside\n"
	    "  --timeout SECONDS   kill the command's processes after this\n"
	    "  --dns-server ADDRS  upstream resolvers, comma-separated "
	    "(default: /etc/resolv.conf's)\n"
	    "  --audit MODE        decisions on stderr: quiet, blocked "
	    "(default), all, json\n"
	    "  --profiles-dir DIR  profile files (default %s)\n"
	    "  --state-dir DIR     imported images, and with --endpoints the "
	    "secrets and the\n"
	    "                      runner's CA (default %s)\n"
	    "  --endpoints FILE    endpoint rules and credentials per host: a "
	    "JSON array of\n"
	    "                      {host, rules, default, credentials} "
	    "(docs/endpoints.md)\n"
	    "  --ca-file FILE      PEM certificates the sandbox trusts besides "
	    "the host's\n"
	    "  --embedded          never use a running isorund\n"
	    "%s\n"
	    "Exit status: the command's (128+N when signal N ended it), 2 for "
	    "bad usage,\npolicy, profile or image, 1 when the runner fails.\n",
	    "/etc/isorun/profiles.d", SB_STATE_DIR, cli_api_usage());
}

/* What the command sees of the runner's decisions, on stderr. */
static void
run_sink(void *arg, const struct audit_event *ev)
{
	const struct run	*r = arg;
	char			 line[2048], a[INET6_ADDRSTRLEN];
	unsigned		 port = 0;
	int			 n;

	if (r->show == SHOW_QUIET || (r->show == SHOW_BLOCKED &&
	    (ev->ae_allowed || ev->ae_kind == AUDIT_CLOSE)))
		return;
	if (r->show == SHOW_JSON) {
		n = audit_format_json(ev, line, sizeof(line) - 1);
		if (n > (int)sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	} else {
		a[0] = '\0';
		if (ev->ae_dst.ss_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)&ev->ae_dst;

			inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
			port = ntohs(s->sin_port);
		} else if (ev->ae_dst.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s =
			    (const void *)&ev->ae_dst;

			inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
			port = ntohs(s->sin6_port);
		}
		if (ev->ae_kind == AUDIT_DNS)
			n = snprintf(line, sizeof(line), "isorun: %s dns %s "
			    "(%s): %s", ev->ae_allowed ? "allowed" : "blocked",
			    ev->ae_qname ? ev->ae_qname : "?",
			    ev->ae_rcode ? ev->ae_rcode : "?",
			    ev->ae_reason ? ev->ae_reason : "");
		else
			n = snprintf(line, sizeof(line), "isorun: %s %s %s%s%s"
			    ":%u%s%.*s: %s", ev->ae_kind == AUDIT_CLOSE ?
			    "closed" : ev->ae_allowed ? "allowed" : "blocked",
			    audit_proto_name(ev->ae_proto),
			    strchr(a, ':') ? "[" : "", a,
			    strchr(a, ':') ? "]" : "", port,
			    ev->ae_name ? " name " : "",
			    ev->ae_name ? (int)ev->ae_namelen : 0,
			    ev->ae_name ? ev->ae_name : "",
			    ev->ae_reason ? ev->ae_reason : "");
		if (n < 0)
			return;
		if (n > (int)sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n + 1) < 0) {
		/* stderr gone */
	}
}

static int	 sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int	 e = errno;

	if (write(sig_pipe[1], &sig, sizeof(sig)) < 0) {
		/* full: the command gets the earlier ones */
	}
	errno = e;
}

/*
 * Runners of `isorun run` are named "ir<pid>"; one whose process is gone
 * (killed, say) left its namespaces: remove them.
 */
static int
pid_dead(const char *s, const char *suffix, long *pid)
{
	char	*end;

	*pid = strtol(s, &end, 10);
	if (end == s || strcmp(end, suffix) != 0 || *pid <= 0)
		return 0;
	return kill((pid_t)*pid, 0) == -1 && errno == ESRCH;
}

static void
purge_stale(const struct sandbox_paths *sp)
{
	DIR		*d;
	struct dirent	*de;
	char		 name[GW_NAME_MAX + 1], **ids;
	long		 pid;
	struct ir_err	 err;
	struct sandbox	*sb;

	/* Its sandbox, "run-<pid>" (it dies with its run, its state stays). */
	if ((ids = sandbox_list(sp, &err)) != NULL) {
		for (char **id = ids; *id != NULL; id++) {
			if (strncmp(*id, "run-", 4) != 0 ||
			    !pid_dead(*id + 4, "", &pid))
				continue;
			if ((sb = sandbox_open(sp, *id, &err)) == NULL ||
			    sandbox_destroy(sb, &err) == -1)
				cli_warnx("removing what a dead run left (%s): "
				    "%s", *id, err.msg);
			sandbox_free(sb);
		}
		sandbox_list_free(ids);
	}
	if ((d = opendir(GW_NETNS_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "ir", 2) != 0)
			continue;
		if (!pid_dead(de->d_name + 2, "-gw", &pid))
			continue;	/* not a run's, or alive */
		snprintf(name, sizeof(name), "ir%ld", pid);
		if (gateway_purge(name, &err) == -1)
			cli_warnx("removing what a dead run left (%s): %s",
			    name, err.msg);
	}
	closedir(d);
}

static int
run_parse(struct run *r, int argc, char **argv)
{
	char	*end;
	long	 v;
	int	 o;

	r->show = SHOW_BLOCKED;
	optind = 1;
	while ((o = getopt_long(argc, argv, "+:h", run_opts, NULL)) != -1) {
		switch (o) {
		case 'i': r->image = optarg; break;
		case 'p': r->profile = optarg; break;
		case 'a':
		case 'd':
		case 'e':
			if (cli_strv_add(o == 'a' ? &r->allow.v : o == 'd' ?
			    &r->deny.v : &r->env.v, o == 'a' ? &r->allow.n :
			    o == 'd' ? &r->deny.n : &r->env.n, optarg) == -1)
				return CLI_FAIL;
			if (o != 'e')
				r->have_network = 1;
			else if (strchr(optarg, '=') == NULL ||
			    optarg[0] == '=')
				return cli_usage_error("run", "--env '%s': "
				    "want NAME=VALUE", optarg);
			break;
		case 'n': r->have_network = 1; break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0 ||
			    v > 31 * 86400)
				return cli_usage_error("run", "--timeout '%s': "
				    "want whole seconds, 1 to 2678400",
				    optarg);
			r->timeout_s = (unsigned)v;
			break;
		case 'D': r->dns_servers = optarg; r->embedded = 1; break;
		case 'E': r->embedded = 1; break;
		case 'A':
			r->embedded = 1;
			if (strcmp(optarg, "quiet") == 0)
				r->show = SHOW_QUIET;
			else if (strcmp(optarg, "blocked") == 0)
				r->show = SHOW_BLOCKED;
			else if (strcmp(optarg, "all") == 0)
				r->show = SHOW_ALL;
			else if (strcmp(optarg, "json") == 0)
				r->show = SHOW_JSON;
			else
				return cli_usage_error("run", "--audit '%s': "
				    "want quiet, blocked, all or json",
				    optarg);
			break;
		case 'P': r->profiles_dir = optarg; r->embedded = 1; break;
		case 'S': r->state_dir = optarg; r->embedded = 1; break;
		case 'C': r->ca_file = optarg; r->embedded = 1; break;
		case 'X': r->endpoints = optarg; break;
		case 'h':
			cmd_run_usage(stdout);
			return -1;
		default:
			if (cli_api_opt(&r->api, o, optarg))
				break;
			return cli_getopt_error("run", o, optopt,
			    argv[optind - 1]);
		}
	}
	if (r->profile != NULL && r->have_network) {
		cli_warnx("networkProfile and network are mutually exclusive "
		    "(--profile with --allow, --deny or --network)");
		return CLI_USAGE;
	}
	if (optind == argc)
		return cli_usage_error("run", "no COMMAND given (isorun run "
		    "[OPTIONS] -- COMMAND [ARG]...)");
	return CLI_OK;
}

/*
 * 1 if isorund answers where the CLI looks for it (--socket, --url,
 * $ISORUN_SOCKET, $ISORUN_URL, else the default socket): GET /healthz.
 * A default socket that does not exist is no daemon, quietly.
 */
static int
daemon_answers(const struct run *r)
{
	struct api_target	 t;
	struct api_resp		 resp;
	struct ir_err		 err;
	struct stat		 st;
	int			 up = 0;

	if (api_target_env(&t, r->api.ca_socket, r->api.ca_url, &err) == -1)
		return 0;
	if ((t.at_socket == NULL || (stat(t.at_socket, &st) == 0 &&
	    S_ISSOCK(st.st_mode))) &&
	    api_call(&t, "GET", "/healthz", NULL, 0, &resp, &err) == 0) {
		up = resp.rs_status == 200;
		api_resp_free(&resp);
	}
	api_target_free(&t);
	return up;
}

static void
put_stream(FILE *f, json_t *v)
{
	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), f);
	fflush(f);
}

/*
 * The run through isorund: create, exec, destroy. The sandbox's lifetime
 * is bounded (timeoutMs) so that one whose `isorun run` was killed goes
 * away by itself.
 */
static int
run_daemon(struct run *r, char **cmdv, int cmdc)
{
	const struct cli_policy_src ps = { r->profile, r->allow.v, r->allow.n,
	    r->deny.v, r->deny.n, r->have_network, NULL };
	json_t		*body, *argvj, *out = NULL, *e;
	char		 path[256], id[128];
	unsigned	 life_s;
	int		 rc, xrc;

	if ((body = json_object()) == NULL || (argvj = json_array()) == NULL) {
		json_decref(body);
		cli_warnx("run: out of memory");
		return CLI_FAIL;
	}
	if ((rc = cli_network_json("run", &ps, body)) != CLI_OK) {
		json_decref(body);
		json_decref(argvj);
		return rc;
	}
	if (r->image != NULL)
		json_object_set_new(body, "image", json_string(r->image));
	if (r->ep_text != NULL)
		json_object_set_new(body, "endpoints", json_loadb(r->ep_text,
		    r->ep_len, 0, NULL));
	if (r->env.n > 0) {
		if ((e = cli_env_json("run", r->env.v, r->env.n)) == NULL) {
			json_decref(body);
			json_decref(argvj);
			return CLI_USAGE;
		}
		json_object_set_new(body, "env", e);
	}
	life_s = (r->timeout_s ? r->timeout_s : 24 * 3600) + 60;
	json_object_set_new(body, "timeoutMs",
	    json_integer((json_int_t)life_s * 1000));
	if ((rc = cli_api(&r->api, "run", "POST", "/v1/sandboxes", body,
	    &out)) != CLI_OK) {
		json_decref(argvj);
		return rc;
	}
	snprintf(id, sizeof(id), "%s", cli_jstr(out, "id"));
	json_decref(out);
	out = NULL;
	for (int i = 0; i < cmdc; i++)
		json_array_append_new(argvj, json_string(cmdv[i]));
	body = json_object();
	if (body == NULL || json_array_size(argvj) != (size_t)cmdc) {
		json_decref(body);
		json_decref(argvj);
		cli_warnx("run: the command is not valid UTF-8");
		xrc = CLI_USAGE;
		goto destroy;
	}
	json_object_set_new(body, "cmd", argvj);
	if (r->timeout_s)
		json_object_set_new(body, "timeoutMs",
		    json_integer((json_int_t)r->timeout_s * 1000));
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
	if ((xrc = cli_api(&r->api, "run", "POST", path, body, &out)) ==
	    CLI_OK) {
		put_stream(stdout, json_object_get(out, "stdout"));
		put_stream(stderr, json_object_get(out, "stderr"));
		if (json_is_true(json_object_get(out, "timedOut")))
			cli_warnx("run: the command was killed after %u s "
			    "(--timeout)", r->timeout_s);
		xrc = (int)json_integer_value(json_object_get(out,
		    "exitCode"));
	}
	json_decref(out);
destroy:
	snprintf(path, sizeof(path), "/v1/sandboxes/%s", id);
	if ((rc = cli_api(&r->api, "run", "DELETE", path, NULL, NULL)) !=
	    CLI_OK && xrc == 0)
		xrc = rc;
	return xrc;
}

int
cmd_run(int argc, char **argv)
{
	struct run			 r;
	struct runner_config		 rc;
	struct runner			*rn = NULL;
	struct runner_sandbox		*sb;
	struct runner_sandbox_spec	 spec;
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct policy			*pol = NULL;
	struct endpoints		*eps = NULL;
	struct api_error		 ae;
	struct ir_err			 err;
	struct sigaction		 sa;
	char				 source[256], name[GW_NAME_MAX + 1];
	char				 id[32];
	unsigned			 dns_flags;
	int				 rc_exit;
	struct cli_policy_src		 ps;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	if ((rc_exit = run_parse(&r, argc, argv)) != CLI_OK) {
		rc_exit = rc_exit == -1 ? CLI_OK : rc_exit;
		goto done;
	}
	if (r.endpoints != NULL && (r.ep_text = cli_endpoints_load("run",
	    r.endpoints, &r.ep_len)) == NULL) {
		rc_exit = CLI_USAGE;
		goto done;
	}
	if (!r.embedded && daemon_answers(&r)) {
		rc_exit = run_daemon(&r, argv + optind, argc - optind);
		goto done;
	}
	if (r.api.ca_socket != NULL || r.api.ca_url != NULL) {
		cli_warnx("run: no isorund answers at %s", r.api.ca_socket ?
		    r.api.ca_socket : r.api.ca_url);
		rc_exit = CLI_FAIL;
		goto done;
	}
	ps = (struct cli_policy_src){ r.profile, r.allow.v, r.allow.n,
	    r.deny.v, r.deny.n, r.have_network, r.profiles_dir };
	if ((rc_exit = cli_policy_make(&ps, &pol, source, sizeof(source),
	    &dns_flags)) != CLI_OK)
		goto done;
	if (geteuid() != 0) {
		cli_warnx("run: needs root (network namespaces, nftables, "
		    "bubblewrap)");
		rc_exit = CLI_FAIL;
		goto done;
	}
	if (r.ep_text != NULL && api_endpoints_compile(r.ep_text, r.ep_len,
	    &eps, &ae) == -1) {
		cli_warnx("run: --endpoints %s: %s", r.endpoints, ae.ap_msg);
		rc_exit = CLI_USAGE;
		goto done;
	}
	runner_config_default(&rc);
	/* The secrets and the CA live in the state dir: only asked for. */
	rc.rc_paths.sp_state_dir = r.state_dir != NULL || eps == NULL ?
	    r.state_dir : SB_STATE_DIR;
	purge_stale(&rc.rc_paths);
	snprintf(name, sizeof(name), "ir%ld", (long)getpid());
	snprintf(id, sizeof(id), "run-%ld", (long)getpid());
	rc.rc_gw.gc_name = name;
	rc.rc_gw.gc_max_sandboxes = 4;
	rc.rc_dns.dc_servers = r.dns_servers;
	rc.rc_ca_file = r.ca_file;
	audit_set_sink(run_sink, &r);
	if ((rn = runner_start(&rc, &err)) == NULL) {
		cli_warnx("run: %s", err.msg);
		rc_exit = err.code == 0 ? CLI_USAGE : CLI_FAIL;
		goto done;
	}
	memset(&spec, 0, sizeof(spec));
	spec.rs_id = id;
	spec.rs_image = r.image;
	spec.rs_env = r.env.v;
	spec.rs_policy = pol;
	spec.rs_dns_flags = dns_flags;
	spec.rs_lifeline = 1;
	spec.rs_endpoints = eps;
	if ((sb = runner_sandbox_create(rn, &spec, &err)) == NULL) {
		cli_warnx("run: %s", err.msg);
		rc_exit = err.code == 0 ? CLI_USAGE : CLI_FAIL;
		goto done;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		cli_warnx("run: pipe: %s", strerror(errno));
		rc_exit = CLI_FAIL;
		goto done;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sandbox_exec_req_init(&req);
	req.er_argv = (const char *const *)argv + optind;
	req.er_stdin_fd = STDIN_FILENO;
	req.er_stdout_fd = STDOUT_FILENO;
	req.er_stderr_fd = STDERR_FILENO;
	req.er_timeout_ms = r.timeout_s * 1000;
	req.er_signal_fd = sig_pipe[0];
	if (sandbox_exec(runner_sandbox_box(sb), &req, &res, &err) == -1) {
		cli_warnx("run: %s", err.msg);
		rc_exit = CLI_FAIL;
		goto done;
	}
	if (res.xr_timed_out)
		cli_warnx("run: the command was killed after %u s (--timeout)",
		    r.timeout_s);
	rc_exit = res.xr_exit_code;
done:
	sandbox_exec_result_free(&res);
	runner_stop(rn);
	audit_set_sink(NULL, NULL);
	policy_free(pol);
	endpoints_free(eps);
	free(r.ep_text);
	free(r.allow.v);
	free(r.deny.v);
	free(r.env.v);
	if (sig_pipe[0] != -1) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
	}
	return rc_exit;
}
