/*
 * blrelay: a userspace TCP relay for integration tests and benchmarks.
 *
 * The test kernels have tc tbf/htb but no netem, so WAN latency, byte
 * counting on the wire and a corrupting man in the middle are done here,
 * in one libevent loop.
 *
 *   blrelay --listen ADDR:PORT --connect ADDR:PORT [--delay-ms N]
 *           [--stats FILE] [--pidfile FILE] [--max-conns N]
 *           [--mitm --cert FILE --key FILE --ca FILE
 *            [--client-cert FILE --client-key FILE]
 *            [--corrupt manifest|chunk [--corrupt-count N]]]
 *
 * ADDR is numeric IPv4 (127.0.0.1:8443) or IPv6 in brackets ([::1]:8443).
 * The relay runs in the foreground, writes its PID to --pidfile once the
 * listener is open (written to FILE.tmp and renamed, so the file appears
 * complete; removed again at exit), and exits 0 on SIGTERM or SIGINT after
 * closing every connection and writing a final stats line.  Log lines go
 * to stderr, prefixed "blrelay: ".
 *
 * Plain mode: each accepted connection gets its own TCP connection to
 * --connect, and bytes pass both ways unchanged.  An upstream connect
 * failure closes the client connection.  When one side ends (EOF), what
 * is queued for the other side is written after its delay and then that
 * side's write half is shut down (shutdown(SHUT_WR)); the connection is
 * closed once both directions have ended, or at once on any error.
 *
 * --delay-ms N delays each direction by N ms one way, so the round trip
 * grows by 2N: bytes read at time t are written no earlier than t + N, in
 * order.  Each direction keeps a FIFO of (deadline, evbuffer) segments and
 * one timer; reads less than 1 ms apart share a segment (whose deadline is
 * that of its newest bytes, so nothing leaves early and nothing waits more
 * than 1 ms extra).  Memory is bounded: a side stops being read while more
 * than 16 MiB wait in that direction (queue plus output buffers) and is
 * read again below 8 MiB.  Data moves between evbuffers by reference
 * (evbuffer_add_buffer / evbuffer_remove_buffer), never byte by byte.
 * Bufferevents connect and write; plain mode reads the sockets itself,
 * up to 256 KiB a read, since libevent 2.1's bufferevents read at most
 * 4 KiB at a time (MITM mode leaves reading to the TLS bufferevents).
 *
 * --mitm: TLS (1.2 or later, ALPN http/1.1) is terminated on both sides.
 * Towards the client the relay presents --cert/--key and asks for, but
 * neither requires nor checks, a client certificate.  Towards upstream it
 * trusts only --ca and presents --client-cert/--client-key (no host name
 * check).  --delay-ms and --stats apply as in plain mode; the delay acts
 * on the decrypted bytes, so the two TLS handshakes are not delayed.  When
 * one side ends, the relay sends close_notify to the other once its queue
 * is written; the connection closes when both sides have ended and the
 * wire buffers are empty.
 *
 * --corrupt (MITM only) parses the plaintext as HTTP/1.1 with keep-alive:
 * requests (Content-Length or chunked bodies) to remember each one's
 * method and path in a FIFO, responses (status line, headers, body by
 * Content-Length, chunked, none for 1xx/204/304/HEAD, or until close) to
 * know where body bytes are.  All bytes pass unchanged except one:
 *   manifest: in a 200 response to GET /v1/manifests/..., the body byte at
 *             offset Content-Length/2 is XORed with 0x01 (responses
 *             without a Content-Length are left alone);
 *   chunk:    in a 200 response to POST /v1/chunks/batch, whose body is a
 *             stream of frames (44-byte header: id[32], status u8,
 *             encoding u8, reserved u16, size u32 BE, length u32 BE, then
 *             length data bytes), data byte length/2 of the first frame
 *             with status 0 and length > 0 is flipped; in a 200 response
 *             to GET /v1/chunks/<id>, the middle body byte is flipped (as
 *             for manifests).
 * --corrupt-count N limits this to the first N such responses in all
 * (default: no limit).  Each flip is logged.  A header line longer than
 * 16 KiB or malformed framing closes that connection.  Without --corrupt
 * the MITM relay does not parse HTTP at all.
 *
 * --stats FILE: one line is appended every second, on SIGUSR1, and at
 * exit (fflush after each):
 *   <unix_ms> <down_total> <up_total> <conns_total>
 * down_total: bytes written to client sockets (upstream -> client), up_total:
 * bytes written to upstream sockets (client -> upstream), both counted when
 * the kernel accepts them from the socket's output buffer, i.e. after the
 * delay, and both the TCP payload as it is on the wire: in MITM mode the
 * TLS records (handshakes, record overhead, alerts included) on the client
 * socket and the upstream socket respectively.  conns_total: connections
 * accepted and relayed since start (refused ones are not counted).
 *
 * Bounds: --max-conns (default 256) open connections, beyond which new
 * ones are closed at once; 16 KiB per HTTP line; 256 requests awaiting
 * responses per connection.  The relay connects to nothing but --connect.
 */

