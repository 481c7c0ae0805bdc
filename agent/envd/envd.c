/*
 * hangar-envd: the tiny host-side helper of the Hangar agent's bwrap driver.
 *
 * Compiled by the agent at first use (gcc -O2 -static) and cached under <data>/bin.
 * One binary, several modes:
 *
 *   init                      pid 1 inside a sandbox: reaps orphans forever, holds nothing else.
 *   launch [opts] -- bwrap…   join cgroups, private mount ns, mount the overlay, drop to the
 *                             sandbox's host uid/gid, exec bwrap.
 *   exec [opts] -- argv…      enter a running sandbox (cgroups, namespaces, root) as uid/gid
 *                             1000, in a new session, and run argv; forwards signals; exits
 *                             with the child's status (128+signal when killed).
 *   hostname --pid P NAME     set the hostname in the sandbox's UTS namespace.
 *   tcp --pid P --port N …    connect to 127.0.0.1:N in the sandbox's network namespace and relay
 *                             stdin/stdout to it (previews; see mode_tcp).
 *   exec --unix-relay PATH …  like exec, but instead of running argv the entered child connects to
 *                             the unix socket PATH inside the sandbox and relays stdin/stdout to
 *                             it (desktops: the Xvnc socket). Exit 111 when the connect fails.
 *
 * Exit status 125 means the helper itself failed (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CG 16

static void fail(const char *fmt, ...) {
	int e = errno;
	va_list ap;
	char buf[512];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (e) dprintf(2, "hangar-envd: %s: %s\n", buf, strerror(e));
	else dprintf(2, "hangar-envd: %s\n", buf);
	_exit(125);
}

static void join_cgroups(char **cg, int n) {
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	for (int i = 0; i < n; i++) {
		int fd = open(cg[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0) fail("open %s", cg[i]);
		if (write(fd, pid, len) != len) fail("join cgroup %s", cg[i]);
		close(fd);
	}
}

static void drop_caps(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capset, &h, d) != 0) fail("capset");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* ---------------------------------------------------------------- init */
static void on_chld(int s) { (void)s; }

static int mode_init(void) {
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	/* Die with bwrap's monitor (bwrap sets this too; re-arm it in case we raced its death). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Tell the agent we are up (fd 4 is its readiness pipe when present). If the write fails, the
	 * agent died while we were starting: nobody will ever kill us, so leave now. */
	signal(SIGPIPE, SIG_IGN);
	if (fcntl(4, F_GETFD) != -1 && write(4, "R", 1) != 1) _exit(1);
	signal(SIGPIPE, SIG_DFL);
	for (int fd = 3; fd < 1024; fd++) close(fd);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		sigsuspend(&none);
	}
	return 0;
}

/* ---------------------------------------------------------------- launch */
static int mode_launch(int argc, char **argv) {
	char *cg[MAX_CG];
	int ncg = 0;
	char *overlay = NULL, *merged = NULL;
	long uid = -1, gid = -1;
	int i = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) { i++; break; }
		if (i + 1 >= argc) fail("missing value for %s", argv[i]);
		if (!strcmp(argv[i], "--cgroup") && ncg < MAX_CG) cg[ncg++] = argv[++i];
		else if (!strcmp(argv[i], "--overlay")) overlay = argv[++i];
		else if (!strcmp(argv[i], "--merged")) merged = argv[++i];
		else if (!strcmp(argv[i], "--uid")) uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid")) gid = atol(argv[++i]);
		else fail("unknown option %s", argv[i]);
	}
	if (i >= argc) fail("launch: no command");
	if (uid <= 0 || gid <= 0) fail("launch: --uid/--gid required (non-root)");
	join_cgroups(cg, ncg);
	if (overlay && merged) {
		if (unshare(CLONE_NEWNS) != 0) fail("unshare mount ns");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("make / private");
		if (mount("overlay", merged, "overlay", 0, overlay) != 0) fail("mount overlay %s", merged);
	}
	if (setgroups(0, NULL) != 0) fail("setgroups");
	if (setresgid(gid, gid, gid) != 0) fail("setresgid");
	if (setresuid(uid, uid, uid) != 0) fail("setresuid");
	execvp(argv[i], argv + i);
	fail("exec %s", argv[i]);
	return 125;
}

