/*
 * proto.h - the wire between the runner (exec.c) and the sandbox init
 * (init/isorun-init.c). Both sides are built from this file; the init is a
 * separate static program, so nothing here may need the library.
 *
 * The init is PID 1 of the sandbox and accept()s on a listening unix stream
 * socket the runner created (SBP_FD_LISTEN). One connection is one exec:
 *
 *   runner -> init   struct sbp_req, with SCM_RIGHTS carrying stdin, stdout
 *                    and stderr (in that order; SBP_F_NOSTDIN: only stdout
 *                    and stderr, the command reads /dev/null), then
 *                    rq_len bytes of body: cwd NUL, argv[i] NUL..., env NUL...
 *   init -> runner   struct sbp_ev SBP_EV_STARTED, then one SBP_EV_EXITED or
 *                    SBP_EV_ERROR; the connection then closes.
 *   runner -> init   any number of struct sbp_ctl while the command runs.
 *
 * Closing the connection before SBP_EV_EXITED cancels the exec: the init
 * kills the command's process tree. Sizes are fixed and checked before use;
 * the runner treats everything it reads as untrusted (the guest is root in
 * the sandbox and may have replaced anything it can reach).
 */
#ifndef ISORUN_SB_PROTO_H
#define ISORUN_SB_PROTO_H

#include <stdint.h>

#define SBP_MAGIC	0x31585249u	/* "IRX1" little-endian */
#define SBP_BODY_MAX	(4u << 20)	/* argv + env + cwd, NULs included */
#define SBP_ARGS_MAX	65536u		/* argc + envc */

/* Descriptors the init is started with (bwrap passes them through). */
#define SBP_FD_LISTEN	3	/* listening unix socket */
#define SBP_FD_READY	4	/* pipe: the init writes 'R' once ready */
#define SBP_FD_LIFELINE	5	/* optional pipe: EOF means the runner died */
#define SBP_INIT_PATH	"/.isorun/init"	/* inside the sandbox */

#define SBP_F_CWD	0x1	/* cwd given; else /root, then / */
#define SBP_F_NOSTDIN	0x2	/* two fds passed; stdin is /dev/null */

struct sbp_req {
	uint32_t	 rq_magic;
	uint32_t	 rq_len;	/* body bytes that follow */
	uint32_t	 rq_flags;
	uint32_t	 rq_timeout_ms;	/* 0: none */
	uint32_t	 rq_argc;	/* >= 1 */
	uint32_t	 rq_envc;
};

#define SBP_CTL_SIGNAL	1	/* ct_arg: signal for the command's group */

struct sbp_ctl {
	uint32_t	 ct_type;
	int32_t		 ct_arg;
};

#define SBP_EV_STARTED	1	/* ev_pid */
#define SBP_EV_EXITED	2	/* ev_status (a wait status), ev_flags, ev_usec */
#define SBP_EV_ERROR	3	/* ev_errno, ev_msg: the command did not start */

#define SBP_EVF_TIMEDOUT 0x1	/* the tree was killed at the deadline */

struct sbp_ev {
	uint32_t	 ev_type;
	int32_t		 ev_pid;	/* in the sandbox's PID namespace */
	int32_t		 ev_status;
	int32_t		 ev_errno;
	uint32_t	 ev_flags;
	uint32_t	 ev_pad;
	uint64_t	 ev_usec;	/* start to exit */
	char		 ev_msg[200];	/* NUL-terminated */
};

#endif
