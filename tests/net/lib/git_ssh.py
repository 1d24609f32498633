#!/usr/bin/python3
"""git_ssh.py ADDR PORT AUTHORIZED_PUBKEY LOG: a minimal SSH server for git
(paramiko, Debian's python3-paramiko): public-key authentication with the
one ECDSA key given, and exec of
git-upload-pack / git-receive-pack only, on the path the client names.
Writes "ready" to stdout when listening, and one JSON line per accepted
command to LOG (the far side's record of what reached it)."""
import base64
import json
import shlex
import socket
import subprocess
import sys
import threading
import time

import paramiko


class Server(paramiko.ServerInterface):
    def __init__(self, key):
        self.key = key
        self.cmd = None
        self.ready = threading.Event()

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        if key.get_base64() == self.key.get_base64():
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_exec_request(self, channel, command):
        self.cmd = command.decode("utf-8", "replace")
        self.ready.set()
        return True


def serve(conn, peer, key, log):
    t = paramiko.Transport(conn)
    t.add_server_key(paramiko.ECDSAKey.generate())
    srv = Server(key)
    try:
        t.start_server(server=srv)
        chan = t.accept(20)
        if chan is None or not srv.ready.wait(20):
            return
        argv = shlex.split(srv.cmd)
        with open(log, "a") as f:
            f.write(json.dumps({"peer": peer[0], "cmd": srv.cmd}) + "\n")
        if len(argv) != 2 or argv[0] not in ("git-upload-pack",
                                             "git-receive-pack"):
            chan.send_exit_status(127)
            chan.close()
            return
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)

        def up():
            while True:
                d = chan.recv(65536)
                if not d:
                    break
                p.stdin.write(d)
                p.stdin.flush()
            p.stdin.close()
        threading.Thread(target=up, daemon=True).start()
        while True:
            d = p.stdout.read1(65536)
            if not d:
                break
            chan.sendall(d)
        chan.send_exit_status(p.wait())
        chan.shutdown_write()
        # Let the client close first: closing under its last messages
        # would reset the connection.
        for _ in range(100):
            if not t.is_active() or chan.closed:
                break
            time.sleep(0.05)
        chan.close()
    except Exception as e:  # a test client that goes away
        sys.stderr.write("git_ssh: %s\n" % e)
    finally:
        t.close()


def main():
    addr, port, pub, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # an ecdsa-sha2-nistp256 key (ssh-keygen -t ecdsa): paramiko 2.12 of
    # Debian 12 reads a public key by its type only
    key = paramiko.ECDSAKey(data=base64.b64decode(open(pub).read().split()[1]))
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:    # "::" takes IPv4 too
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer, key, log),
                         daemon=True).start()


main()