#include "relay.h"

void __attribute__((format(printf, 1, 2)))
logx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("blrelay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* strtonum(3) for glibc: *errstr is NULL on success. */
static long long
num(const char *s, long long min, long long max, const char **errstr)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0) {
		*errstr = "invalid";
		return 0;
	}
	if (v < min || v > max) {
		*errstr = v < min ? "too small" : "too large";
		return 0;
	}
	*errstr = NULL;
	return v;
}

void
addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[64];

	if (sa->sa_family == AF_INET6) {
		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else
		snprintf(buf, len, "?");
}

static void
stats_write(struct relay *r)
{
	struct timespec ts;

	if (r->stats == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(r->stats, "%lld %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	    r->down_total, r->up_total, r->conns_total);
	fflush(r->stats);
}

/*
 * Spend one corruption from the --corrupt-count budget; 0 when none is
 * left.
 */
int
corrupt_take(struct relay *r)
{
	if (r->corrupt_left == 0)
		return 0;
	if (r->corrupt_left > 0)
		r->corrupt_left--;
	return 1;
}

/* ---- relay setup ---------------------------------------------------- */

static void
stats_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	stats_write(arg);
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct relay *r = arg;

	(void)events;
	if (sig == SIGUSR1) {
		stats_write(r);
		return;
	}
	r->exit_sig = (int)sig;
	event_base_loopbreak(r->base);
}

/* Any client certificate, or none, is accepted: it is only asked for. */
static int
verify_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static void
tls_fail(const char *what, const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	logx("%s %s: %s", what, file, buf);
}

/* Both TLS contexts of --mitm; -1 after logging what failed. */
static int
tls_setup(struct relay *r, const char *cert, const char *key, const char *ca,
    const char *ccert, const char *ckey)
{
	static const unsigned char h11[] = "\x08http/1.1";
	static const unsigned char sid[] = "blrelay";
	SSL_CTX *s, *c;

	if ((s = r->srv_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (c = r->cli_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_fail("SSL_CTX_new", "");
		return -1;
	}
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);

	if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
		tls_fail("--cert", cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s) != 1) {
		tls_fail("--key", key);
		return -1;
	}
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER, verify_any);
	SSL_CTX_set_session_id_context(s, sid, sizeof(sid) - 1);
	SSL_CTX_set_alpn_select_cb(s, alpn_select, NULL);

	if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
		tls_fail("--ca", ca);
		return -1;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	if (ccert != NULL &&
	    SSL_CTX_use_certificate_chain_file(c, ccert) != 1) {
		tls_fail("--client-cert", ccert);
		return -1;
	}
	if (ckey != NULL &&
	    (SSL_CTX_use_PrivateKey_file(c, ckey, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)) {
		tls_fail("--client-key", ckey);
		return -1;
	}
	/* SSL_CTX_set_alpn_protos returns 0 on success. */
	if (SSL_CTX_set_alpn_protos(c, h11, sizeof(h11) - 1) != 0) {
		tls_fail("ALPN", "");
		return -1;
	}
	return 0;
}

/* PID into path.tmp, renamed to path: readers never see it half done. */
static int
pidfile_write(const char *path)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: blrelay --listen ADDR:PORT --connect ADDR:PORT "
	    "[--delay-ms N] [--stats FILE]\n"
	    "               [--pidfile FILE] [--max-conns N]\n"
	    "               [--mitm --cert FILE --key FILE --ca FILE "
	    "[--client-cert FILE --client-key FILE]\n"
	    "                [--corrupt manifest|chunk "
	    "[--corrupt-count N]]]\n");
	exit(1);
}