/* ---------------------------------------------------------------- exec */
static volatile pid_t child_pid = 0;
static volatile sig_atomic_t pending[65];

static void forward(int sig) {
	if (child_pid > 0) kill(child_pid, sig);
	else if (sig > 0 && sig < 65) pending[sig] = 1;
}

static const int fwd_sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGPIPE};
#define NFWD (int)(sizeof fwd_sigs / sizeof fwd_sigs[0])

static int open_ns(long pid, const char *ns, int required) {
	char p[64];
	snprintf(p, sizeof p, "/proc/%ld/ns/%s", pid, ns);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && required) fail("open %s", p);
	return fd;
}

static long ns_pid_of(pid_t pid) {
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "re");
	long v = -1;
	if (!f) return -1;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			char *s = line + 6, *end;
			for (;;) {
				long x = strtol(s, &end, 10);
				if (end == s) break;
				v = x;
				s = end;
			}
			break;
		}
	}
	fclose(f);
	return v;
}

/* ---------------------------------------------------------------- unix relay (exec --unix-relay) */
static int write_all(int fd, const char *b, ssize_t n) {
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		b += w;
		n -= w;
	}
	return 0;
}

static void unix_relay(const char *sock_path) {
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	if (strlen(sock_path) >= sizeof a.sun_path) {
		dprintf(2, "hangar-envd: socket path too long\n");
		_exit(111);
	}
	strcpy(a.sun_path, sock_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		dprintf(2, "hangar-envd: connect %s: %s\n", sock_path, strerror(errno));
		_exit(111);
	}
	static char buf[65536];
	int in_open = 1;
	for (;;) {
		struct pollfd p[2] = {{in_open ? 0 : -1, POLLIN, 0}, {s, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR) continue;
			_exit(1);
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) {
				in_open = 0;
				shutdown(s, SHUT_WR);
			} else if (write_all(s, buf, r) != 0) _exit(0);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(s, buf, sizeof buf);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0 || write_all(1, buf, r) != 0) _exit(0);
		}
	}
}

