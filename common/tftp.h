/*
 * tftp.h - the TFTP protocol as pure, bounded functions: request parsing
 * and option negotiation (RFC 1350, 2347, 2348, 2349, 7440), packet
 * building, and the sender's window state machine.  No I/O here: the
 * server (tftpd.c) owns the sockets, timers and files.
 *
 * Packets (all integers big-endian):
 *   RRQ/WRQ  op u16 | filename NUL | mode NUL | (option NUL value NUL)*
 *   DATA     op u16 | block u16 | data[0..blksize]
 *   ACK      op u16 | block u16
 *   ERROR    op u16 | code u16 | message NUL
 *   OACK     op u16 | (option NUL value NUL)*
 */
#ifndef BL_TFTP_H
#define BL_TFTP_H

#include <stddef.h>
#include <stdint.h>

enum {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6
};

/* ERROR codes (RFC 1350, RFC 2347). */
enum {
	TFTP_EUNDEF = 0,   /* not defined; see message */
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,   /* illegal TFTP operation */
	TFTP_EBADID = 5,   /* unknown transfer ID */
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8   /* option negotiation refused */
};

#define TFTP_BLKSIZE_DEF  512
#define TFTP_BLKSIZE_MIN  8
#define TFTP_BLKSIZE_MAX  65464
#define TFTP_WINDOW_MAX   65535
#define TFTP_TIMEOUT_MIN  1
#define TFTP_TIMEOUT_MAX  255
#define TFTP_PKT_MAX      (4 + TFTP_BLKSIZE_MAX) /* the largest datagram */
#define TFTP_FILE_MAX     255                    /* filename bytes */
#define TFTP_MSG_MAX      200                    /* ERROR message bytes */
#define TFTP_IPV4_OVERHEAD 32 /* IPv4 20 + UDP 8 + TFTP 4 */

/* A read or write request, as the client sent it. */
struct tftp_req {
	int op;                          /* TFTP_RRQ or TFTP_WRQ */
	char file[TFTP_FILE_MAX + 1];    /* NUL-terminated; no NUL inside */
	int netascii;                    /* mode "netascii" (else "octet") */
	/* Options asked for (case-insensitive names); values as parsed,
	 * out-of-range values are marked absent (the option is ignored,
	 * as RFC 2347 allows), never an error. */
	int has_blksize;
	uint32_t blksize;                /* 8..65464 */
	int has_tsize;
	uint64_t tsize;                  /* a read sends 0 */
	int has_timeout;
	uint32_t timeout;                /* seconds, 1..255 */
	int has_windowsize;
	uint32_t windowsize;             /* 1..65535 */
	int nunknown;                    /* options of unknown names */
};

/*
 * Parse a request datagram p[0..len), untrusted.  Returns 0, or
 * BL_EFORMAT with *code the TFTP error code to answer with (TFTP_EBADOP
 * for an opcode other than RRQ/WRQ or a malformed packet, TFTP_EUNDEF
 * for an unknown mode or a filename longer than TFTP_FILE_MAX) and why
 * saying what was wrong (printable, for the ERROR message and the log).
 * Mode "mail" is refused.  Duplicate options: the first counts.  Pure and
 * bounded: never reads beyond len.
 */
int tftp_parse_req(const uint8_t *p, size_t len, struct tftp_req *r,
        int *code, char *why, size_t whylen);

/*
 * What a client sends during a transfer.  Returns TFTP_ACK (*block set),
 * TFTP_ERROR (*code set; msg gets the printable message, cut to msglen -
 * 1, may be NULL), or BL_EFORMAT for anything else (a request on a
 * transfer port, garbage, a short packet).
 */
int tftp_parse_client(const uint8_t *p, size_t len, uint16_t *block,
        uint16_t *code, char *msg, size_t msglen);

/* The server's limits for negotiation. */
struct tftp_limits {
	uint32_t blksize_max;    /* operator cap; 0: TFTP_BLKSIZE_MAX */
	uint32_t windowsize_max; /* operator cap; 0 counts as 1 */
	uint32_t mtu;            /* path MTU of the interface; 0: unknown */
	uint32_t timeout;        /* seconds, when the client names none;
	                          * 0 counts as 1, above 255 as 255 */
};

/* The outcome of negotiation: what the transfer uses, and the OACK. */
struct tftp_neg {
	uint32_t blksize;    /* data bytes per block */
	uint32_t windowsize; /* blocks per window */
	uint32_t timeout;    /* seconds before the first retransmission */
	int oack;            /* 1: send an OACK first (some option accepted) */
	/* Options in the OACK; each only if the client asked for it. */
	int ack_blksize, ack_tsize, ack_timeout, ack_windowsize;
	uint64_t tsize;
};