enum {
	OPT_LISTEN = 256, OPT_CONNECT, OPT_DELAY, OPT_STATS, OPT_PIDFILE,
	OPT_MAXCONNS, OPT_MITM, OPT_CERT, OPT_KEY, OPT_CA, OPT_CCERT,
	OPT_CKEY, OPT_CORRUPT, OPT_CCOUNT
};

static const struct option longopts[] = {
	{ "listen",		required_argument, NULL, OPT_LISTEN },
	{ "connect",		required_argument, NULL, OPT_CONNECT },
	{ "delay-ms",		required_argument, NULL, OPT_DELAY },
	{ "stats",		required_argument, NULL, OPT_STATS },
	{ "pidfile",		required_argument, NULL, OPT_PIDFILE },
	{ "max-conns",		required_argument, NULL, OPT_MAXCONNS },
	{ "mitm",		no_argument,	   NULL, OPT_MITM },
	{ "cert",		required_argument, NULL, OPT_CERT },
	{ "key",		required_argument, NULL, OPT_KEY },
	{ "ca",			required_argument, NULL, OPT_CA },
	{ "client-cert",	required_argument, NULL, OPT_CCERT },
	{ "client-key",		required_argument, NULL, OPT_CKEY },
	{ "corrupt",		required_argument, NULL, OPT_CORRUPT },
	{ "corrupt-count",	required_argument, NULL, OPT_CCOUNT },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL,			0,		   NULL, 0 }
};