static int mode_exec(int argc, char **argv) {
	char *cg[MAX_CG];
	int ncg = 0, tty = 0, report_fd = -1;
	long target = -1, uid = 1000, gid = 1000;
	const char *cwd = NULL, *relay = NULL;
	int i = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) { i++; break; }
		if (!strcmp(argv[i], "--tty")) { tty = 1; continue; }
		if (!strcmp(argv[i], "--unix-relay") && i + 1 < argc) { relay = argv[++i]; continue; }
		if (i + 1 >= argc) fail("missing value for %s", argv[i]);
		if (!strcmp(argv[i], "--cgroup") && ncg < MAX_CG) cg[ncg++] = argv[++i];
		else if (!strcmp(argv[i], "--pid")) target = atol(argv[++i]);
		else if (!strcmp(argv[i], "--uid")) uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid")) gid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--cwd")) cwd = argv[++i];
		else if (!strcmp(argv[i], "--report-fd")) report_fd = atoi(argv[++i]);
		else fail("unknown option %s", argv[i]);
	}
	if (i >= argc) fail("exec: no command");
	if (target <= 0) fail("exec: --pid required");
	char **cmd = argv + i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	join_cgroups(cg, ncg);

	int fd_user = open_ns(target, "user", 1);
	int fd_mnt = open_ns(target, "mnt", 1);
	int fd_pid = open_ns(target, "pid", 1);
	int fd_net = open_ns(target, "net", 1);
	int fd_ipc = open_ns(target, "ipc", 1);
	int fd_uts = open_ns(target, "uts", 1);
	int fd_cg = open_ns(target, "cgroup", 0);
	char rp[64];
	snprintf(rp, sizeof rp, "/proc/%ld/root", target);
	int fd_root = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_root < 0) fail("open %s", rp);
	if (setns(fd_pid, CLONE_NEWPID) != 0) fail("setns pid");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int k = 0; k < NFWD; k++) sigaction(fwd_sigs[k], &sa, NULL);

	/* CLOEXEC pipe: EOF in the parent means the child has exec'd (or died), so by the time we
	 * report its pid, it leads its own session/process group inside the sandbox. */
	int sync[2];
	if (pipe2(sync, O_CLOEXEC) != 0) fail("pipe");
	pid_t pid = fork();
	if (pid < 0) fail("fork");
	if (pid == 0) {
		close(sync[0]);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		for (int k = 0; k < NFWD; k++) sigaction(fwd_sigs[k], &dfl, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (report_fd >= 0) close(report_fd);
		if (setsid() < 0) fail("setsid");
		if (tty && ioctl(0, TIOCSCTTY, 1) != 0) fail("TIOCSCTTY");
		if (setgroups(0, NULL) != 0) fail("setgroups");
		if (setns(fd_mnt, CLONE_NEWNS) != 0) fail("setns mnt");
		if (fchdir(fd_root) != 0 || chroot(".") != 0) fail("chroot");
		if (setns(fd_net, CLONE_NEWNET) != 0) fail("setns net");
		if (setns(fd_ipc, CLONE_NEWIPC) != 0) fail("setns ipc");
		if (setns(fd_uts, CLONE_NEWUTS) != 0) fail("setns uts");
		if (fd_cg >= 0 && setns(fd_cg, CLONE_NEWCGROUP) != 0) fail("setns cgroup");
		if (setns(fd_user, CLONE_NEWUSER) != 0) fail("setns user");
		for (int c = 0; c <= 63; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
		if (setresgid(gid, gid, gid) != 0) fail("setresgid %ld", gid);
		if (setresuid(uid, uid, uid) != 0) fail("setresuid %ld", uid);
		drop_caps();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(cwd ? cwd : "/") != 0) {
			errno = 0;
			dprintf(2, "hangar-envd: cannot change directory to %s: %s\n", cwd, strerror(ENOENT));
			_exit(125);
		}
		if (relay) unix_relay(relay);
		execvp(cmd[0], cmd);
		int e = errno;
		dprintf(2, "hangar-envd: %s: %s\n", cmd[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	close(sync[1]);
	char b;
	while (read(sync[0], &b, 1) < 0 && errno == EINTR) {
	}
	close(sync[0]);
	child_pid = pid;
	for (int s = 1; s < 65; s++)
		if (pending[s]) kill(pid, s);
	if (report_fd >= 0) {
		dprintf(report_fd, "%d %ld\n", (int)pid, ns_pid_of(pid));
		close(report_fd);
	}
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid) break;
		if (r < 0 && errno != EINTR) _exit(125);
	}
	if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
	if (WIFSIGNALED(st)) _exit(128 + WTERMSIG(st));
	_exit(125);
}

/* ---------------------------------------------------------------- netns
 * Run a network helper (slirp4netns) as the sandbox's host uid with access to the sandbox's
 * network namespace and to the user namespace that owns it (the parent of the sandbox's
 * innermost user namespace: bwrap nests one when it mounts devpts). In argv, the tokens
 * @USERNS@ and @NETNS@ are replaced by /proc/self/fd/N paths. */
static int mode_netns(int argc, char **argv) {
	long target = -1, uid = -1, gid = -1;
	char *cg[MAX_CG];
	int ncg = 0;
	int i = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) { i++; break; }
		if (i + 1 >= argc) fail("missing value for %s", argv[i]);
		if (!strcmp(argv[i], "--pid")) target = atol(argv[++i]);
		else if (!strcmp(argv[i], "--uid")) uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid")) gid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--cgroup") && ncg < MAX_CG) cg[ncg++] = argv[++i];
		else fail("unknown option %s", argv[i]);
	}
	if (i >= argc || target <= 0 || uid <= 0 || gid <= 0) fail("usage: netns --pid P --uid U --gid G -- cmd…");
	join_cgroups(cg, ncg);
	int fd_net = open_ns(target, "net", 1);
	int fd_user = open_ns(target, "user", 1);
	int fd_owner = ioctl(fd_net, NS_GET_USERNS);
	if (fd_owner < 0) fail("NS_GET_USERNS");
	(void)fd_user;
	/* keep these two across exec */
	fcntl(fd_net, F_SETFD, 0);
	fcntl(fd_owner, F_SETFD, 0);
	static char up[64], np[64];
	snprintf(up, sizeof up, "/proc/self/fd/%d", fd_owner);
	snprintf(np, sizeof np, "/proc/self/fd/%d", fd_net);
	char **cmd = argv + i;
	for (int k = 0; cmd[k]; k++) {
		if (!strcmp(cmd[k], "@USERNS@")) cmd[k] = up;
		else if (!strcmp(cmd[k], "@NETNS@")) cmd[k] = np;
	}
	/* Hosts (containers especially) may have /dev/net/tun as 0600 root. Give the helper a
	 * private /dev/net with a 0666 tun node instead of touching the host's. */
	if (unshare(CLONE_NEWNS) != 0) fail("unshare mount ns");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("make / private");
	if (mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=16k") != 0) fail("mount /dev/net");
	if (mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) != 0) fail("mknod tun");
	chmod("/dev/net/tun", 0666);
	if (setgroups(0, NULL) != 0) fail("setgroups");
	if (setresgid(gid, gid, gid) != 0) fail("setresgid");
	if (setresuid(uid, uid, uid) != 0) fail("setresuid");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execvp(cmd[0], cmd);
	fail("exec %s", cmd[0]);
	return 125;
}