/*
 * Negotiate a read of a file of size bytes.  blksize: the client's,
 * lowered to the operator cap and to mtu - TFTP_IPV4_OVERHEAD (when mtu
 * is known), never below TFTP_BLKSIZE_MIN.  windowsize: the client's,
 * lowered to the cap.  timeout: the client's if given.  tsize: the
 * file's size.  Options the client did not ask for are neither used nor
 * acknowledged (RFC 2347); without any accepted option there is no OACK
 * and the transfer is plain RFC 1350 (512-byte blocks, window 1).
 */
void tftp_negotiate(const struct tftp_req *r, const struct tftp_limits *l,
        uint64_t size, struct tftp_neg *n);

/* Build packets into buf[0..cap); return their length, or 0 if cap is
 * too small.  tftp_build_error cuts msg to TFTP_MSG_MAX bytes and
 * replaces non-printable bytes with '?'. */
size_t tftp_build_oack(const struct tftp_neg *n, uint8_t *buf, size_t cap);
size_t tftp_build_error(uint16_t code, const char *msg, uint8_t *buf,
        size_t cap);
/* The 4-byte DATA header for block (the wire's 16 bits of it). */
void tftp_data_hdr(uint64_t block, uint8_t hdr[4]);

/*
 * The sender of one read, as a state machine over 64-bit block numbers
 * (block 1 is the file's first; the wire carries block & 0xffff, so
 * counting rolls over from 65535 to 0 past 32 MiB at 512-byte blocks).
 * Block 0 is the OACK when there is one: the client's ACK 0 starts the
 * data.  The last block is the one shorter than blksize (0 bytes when the
 * size is a multiple of blksize).
 *
 * RFC 7440 windows: send blocks acked+1 .. acked+window; an ACK for a
 * block in that range moves acked there and opens the next window; an
 * ACK outside it (old, duplicate, or beyond what was sent) changes
 * nothing, so a duplicate ACK never causes a retransmission (the
 * Sorcerer's Apprentice bug of RFC 1350).  Only a timeout retransmits,
 * from acked+1, with the timeout doubled each time up to 8x.  The window
 * stays the negotiated one: the client ACKs after that many blocks (or on
 * its own timer), so a window shrunk after a loss would stall until a
 * timer every time.  An ACK for a block before sent (the client lost the
 * one after it) also starts the next window there, with one exception:
 * after such a rewind (or a timeout's), until an ACK covers all that was
 * sent, an ACK of just the block after acked only slides the window.
 * That is a client ACKing every block: rewinding on each of those would
 * send the whole flight again per block.  (An RFC 7440 client that lost
 * that block waits for the timer.)
 */
struct tftp_tx {
	uint64_t last;     /* the last block's number */
	uint64_t acked;    /* highest block acked (0: none; the OACK is 0) */
	uint64_t sent;     /* highest block sent */
	uint64_t maxsent;  /* highest block ever sent (sent before a
	                    * timeout rewound it): ACKs up to it count */
	int rewound;       /* 1: rewound (early ACK, timeout), and no ACK
	                    * since covered all that was sent */
	uint32_t window;   /* blocks per window: wmax (never shrunk) */
	uint32_t wmax;     /* negotiated window */
	uint32_t timeout_ms, base_ms;
	int oack;          /* 1: block 0 is the OACK, not yet acked */
	int tries;         /* retransmissions since the last progress */
	int done;          /* the last block is acked */
};

void tftp_tx_init(struct tftp_tx *t, const struct tftp_neg *n, uint64_t size);

/*
 * The next block to send now, or 0 if none (the window is full or all is
 * sent); sending it is the caller's part, then it calls tftp_tx_sent.
 * While the OACK is unacked, returns 0 (the caller sends the OACK).
 */
uint64_t tftp_tx_next(const struct tftp_tx *t);
void tftp_tx_sent(struct tftp_tx *t, uint64_t block);

/* How many blocks may go out now, from tftp_tx_next on (0 when it
 * returns 0): a caller sending several datagrams in one system call
 * builds that many at most. */
uint64_t tftp_tx_room(const struct tftp_tx *t);

/*
 * An ACK for wire block number b.  Maps it to the 64-bit block in
 * (acked, maxsent] (rollover-aware).  Returns 1 if it moved the window
 * (or acked the OACK), 0 if ignored.  Sets done when the last block is
 * acked.
 */
int tftp_tx_ack(struct tftp_tx *t, uint16_t b);

/*
 * The timer fired without progress: rewind sent to acked (so the window
 * goes out again, whole, or the OACK) and double the timeout.  Returns 0, or -1
 * when the caller should give up (more than max_tries in a row).
 */
int tftp_tx_timeout(struct tftp_tx *t, int max_tries);

#endif /* BL_TFTP_H */