int
main(int argc, char *argv[])
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGUSR1 };
	static const struct timeval one_sec = { 1, 0 };
	struct relay r;
	struct sockaddr_storage la;
	struct conn *c;
	const char *listen_s = NULL, *connect_s = NULL, *stats_s = NULL;
	const char *pidfile = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	const char *ccert = NULL, *ckey = NULL, *errstr;
	char lname[64];
	int ch, i, li, lalen = sizeof(la);

	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.conns);
	r.max_conns = CONNS_DEFAULT;
	r.corrupt_left = -1;

	while ((li = -1, ch = getopt_long(argc, argv, "h", longopts,
	    &li)) != -1) {
		errstr = NULL;
		switch (ch) {
		case OPT_LISTEN:
			listen_s = optarg;
			break;
		case OPT_CONNECT:
			connect_s = optarg;
			break;
		case OPT_DELAY:
			r.delay_us = 1000 *
			    (uint64_t)num(optarg, 0, 600000, &errstr);
			break;
		case OPT_STATS:
			stats_s = optarg;
			break;
		case OPT_PIDFILE:
			pidfile = optarg;
			break;
		case OPT_MAXCONNS:
			r.max_conns = (unsigned)num(optarg, 1, 65536, &errstr);
			break;
		case OPT_MITM:
			r.mitm = 1;
			break;
		case OPT_CERT:
			cert = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_CA:
			ca = optarg;
			break;
		case OPT_CCERT:
			ccert = optarg;
			break;
		case OPT_CKEY:
			ckey = optarg;
			break;
		case OPT_CORRUPT:
			if (strcmp(optarg, "manifest") == 0)
				r.corrupt = CORRUPT_MANIFEST;
			else if (strcmp(optarg, "chunk") == 0)
				r.corrupt = CORRUPT_CHUNK;
			else
				errstr = "not manifest or chunk";
			break;
		case OPT_CCOUNT:
			r.corrupt_left = num(optarg, 0, LLONG_MAX, &errstr);
			break;
		default:
			usage();
		}
		if (errstr != NULL) {
			logx("--%s %s: %s", li >= 0 ? longopts[li].name : "?",
			    optarg, errstr);
			usage();
		}
	}
	if (optind != argc || listen_s == NULL || connect_s == NULL)
		usage();
	if (r.mitm && (cert == NULL || key == NULL || ca == NULL ||
	    (ccert == NULL) != (ckey == NULL))) {
		logx("--mitm needs --cert, --key, --ca, and --client-cert "
		    "with --client-key");
		usage();
	}
	if (!r.mitm && (r.corrupt != CORRUPT_NONE || cert != NULL ||
	    key != NULL || ca != NULL || ccert != NULL || ckey != NULL)) {
		logx("--corrupt and the certificate options need --mitm");
		usage();
	}
	if (evutil_parse_sockaddr_port(listen_s, (struct sockaddr *)&la,
	    &lalen) == -1) {
		logx("--listen %s: not ADDR:PORT", listen_s);
		usage();
	}
	r.up_addrlen = sizeof(r.up_addr);
	if (evutil_parse_sockaddr_port(connect_s,
	    (struct sockaddr *)&r.up_addr, &r.up_addrlen) == -1) {
		logx("--connect %s: not ADDR:PORT", connect_s);
		usage();
	}
	addr_str((struct sockaddr *)&r.up_addr, r.up_name, sizeof(r.up_name));
	addr_str((struct sockaddr *)&la, lname, sizeof(lname));

	signal(SIGPIPE, SIG_IGN);
	if ((r.base = event_base_new()) == NULL) {
		logx("event_base_new failed");
		return 1;
	}
	if (r.mitm && tls_setup(&r, cert, key, ca, ccert, ckey) == -1)
		return 1;
	if (stats_s != NULL && (r.stats = fopen(stats_s, "a")) == NULL) {
		logx("--stats %s: %s", stats_s, strerror(errno));
		return 1;
	}
	r.listener = evconnlistener_new_bind(r.base, accept_cb, &r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    128, (struct sockaddr *)&la, lalen);
	if (r.listener == NULL) {
		logx("listen %s: %s", lname,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return 1;
	}
	evconnlistener_set_error_cb(r.listener, accept_error_cb);
	for (i = 0; i < 3; i++) {
		r.sig_ev[i] = evsignal_new(r.base, sigs[i], signal_cb, &r);
		if (r.sig_ev[i] == NULL || evsignal_add(r.sig_ev[i], NULL)) {
			logx("signal setup failed");
			return 1;
		}
	}
	if (r.stats != NULL) {
		r.stats_ev = event_new(r.base, -1, EV_PERSIST, stats_cb, &r);
		if (r.stats_ev == NULL || event_add(r.stats_ev, &one_sec)) {
			logx("stats timer setup failed");
			return 1;
		}
	}
	if (pidfile != NULL && pidfile_write(pidfile) == -1) {
		logx("--pidfile %s: %s", pidfile, strerror(errno));
		return 1;
	}
	logx("listening on %s, relaying to %s%s, delay %" PRIu64 " ms",
	    lname, r.up_name, r.mitm ? " (TLS man in the middle)" : "",
	    r.delay_us / 1000);

	event_base_dispatch(r.base);

	while ((c = TAILQ_FIRST(&r.conns)) != NULL)
		conn_free(c);
	evconnlistener_free(r.listener);
	stats_write(&r);
	logx("exiting on signal %d: %" PRIu64 " connections, %" PRIu64
	    " bytes down, %" PRIu64 " bytes up", r.exit_sig, r.conns_total,
	    r.down_total, r.up_total);
	if (pidfile != NULL)
		unlink(pidfile);
	if (r.stats_ev != NULL)
		event_free(r.stats_ev);
	for (i = 0; i < 3; i++)
		event_free(r.sig_ev[i]);
	if (r.stats != NULL)
		fclose(r.stats);
	SSL_CTX_free(r.srv_ctx);
	SSL_CTX_free(r.cli_ctx);
	event_base_free(r.base);
	return 0;
}