/* ---------------------------------------------------------------- tcp
 * tcp --pid P --port N [--host 127.0.0.1|::1] [--uid U --gid G] [--report-fd F]
 * Previews: enter only the sandbox's network namespace (as host root, nothing else), connect to
 * host:port there (the sandbox's own loopback), report "ok" or "err <ERRNO> <message>" on the
 * report fd, drop to uid/gid (default 65534) with no capabilities, then relay stdin → socket and
 * socket → stdout with non-blocking buffers in both directions (no deadlock when a peer writes
 * before it reads). EOF on stdin half-closes the socket; EOF from the socket closes stdout; the
 * helper exits once both directions are done or on an error. */
struct tcp_dir {
	int from, to;
	char buf[65536];
	size_t off, len;
	int eof;  /* read side finished */
	int done; /* everything written and the write side closed */
};

static int tcp_pump(struct tcp_dir *d, int to_is_sock) {
	if (!d->eof && d->len == 0) {
		ssize_t r = read(d->from, d->buf, sizeof d->buf);
		if (r > 0) {
			d->off = 0;
			d->len = (size_t)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			d->eof = 1;
		}
	}
	while (d->len > 0) {
		ssize_t w = to_is_sock ? send(d->to, d->buf + d->off, d->len, MSG_NOSIGNAL) : write(d->to, d->buf + d->off, d->len);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR) break;
			return -1;
		}
		d->off += (size_t)w;
		d->len -= (size_t)w;
	}
	if (d->eof && d->len == 0 && !d->done) {
		d->done = 1;
		if (to_is_sock) shutdown(d->to, SHUT_WR);
		else close(d->to);
	}
	return 0;
}

static int mode_tcp(int argc, char **argv) {
	long target = -1, port = -1, uid = 65534, gid = 65534;
	int report_fd = -1;
	const char *host = "127.0.0.1";
	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc) fail("missing value for %s", argv[i]);
		if (!strcmp(argv[i], "--pid")) target = atol(argv[++i]);
		else if (!strcmp(argv[i], "--port")) port = atol(argv[++i]);
		else if (!strcmp(argv[i], "--host")) host = argv[++i];
		else if (!strcmp(argv[i], "--uid")) uid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gid")) gid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--report-fd")) report_fd = atoi(argv[++i]);
		else fail("unknown option %s", argv[i]);
	}
	if (target <= 0 || port <= 0 || port > 65535 || uid <= 0 || gid <= 0) fail("usage: tcp --pid P --port N [--host H] [--uid U --gid G] [--report-fd F]");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	int fd_net = open_ns(target, "net", 1);
	if (setns(fd_net, CLONE_NEWNET) != 0) fail("setns net");
	close(fd_net);
	int v6 = strchr(host, ':') != NULL;
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	memset(&a4, 0, sizeof a4);
	memset(&a6, 0, sizeof a6);
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) fail("socket");
	int rc;
	if (v6) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, host, &a6.sin6_addr) != 1) fail("bad host %s", host);
		rc = connect(s, (struct sockaddr *)&a6, sizeof a6);
	} else {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, host, &a4.sin_addr) != 1) fail("bad host %s", host);
		rc = connect(s, (struct sockaddr *)&a4, sizeof a4);
	}
	if (rc != 0) {
		int e = errno;
		const char *name = e == ECONNREFUSED ? "ECONNREFUSED" : e == ETIMEDOUT ? "ETIMEDOUT" : e == ENETUNREACH ? "ENETUNREACH" : "EIO";
		if (report_fd >= 0) dprintf(report_fd, "err %s %s\n", name, strerror(e));
		_exit(111);
	}
	if (setgroups(0, NULL) != 0) fail("setgroups");
	if (setresgid(gid, gid, gid) != 0) fail("setresgid");
	if (setresuid(uid, uid, uid) != 0) fail("setresuid");
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (report_fd >= 0) {
		dprintf(report_fd, "ok\n");
		close(report_fd);
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	static struct tcp_dir up, down;
	up.from = 0;
	up.to = s;
	down.from = s;
	down.to = 1;
	for (;;) {
		if (tcp_pump(&up, 1) != 0 || tcp_pump(&down, 0) != 0) _exit(0);
		if (up.done && down.done) _exit(0);
		struct pollfd p[4];
		int n = 0;
		/* read sides when their buffer is empty, write sides when they hold data */
		if (!up.eof && up.len == 0) p[n++] = (struct pollfd){0, POLLIN, 0};
		if (up.len > 0) p[n++] = (struct pollfd){s, POLLOUT, 0};
		if (!down.eof && down.len == 0) p[n++] = (struct pollfd){s, POLLIN, 0};
		if (down.len > 0) p[n++] = (struct pollfd){1, POLLOUT, 0};
		if (n == 0) _exit(0);
		if (poll(p, n, -1) < 0 && errno != EINTR) _exit(1);
		for (int k = 0; k < n; k++)
			if (p[k].revents & POLLNVAL) _exit(1);
	}
}

/* ---------------------------------------------------------------- hostname */
static int mode_hostname(int argc, char **argv) {
	if (argc != 3 || strcmp(argv[0], "--pid")) fail("usage: hostname --pid P NAME");
	int fd = open_ns(atol(argv[1]), "uts", 1);
	if (setns(fd, CLONE_NEWUTS) != 0) fail("setns uts");
	if (sethostname(argv[2], strlen(argv[2])) != 0) fail("sethostname");
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 2) fail("usage: hangar-envd init|launch|exec|hostname …");
	const char *m = argv[1];
	if (!strcmp(m, "init")) return mode_init();
	if (!strcmp(m, "launch")) return mode_launch(argc - 2, argv + 2);
	if (!strcmp(m, "exec")) return mode_exec(argc - 2, argv + 2);
	if (!strcmp(m, "netns")) return mode_netns(argc - 2, argv + 2);
	if (!strcmp(m, "hostname")) return mode_hostname(argc - 2, argv + 2);
	if (!strcmp(m, "tcp")) return mode_tcp(argc - 2, argv + 2);
	fail("unknown mode %s", m);
	return 125;
}
