/*
 * test_peek.c - the ClientHello and HTTP head parsers, fed whole and in
 * every kind of split, and the replies sent when a peek blocks.
 *
 * The hellos below are the bytes real clients sent, captured once on a
 * loopback-only network namespace (unshare -n) by a listener that saved
 * what it read: Python's ssl module through a MemoryBIO (no socket at all),
 * curl 7.88.1 and openssl s_client 3.0, e.g.
 *   ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.set_alpn_protocols(
 *   ['h2', 'http/1.1']); o = ssl.MemoryBIO(); s = ctx.wrap_bio(ssl.MemoryBIO(),
 *   o, server_hostname='www.example.com'); s.do_handshake() -> SSLWantReadError;
 *   o.read() is the hello.
 * OpenSSL 3.0 has no post-quantum key share, so the large hellos are built
 * here from curl's: an X25519MLKEM768-sized key share and a padding
 * extension of 10 KiB or 20 KiB, as browsers now send.
 *
 * PEEK_CORPUS=DIR writes every case to DIR/fuzz_tls_hello and
 * DIR/fuzz_http_head (the fuzzers' seed corpora).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "peek/peek.h"
#include "t.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Python ssl, TLS 1.3, SNI www.example.com, ALPN h2 http/1.1 (517 bytes) */
static const uint8_t hello_py13[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xcb,
	0x8c, 0xa1, 0x94, 0x8b, 0x28, 0x3e, 0xfc, 0xdf, 0x0f, 0x40, 0x3f, 0x8b,
	0x7e, 0x23, 0x85, 0x64, 0xb5, 0x16, 0xfd, 0xf5, 0x47, 0x4f, 0x8b, 0x0b,
	0xa1, 0xeb, 0xdf, 0x1a, 0xc3, 0xbe, 0xc0, 0x20, 0x6d, 0xf8, 0x05, 0x77,
	0x2c, 0x82, 0x8d, 0x8c, 0xb8, 0xcc, 0x54, 0x40, 0x1b, 0xe4, 0x9b, 0x7c,
	0x79, 0xbb, 0x92, 0xb6, 0xba, 0xfe, 0x22, 0x68, 0x85, 0xf9, 0xa3, 0x2e,
	0xe7, 0xc3, 0x7f, 0x28, 0x00, 0x24, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8,
	0xc0, 0x24, 0xc0, 0x28, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e,
	0x00, 0x6b, 0x00, 0x67, 0x00, 0xff, 0x01, 0x00, 0x01, 0x8f, 0x00, 0x00,
	0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x77, 0x77, 0x77, 0x2e, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x0b,
	0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00,
	0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00,
	0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74,
	0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17,
	0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03,
	0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b,
	0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
	0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
	0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, 0x00, 0x2d, 0x00,
	0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0xd5, 0x9c, 0x73, 0x7b, 0x4a, 0x3b, 0x06, 0xfe, 0xed, 0xa2, 0xcc,
	0xfe, 0x90, 0xd3, 0x84, 0xc7, 0x48, 0xd0, 0x25, 0x39, 0x3a, 0x68, 0xa3,
	0x2c, 0x67, 0xfa, 0x70, 0x52, 0xca, 0xcb, 0x7d, 0x02, 0x00, 0x15, 0x00,
	0xcc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/* Python ssl, TLS 1.2 only, SNI api.example.com (186 bytes) */
static const uint8_t hello_py12[] = {
	0x16, 0x03, 0x01, 0x00, 0xb5, 0x01, 0x00, 0x00, 0xb1, 0x03, 0x03, 0x5b,
	0xcd, 0xef, 0xfe, 0x63, 0xfe, 0x36, 0xea, 0x3c, 0xcc, 0x73, 0xec, 0x1f,
	0xe1, 0xa4, 0xb5, 0x84, 0x2c, 0xa1, 0x67, 0x56, 0x33, 0x1b, 0x6b, 0xc7,
	0x0f, 0xd0, 0x91, 0xe6, 0xa1, 0xc0, 0x3b, 0x00, 0x00, 0x1e, 0xc0, 0x2c,
	0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x24,
	0xc0, 0x28, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e, 0x00, 0x6b,
	0x00, 0x67, 0x00, 0xff, 0x01, 0x00, 0x00, 0x6a, 0x00, 0x00, 0x00, 0x14,
	0x00, 0x12, 0x00, 0x00, 0x0f, 0x61, 0x70, 0x69, 0x2e, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x0b, 0x00, 0x04,
	0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d,
	0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x23, 0x00, 0x00,
	0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a,
	0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08,
	0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06,
	0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02,
	0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};

/* curl 7.88 (OpenSSL 3.0), TLS 1.3, SNI files.pythonhosted.org, ALPN (517 bytes) */
static const uint8_t hello_curl[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x2a,
	0x7e, 0x8d, 0xc2, 0xf6, 0xf0, 0xf4, 0xe7, 0x16, 0xb8, 0x1a, 0xb7, 0x8d,
	0xc0, 0xa3, 0x93, 0xd6, 0x3a, 0x68, 0x85, 0x87, 0xed, 0xc4, 0x03, 0xd1,
	0x22, 0x74, 0x02, 0x03, 0xa2, 0x4f, 0xe4, 0x20, 0xcf, 0xfa, 0x59, 0xc9,
	0x2b, 0x0e, 0x49, 0xc9, 0x41, 0x47, 0x9c, 0xc2, 0x34, 0xe8, 0x18, 0x1a,
	0x56, 0xf6, 0xf5, 0x69, 0x84, 0xb3, 0x40, 0x89, 0x42, 0x9c, 0x0e, 0xdb,
	0x38, 0x05, 0xb3, 0x9e, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75,
	0x00, 0x00, 0x00, 0x1b, 0x00, 0x19, 0x00, 0x00, 0x16, 0x66, 0x69, 0x6c,
	0x65, 0x73, 0x2e, 0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x68, 0x6f, 0x73,
	0x74, 0x65, 0x64, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00, 0x04, 0x03,
	0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00,
	0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01,
	0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02,
	0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00,
	0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x31, 0x00, 0x00, 0x00,
	0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08,
	0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08,
	0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03,
	0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00,
	0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d,
	0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d,
	0x00, 0x20, 0x37, 0x60, 0x00, 0xec, 0xfd, 0x24, 0xc9, 0xfd, 0x0a, 0xd6,
	0x9f, 0x43, 0x04, 0x7b, 0x90, 0x95, 0x14, 0xb0, 0xdc, 0xa8, 0xa2, 0xa6,
	0x82, 0xf2, 0x20, 0x44, 0x8f, 0x73, 0xa4, 0x23, 0x92, 0x1a, 0x00, 0x15,
	0x00, 0xa7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/* curl --tls-max 1.2, SNI github.com, ALPN (221 bytes) */
static const uint8_t hello_curl12[] = {
	0x16, 0x03, 0x01, 0x00, 0xd8, 0x01, 0x00, 0x00, 0xd4, 0x03, 0x03, 0x3a,
	0x59, 0x78, 0xed, 0xb2, 0x08, 0xdd, 0xa6, 0xf8, 0x52, 0x2f, 0x29, 0x32,
	0x5c, 0xc4, 0xdb, 0x68, 0x7c, 0x5c, 0x12, 0x81, 0x23, 0x46, 0x2a, 0xc2,
	0xcd, 0xa1, 0xb8, 0x10, 0x1e, 0xb9, 0xef, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x73, 0x00, 0x00,
	0x00, 0x0f, 0x00, 0x0d, 0x00, 0x00, 0x0a, 0x67, 0x69, 0x74, 0x68, 0x75,
	0x62, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01,
	0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00,
	0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02,
	0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00,
	0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00,
	0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08,
	0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04,
	0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04,
	0x02, 0x05, 0x02, 0x06, 0x02,
};

/* openssl s_client -tls1_3 -alpn http/1.1, SNI registry.npmjs.org (267 bytes) */
static const uint8_t hello_sclient[] = {
	0x16, 0x03, 0x01, 0x01, 0x06, 0x01, 0x00, 0x01, 0x02, 0x03, 0x03, 0x54,
	0x2b, 0x07, 0x6e, 0x1a, 0xa8, 0x65, 0xb8, 0xec, 0xd9, 0xfa, 0x05, 0x80,
	0xa3, 0x49, 0xb6, 0x27, 0x0b, 0x79, 0x24, 0x32, 0x11, 0x2d, 0xe9, 0x88,
	0x2e, 0x27, 0x91, 0x9a, 0xc7, 0x4a, 0x72, 0x20, 0xef, 0x3b, 0xa5, 0xaa,
	0x3c, 0x4b, 0x38, 0x78, 0x18, 0xf1, 0x42, 0xe9, 0x5f, 0x38, 0xb0, 0xd8,
	0xec, 0x3a, 0x6a, 0xeb, 0x87, 0xa6, 0x89, 0x1c, 0x05, 0xa3, 0x70, 0x07,
	0xca, 0xca, 0x88, 0xca, 0x00, 0x08, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0x00, 0xff, 0x01, 0x00, 0x00, 0xb1, 0x00, 0x00, 0x00, 0x17, 0x00, 0x15,
	0x00, 0x00, 0x12, 0x72, 0x65, 0x67, 0x69, 0x73, 0x74, 0x72, 0x79, 0x2e,
	0x6e, 0x70, 0x6d, 0x6a, 0x73, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00,
	0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00,
	0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01,
	0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x0b, 0x00, 0x09, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31,
	0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x1e, 0x00, 0x1c, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x00, 0x2b, 0x00, 0x03,
	0x02, 0x03, 0x04, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00,
	0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x4f, 0xec, 0x33, 0xb0, 0x31,
	0x32, 0xfe, 0x2f, 0xb8, 0x4b, 0x11, 0x34, 0x36, 0xd9, 0x09, 0x41, 0x64,
	0xa7, 0x3d, 0xdd, 0x7c, 0xa4, 0x06, 0x9c, 0xa0, 0x0c, 0x4a, 0xdd, 0x6e,
	0x2e, 0x5a, 0x4e,
};

/* Python ssl, TLS 1.3, no server_hostname: no SNI (517 bytes) */
static const uint8_t hello_pynosni[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x45,
	0x0b, 0x10, 0x7a, 0xb0, 0x1a, 0xec, 0xf3, 0xc6, 0x05, 0x39, 0x21, 0x5d,
	0xea, 0xe5, 0x43, 0xf5, 0x52, 0xd0, 0x77, 0xc5, 0x8b, 0x3d, 0x9c, 0xde,
	0x98, 0x15, 0x2f, 0x0d, 0x4c, 0x6a, 0x88, 0x20, 0xe3, 0x52, 0xb4, 0x54,
	0x62, 0x12, 0x74, 0x34, 0xe6, 0x1a, 0xb9, 0x34, 0x5b, 0x2c, 0x34, 0x45,
	0x99, 0x79, 0x9f, 0xed, 0x4c, 0x2a, 0x32, 0xe7, 0x29, 0x75, 0x9e, 0x31,
	0xc8, 0x1c, 0x45, 0x1f, 0x00, 0x24, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8,
	0xc0, 0x24, 0xc0, 0x28, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e,
	0x00, 0x6b, 0x00, 0x67, 0x00, 0xff, 0x01, 0x00, 0x01, 0x8f, 0x00, 0x0b,
	0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00,
	0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00,
	0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a,
	0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08,
	0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06,
	0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02,
	0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x05, 0x04, 0x03,
	0x04, 0x03, 0x03, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00,
	0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x2f, 0xb1, 0x82, 0xba, 0x4f,
	0x06, 0x9e, 0x20, 0x4c, 0x9d, 0xd0, 0x21, 0x63, 0x78, 0xa3, 0x25, 0xc5,
	0x68, 0x95, 0x7b, 0x52, 0xfa, 0x0a, 0xe1, 0xf8, 0x58, 0x7b, 0xd5, 0xc0,
	0xaf, 0x02, 0x06, 0x00, 0x15, 0x00, 0xf6, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/* ---- building hellos ---- */

struct buf {
	size_t	 n;
	uint8_t	 b[200000];
};

static struct buf E, M;		/* scratch: extension block, message */

static void
put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void
put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

/* Reserves a 16-bit length; close16() fills in what was put since. */
static size_t
open16(struct buf *b)
{
	b->n += 2;
	return b->n - 2;
}

static void
close16(struct buf *b, size_t at)
{
	size_t	 v = b->n - at - 2;

	b->b[at] = (uint8_t)(v >> 8);
	b->b[at + 1] = (uint8_t)v;
}

static void
ext_raw(struct buf *e, unsigned type, const void *body, size_t n)
{
	put16(e, type);
	put16(e, (unsigned)n);
	put(e, body, n);
}

/* server_name with one host_name entry. */
static void
ext_sni(struct buf *e, const char *name, size_t n)
{
	size_t	 x, l;

	put16(e, 0);
	x = open16(e);
	l = open16(e);
	put8(e, 0);
	put16(e, (unsigned)n);
	put(e, name, n);
	close16(e, l);
	close16(e, x);
}

static void
ext_alpn(struct buf *e)
{
	ext_raw(e, 16, "\x00\x0c\x02h2\x08http/1.1", 14);
}

/*
 * A ClientHello message: version, random, a 32-byte session id, two
 * suites, null compression, and the extension block e (NULL: none).
 */
static void
msg_hello(struct buf *m, unsigned version, const struct buf *e)
{
	size_t	 len;

	m->n = 0;
	put8(m, 1);
	m->n += 3;
	put16(m, version);
	memset(m->b + m->n, 0x5a, 32);
	m->n += 32;
	put8(m, 32);
	memset(m->b + m->n, 0xa5, 32);
	m->n += 32;
	put(m, "\x00\x04\x13\x01\xc0\x2f", 6);
	put(m, "\x01\x00", 2);
	if (e != NULL) {
		put16(m, (unsigned)e->n);
		put(m, e->b, e->n);
	}
	len = m->n - 4;
	m->b[1] = (uint8_t)(len >> 16);
	m->b[2] = (uint8_t)(len >> 8);
	m->b[3] = (uint8_t)len;
}

/* Wraps msg in handshake records of `rec` bytes (the last may be shorter). */
static void
records(struct buf *out, const uint8_t *msg, size_t n, size_t rec)
{
	size_t	 off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < rec ? n - off : rec;
		put8(out, 22);
		put16(out, 0x0301);
		put16(out, (unsigned)k);
		put(out, msg + off, k);
	}
}

/* The usual hello around E, in one record. */
static void
std_hello(struct buf *out)
{
	msg_hello(&M, 0x0303, &E);
	records(out, M.b, M.n, 16384);
}

/*
 * curl's hello with its key share replaced by an X25519MLKEM768 one (1216
 * bytes) plus X25519, and `pad` bytes of padding, in records of `rec`.
 */
static void
big_hello(struct buf *out, size_t pad, size_t rec)
{
	const uint8_t	*m = hello_curl + 5;
	size_t		 n = sizeof(hello_curl) - 5, p, el, t, l, x;

	p = 4 + 2 + 32;
	p += 1 + m[p];
	p += 2 + ((size_t)m[p] << 8 | m[p + 1]);
	p += 1 + m[p];
	M.n = 0;
	put(&M, m, p);
	x = open16(&M);
	for (el = p + 2; el < n; el += 4 + l) {
		t = (size_t)m[el] << 8 | m[el + 1];
		l = (size_t)m[el + 2] << 8 | m[el + 3];
		if (t != 21 && t != 51)
			put(&M, m + el, 4 + l);
	}
	put16(&M, 51);
	put16(&M, 2 + 4 + 1216 + 4 + 32);
	put16(&M, 4 + 1216 + 4 + 32);
	put16(&M, 0x11ec);
	put16(&M, 1216);
	memset(M.b + M.n, 0x42, 1216);
	M.n += 1216;
	put16(&M, 0x001d);
	put16(&M, 32);
	memset(M.b + M.n, 0x24, 32);
	M.n += 32;
	put16(&M, 21);
	put16(&M, (unsigned)pad);
	memset(M.b + M.n, 0, pad);
	M.n += pad;
	close16(&M, x);
	l = M.n - 4;
	M.b[1] = (uint8_t)(l >> 16);
	M.b[2] = (uint8_t)(l >> 8);
	M.b[3] = (uint8_t)l;
	records(out, M.b, M.n, rec);
}

/* A name of n bytes: labels of 63 separated by dots, then `last`. */
static size_t
long_name(char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		s[i] = (i % 64 == 63) ? '.' : 'a' + (char)(i % 26);
	if (n > 0 && s[n - 1] == '.')
		s[n - 1] = 'z';
	return n;
}

#define GEN(fn)	static void fn(struct buf *out)
#define REAL(h)	put(out, hello_##h, sizeof(hello_##h))
#define RERECORD(h, r) records(out, hello_##h + 5, sizeof(hello_##h) - 5, r)

GEN(g_py13) { REAL(py13); }
GEN(g_py12) { REAL(py12); }
GEN(g_curl) { REAL(curl); }
GEN(g_curl12) { REAL(curl12); }
GEN(g_sclient) { REAL(sclient); }
GEN(g_pynosni) { REAL(pynosni); }
GEN(g_py13_rec1) { RERECORD(py13, 1); }
GEN(g_py12_rec2) { RERECORD(py12, 2); }
GEN(g_curl_rec7) { RERECORD(curl, 7); }
GEN(g_sclient_rec100) { RERECORD(sclient, 100); }
GEN(g_pq10k) { big_hello(out, 10240, 16384); }
GEN(g_pq20k) { big_hello(out, 20480, 16384); }
GEN(g_pq16k_rec1) { big_hello(out, 15000, 1); }
GEN(g_pq20k_rec1000) { big_hello(out, 20480, 1000); }

GEN(g_then_data)
{
	REAL(py13);
	put(out, "\x17\x03\x03\x00\x05hello", 10);
}

GEN(g_noext)
{
	msg_hello(&M, 0x0301, NULL);
	records(out, M.b, M.n, 16384);
}

GEN(g_emptyexts)
{
	E.n = 0;
	std_hello(out);
}

GEN(g_tls10)
{
	E.n = 0;
	ext_sni(&E, "old.example.org", 15);
	msg_hello(&M, 0x0301, &E);
	records(out, M.b, M.n, 16384);
}

GEN(g_trailing_dot)
{
	E.n = 0;
	ext_sni(&E, "Example.COM.", 12);
	std_hello(out);
}

GEN(g_underscore)
{
	E.n = 0;
	ext_raw(&E, 0x0a0a, "", 0);	/* GREASE */
	ext_sni(&E, "_acme-challenge.a-b.example", 27);
	ext_alpn(&E);
	ext_raw(&E, 0x1a1a, "\x00", 1);
	std_hello(out);
}

GEN(g_name253)
{
	char	 s[260];

	E.n = 0;
	ext_sni(&E, s, long_name(s, 253));
	std_hello(out);
}

GEN(g_name253dot)
{
	char	 s[260];

	long_name(s, 253);
	s[253] = '.';
	E.n = 0;
	ext_sni(&E, s, 254);
	std_hello(out);
}

GEN(g_ech)
{
	E.n = 0;
	ext_sni(&E, "public.example.net", 18);
	ext_raw(&E, 0xfe0d, "\x00\x00\x01\x00\x01\x01", 6);
	std_hello(out);
}

GEN(g_128exts)
{
	unsigned i;

	E.n = 0;
	ext_sni(&E, "many.example", 12);
	for (i = 1; i < PEEK_TLS_EXTS_MAX; i++)
		ext_raw(&E, 1000 + i, "", 0);
	std_hello(out);
}

GEN(g_sni_last)
{
	E.n = 0;
	ext_alpn(&E);
	ext_raw(&E, 43, "\x04\x03\x04\x03\x03", 5);
	ext_sni(&E, "last.example", 12);
	msg_hello(&M, 0x0303, &E);
	/* the name straddles the two records */
	records(out, M.b, M.n, M.n - 6);
}

static const struct tgood {
	const char	*desc;
	void		(*gen)(struct buf *);
	const char	*name;
	uint16_t	 version;
	unsigned	 flags;
	unsigned	 nalpn;
	size_t		 trail;		/* bytes after the hello's records */
} tgood[] = {
	{ "python TLS 1.3", g_py13, "www.example.com", 0x0303,
	    TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
	{ "python TLS 1.2", g_py12, "api.example.com", 0x0303, 0, 0, 0 },
	{ "curl TLS 1.3", g_curl, "files.pythonhosted.org", 0x0303,
	    TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
	{ "curl TLS 1.2", g_curl12, "github.com", 0x0303, TLS_HELLO_ALPN, 2,
	    0 },
	{ "openssl s_client", g_sclient, "registry.npmjs.org", 0x0303,
	    TLS_HELLO_ALPN | TLS_HELLO_SV, 1, 0 },
	{ "python, no SNI", g_pynosni, "", 0x0303, TLS_HELLO_SV, 0, 0 },
	{ "python TLS 1.3 in 1-byte records", g_py13_rec1, "www.example.com",
	    0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
	{ "python TLS 1.2 in 2-byte records", g_py12_rec2, "api.example.com",
	    0x0303, 0, 0, 0 },
	{ "curl in 7-byte records", g_curl_rec7, "files.pythonhosted.org",
	    0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
	{ "s_client in 100-byte records", g_sclient_rec100,
	    "registry.npmjs.org", 0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 1,
	    0 },
	{ "post-quantum key share, 10 KiB padding", g_pq10k,
	    "files.pythonhosted.org", 0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV,
	    2, 0 },
	{ "22 KiB hello over two records", g_pq20k, "files.pythonhosted.org",
	    0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
	{ "16 KiB hello in 1-byte records", g_pq16k_rec1,
	    "files.pythonhosted.org", 0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV,
	    2, 0 },
	{ "22 KiB hello in 1000-byte records", g_pq20k_rec1000,
	    "files.pythonhosted.org", 0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV,
	    2, 0 },
	{ "application data after the hello", g_then_data, "www.example.com",
	    0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 10 },
	{ "no extensions block", g_noext, "", 0x0301, 0, 0, 0 },
	{ "empty extensions block", g_emptyexts, "", 0x0303, 0, 0, 0 },
	{ "TLS 1.0 hello", g_tls10, "old.example.org", 0x0301, 0, 0, 0 },
	{ "trailing dot removed, case kept", g_trailing_dot, "Example.COM",
	    0x0303, 0, 0, 0 },
	{ "underscore, GREASE extensions", g_underscore,
	    "_acme-challenge.a-b.example", 0x0303, TLS_HELLO_ALPN, 2, 0 },
	{ "253-byte name", g_name253, NULL, 0x0303, 0, 0, 0 },
	{ "253-byte name and a trailing dot", g_name253dot, NULL, 0x0303, 0,
	    0, 0 },
	{ "encrypted_client_hello flagged", g_ech, "public.example.net",
	    0x0303, TLS_HELLO_ECH, 0, 0 },
	{ "128 extensions", g_128exts, "many.example", 0x0303, 0, 0, 0 },
	{ "server_name last, across records", g_sni_last, "last.example",
	    0x0303, TLS_HELLO_ALPN | TLS_HELLO_SV, 2, 0 },
};

/* Sets the 24-bit handshake length of the message in M. */
static void
msg_len(size_t len)
{
	M.b[1] = (uint8_t)(len >> 16);
	M.b[2] = (uint8_t)(len >> 8);
	M.b[3] = (uint8_t)len;
}

/* Offset in M of the extensions length (after the fixed fields). */
#define EXTS_AT	(4 + 2 + 32 + 1 + 32 + 6 + 2)

GEN(b_16mib) { put(out, "\x16\x03\x01\x40\x00\x01\xff\xff\xff", 9); }
GEN(b_64k1) { put(out, "\x16\x03\x01\x40\x00\x01\x01\x00\x01", 9); }
GEN(b_rec16k1) { put(out, "\x16\x03\x01\x40\x01", 5); }
GEN(b_alert_first) { put(out, "\x15\x03\x01\x00\x02\x02\x28", 7); REAL(py13); }
GEN(b_ccs_first) { put(out, "\x14\x03\x03\x00\x01\x01", 6); REAL(py13); }
GEN(b_appdata_first) { put(out, "\x17\x03\x03\x00\x01\x00", 6); }

GEN(b_appdata_middle)
{
	RERECORD(py12, 100);
	out->b[105] = 0x17;
}

GEN(b_empty_rec_first)
{
	put(out, "\x16\x03\x01\x00\x00", 5);
	REAL(py13);
}

GEN(b_empty_rec_middle)
{
	put(out, hello_py12, 50);
	out->b[3] = 0;
	out->b[4] = 45;
	put(out, "\x16\x03\x01\x00\x00", 5);
	records(out, hello_py12 + 50, sizeof(hello_py12) - 50, 16384);
}

GEN(b_server_hello)
{
	REAL(py12);
	out->b[5] = 2;
}

GEN(b_rec_ssl3) { REAL(py12); out->b[2] = 0; }
GEN(b_rec_tls13) { REAL(py12); out->b[2] = 4; }
GEN(b_hello_ssl3) { REAL(py12); out->b[10] = 0; }
GEN(b_hello_tls13) { REAL(py12); out->b[10] = 4; }

GEN(b_sslv2)
{
	/* SSLv2-compatible CLIENT-HELLO offering TLS 1.0 */
	put(out, "\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10", 11);
	memset(out->b + out->n, 0x33, 0x15 + 0x10);
	out->n += 0x15 + 0x10;
}

GEN(b_sid33)
{
	E.n = 0;
	msg_hello(&M, 0x0303, &E);
	M.b[38] = 33;
	records(out, M.b, M.n, 16384);
}

GEN(b_short_hello)
{
	msg_hello(&M, 0x0303, NULL);
	msg_len(10);
	records(out, M.b, 14, 16384);
}

GEN(b_sid_past)
{
	msg_hello(&M, 0x0303, NULL);
	msg_len(2 + 32 + 1 + 20);
	records(out, M.b, 4 + 2 + 32 + 1 + 20, 16384);
}

GEN(b_cs_odd)
{
	msg_hello(&M, 0x0303, NULL);
	M.b[72] = 3;
	records(out, M.b, M.n, 16384);
}

GEN(b_cs_zero)
{
	msg_hello(&M, 0x0303, NULL);
	M.b[72] = 0;
	records(out, M.b, M.n, 16384);
}

GEN(b_cs_past)
{
	msg_hello(&M, 0x0303, NULL);
	M.b[71] = 0x10;
	records(out, M.b, M.n, 16384);
}

GEN(b_comp_zero)
{
	msg_hello(&M, 0x0303, NULL);
	M.b[77] = 0;
	records(out, M.b, M.n, 16384);
}

GEN(b_exts_long)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	msg_hello(&M, 0x0303, &E);
	M.b[EXTS_AT + 1]++;
	records(out, M.b, M.n, 16384);
}

GEN(b_exts_short)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	msg_hello(&M, 0x0303, &E);
	M.b[EXTS_AT + 1]--;
	records(out, M.b, M.n, 16384);
}

GEN(b_ext_past)
{
	E.n = 0;
	ext_raw(&E, 23, "", 0);
	E.b[3] = 1;
	std_hello(out);
}

GEN(b_ext_half_header)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	put(&E, "\x00\x17", 2);
	std_hello(out);
}

GEN(b_dup_unknown)
{
	E.n = 0;
	ext_raw(&E, 23, "", 0);
	ext_sni(&E, "a.example", 9);
	ext_raw(&E, 23, "", 0);
	std_hello(out);
}

GEN(b_dup_sni)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	ext_sni(&E, "a.example", 9);
	std_hello(out);
}

GEN(b_dup_alpn)
{
	E.n = 0;
	ext_alpn(&E);
	ext_sni(&E, "a.example", 9);
	ext_alpn(&E);
	std_hello(out);
}

GEN(b_two_names)
{
	E.n = 0;
	put(&E, "\x00\x00\x00\x1a\x00\x18"
	    "\x00\x00\x09" "a.example"
	    "\x00\x00\x09" "b.example", 30);
	std_hello(out);
}

GEN(b_name_and_other)
{
	E.n = 0;
	put(&E, "\x00\x00\x00\x14\x00\x12"
	    "\x00\x00\x09" "a.example"
	    "\x01\x00\x03" "xyz", 24);
	std_hello(out);
}

GEN(b_sni_type1)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	E.b[6] = 1;
	std_hello(out);
}

GEN(b_sni_empty_name) { E.n = 0; ext_sni(&E, "", 0); std_hello(out); }

GEN(b_sni_empty_list)
{
	E.n = 0;
	ext_raw(&E, 0, "\x00\x00", 2);
	std_hello(out);
}

GEN(b_sni_empty_ext)
{
	E.n = 0;
	ext_raw(&E, 0, "", 0);
	std_hello(out);
}

GEN(b_sni_list_short)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	E.b[5]--;
	std_hello(out);
}

GEN(b_sni_list_long)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	E.b[5]++;
	std_hello(out);
}

GEN(b_sni_name_past)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	E.b[8]++;
	std_hello(out);
}

GEN(b_sni_name_short)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	E.b[8]--;
	std_hello(out);
}

#define SNI(fn, s) GEN(fn) { E.n = 0; ext_sni(&E, s, sizeof(s) - 1); std_hello(out); }
SNI(b_nul, "a.exa\0mple")
SNI(b_nul_end, "a.example\0")
SNI(b_space, "a.exa mple")
SNI(b_slash, "a.example/x")
SNI(b_utf8, "caf\xc3\xa9.example")
SNI(b_ipv4, "192.0.2.1")
SNI(b_ipv4dot, "192.0.2.1.")
SNI(b_ipv6, "2001:db8::1")
SNI(b_ipv6br, "[2001:db8::1]")
SNI(b_numeric, "a.example.123")
SNI(b_short_ip, "127.1")
SNI(b_empty_label, "a..example")
SNI(b_lead_dot, ".a.example")
SNI(b_dot, ".")
SNI(b_port, "a.example:443")

GEN(b_name254)
{
	char	 s[260];

	E.n = 0;
	ext_sni(&E, s, long_name(s, 254));
	std_hello(out);
}

GEN(b_name255)
{
	char	 s[260];

	E.n = 0;
	ext_sni(&E, s, long_name(s, 255));
	std_hello(out);
}

GEN(b_label64)
{
	char	 s[80];

	memset(s, 'q', 64);
	memcpy(s + 64, ".example", 8);
	E.n = 0;
	ext_sni(&E, s, 72);
	std_hello(out);
}

GEN(b_129exts)
{
	unsigned i;

	E.n = 0;
	ext_sni(&E, "many.example", 12);
	for (i = 1; i <= PEEK_TLS_EXTS_MAX; i++)
		ext_raw(&E, 1000 + i, "", 0);
	std_hello(out);
}

GEN(b_after_hello)
{
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	msg_hello(&M, 0x0303, &E);
	put(&M, "\x14\x00\x00\x00", 4);
	records(out, M.b, M.n, 16384);
}

GEN(b_wire_cap) { big_hello(out, 30000, 1); }

GEN(b_alpn_empty)
{
	E.n = 0;
	ext_raw(&E, 16, "\x00\x00", 2);
	std_hello(out);
}

GEN(b_alpn_empty_proto)
{
	E.n = 0;
	ext_raw(&E, 16, "\x00\x04\x02h2\x00", 6);
	std_hello(out);
}

GEN(b_alpn_mismatch)
{
	E.n = 0;
	ext_raw(&E, 16, "\x00\x04\x02h2", 5);
	std_hello(out);
}

GEN(b_alpn_proto_past)
{
	E.n = 0;
	ext_raw(&E, 16, "\x00\x03\x05h2", 5);
	std_hello(out);
}

GEN(b_msg_past_exts)
{
	/* a hello that declares more than its extensions fill */
	E.n = 0;
	ext_sni(&E, "a.example", 9);
	msg_hello(&M, 0x0303, &E);
	put(&M, "\x00\x00", 2);
	msg_len(M.n - 4);
	records(out, M.b, M.n, 16384);
}

static const struct tbad {
	const char	*desc;
	void		(*gen)(struct buf *);
	const char	*why;		/* a fragment of the reason */
} tbad[] = {
	{ "declared 16 MiB", b_16mib,
	    "ClientHello declares 16777215 bytes, cap is 65536" },
	{ "declared 64 KiB + 1", b_64k1, "declares 65537 bytes, cap" },
	{ "record over 16384", b_rec16k1, "TLS record declares 16385 bytes" },
	{ "alert before the hello", b_alert_first, "record of type 21" },
	{ "change_cipher_spec before the hello", b_ccs_first,
	    "record of type 20" },
	{ "application data first", b_appdata_first, "record of type 23" },
	{ "application data between hello records", b_appdata_middle,
	    "record of type 23" },
	{ "zero-length first record", b_empty_rec_first,
	    "empty TLS handshake record" },
	{ "zero-length record inside the hello", b_empty_rec_middle,
	    "empty TLS handshake record" },
	{ "ServerHello", b_server_hello,
	    "handshake message type 2 is not ClientHello" },
	{ "record version SSL 3.0", b_rec_ssl3,
	    "record version 0x0300 is not" },
	{ "record version 0x0304", b_rec_tls13, "record version 0x0304" },
	{ "hello version SSL 3.0", b_hello_ssl3,
	    "ClientHello version 0x0300" },
	{ "hello version 0x0304", b_hello_tls13, "ClientHello version 0x0304" },
	{ "SSLv2-compatible hello", b_sslv2, "SSLv2-compatible ClientHello" },
	{ "session id of 33", b_sid33, "session id of 33 bytes" },
	{ "hello shorter than its fields", b_short_hello,
	    "random: 32 bytes at offset 6 run past" },
	{ "session id past the hello", b_sid_past,
	    "session id: 32 bytes at offset 39 run past" },
	{ "odd cipher suites length", b_cs_odd, "cipher suites length 3" },
	{ "no cipher suites", b_cs_zero, "cipher suites length 0" },
	{ "cipher suites past the hello", b_cs_past,
	    "cipher suites: 4100 bytes" },
	{ "no compression method", b_comp_zero, "no compression method" },
	{ "extensions block too long", b_exts_long, "extensions block declares" },
	{ "extensions block too short", b_exts_short,
	    "extensions block declares" },
	{ "extension past the block", b_ext_past,
	    "extension 23 declares 1 bytes, 0 remain" },
	{ "half an extension header", b_ext_half_header,
	    "extension length: 2 bytes" },
	{ "duplicate unknown extension", b_dup_unknown, "extension 23 twice" },
	{ "duplicate server_name", b_dup_sni, "extension 0 twice" },
	{ "duplicate ALPN", b_dup_alpn, "extension 16 twice" },
	{ "two host names", b_two_names, "more than one entry" },
	{ "a host name and another type", b_name_and_other,
	    "more than one entry" },
	{ "server_name of type 1", b_sni_type1,
	    "entry of type 1 is not host_name" },
	{ "empty server_name", b_sni_empty_name, "server_name is empty" },
	{ "empty server_name list", b_sni_empty_list,
	    "server_name list is empty" },
	{ "empty server_name extension", b_sni_empty_ext,
	    "server_name list length: 2 bytes" },
	{ "server_name list shorter than its extension", b_sni_list_short,
	    "server_name list declares 11 bytes, its extension has 12" },
	{ "server_name list longer than its extension", b_sni_list_long,
	    "server_name list declares 13 bytes" },
	{ "host name past its list", b_sni_name_past,
	    "server_name: 10 bytes at offset" },
	{ "host name shorter than its list", b_sni_name_short,
	    "more than one entry" },
	{ "NUL in the name", b_nul, "has byte 0x00" },
	{ "NUL after the name", b_nul_end, "has byte 0x00" },
	{ "space in the name", b_space, "has byte 0x20" },
	{ "slash in the name", b_slash, "has byte 0x2f" },
	{ "UTF-8 in the name", b_utf8, "has byte 0xc3" },
	{ "IPv4 literal", b_ipv4, "'192.0.2.1' is an IP literal" },
	{ "IPv4 literal, trailing dot", b_ipv4dot, "is an IP literal" },
	{ "IPv6 literal", b_ipv6, "'2001:db8::1' has ':'" },
	{ "bracketed IPv6 literal", b_ipv6br, "has ':'" },
	{ "numeric last label", b_numeric, "ends in a numeric label" },
	{ "short IPv4 form", b_short_ip, "ends in a numeric label" },
	{ "empty label", b_empty_label, "has an empty label" },
	{ "leading dot", b_lead_dot, "has an empty label" },
	{ "only a dot", b_dot, "has an empty label" },
	{ "name with a port", b_port, "has ':'" },
	{ "254-byte name", b_name254, "is 254 bytes long, over 253" },
	{ "255-byte name", b_name255, "server_name is 255 bytes long, over" },
	{ "64-byte label", b_label64, "has a label of 64 bytes, over 63" },
	{ "129 extensions", b_129exts, "more than 128 extensions" },
	{ "handshake message after the hello", b_after_hello,
	    "4 bytes follow the ClientHello in its record" },
	{ "hello in 1-byte records over the wire cap", b_wire_cap,
	    "ClientHello records exceed 131072 bytes" },
	{ "empty ALPN list", b_alpn_empty, "ALPN list is empty" },
	{ "empty ALPN protocol", b_alpn_empty_proto,
	    "ALPN protocol name is empty" },
	{ "ALPN list length mismatch", b_alpn_mismatch,
	    "ALPN list declares 4 bytes, its extension has 3" },
	{ "ALPN protocol past its list", b_alpn_proto_past,
	    "ALPN protocol: 5 bytes" },
	{ "hello longer than its extensions", b_msg_past_exts,
	    "extensions block declares" },
};

/* ---- feeding in pieces ---- */

/* What a parser run ended with; runs over the same bytes must agree. */
struct res {
	enum peek_rc	 rc;
	char		 name[PEEK_NAME_MAX + 2];
	char		 why[PEEK_WHY_MAX];
	size_t		 used;
	unsigned	 a, b, c;	/* TLS: version, flags, nalpn;
					   HTTP: port, ip, minor */
	size_t		 calls;
};

enum split { ONE_SHOT, BYTES, RANDOM };

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Next length to hand the parser: all, one more byte, or a random cut. */
static size_t
next_len(size_t len, size_t n, enum split how, uint32_t *seed)
{
	if (how == ONE_SHOT)
		return n;
	if (how == BYTES)
		return len + 1;
	len += 1 + rnd(seed) % (n / 4 + 1);
	return len < n ? len : n;
}

/*
 * Feeds in[0..n) as it would arrive, each call with a fresh heap copy of
 * the bytes so far (so ASan sees any read past len) unless `nocopy`.
 */
static void
run_tls(const uint8_t *in, size_t n, enum split how, uint32_t seed,
    int nocopy, struct res *r)
{
	struct tls_hello t;
	uint8_t		*p = NULL;
	size_t		 len = 0;

	memset(r, 0, sizeof(*r));
	peek_tls_init(&t);
	r->rc = PEEK_MORE;
	while (len < n && r->rc == PEEK_MORE) {
		len = next_len(len, n, how, &seed);
		if (nocopy)
			r->rc = peek_tls_feed(&t, in, len);
		else {
			free(p);
			if ((p = malloc(len)) == NULL)
				abort();
			memcpy(p, in, len);
			r->rc = peek_tls_feed(&t, p, len);
		}
		r->calls++;
	}
	free(p);
	/* done is done: a later call changes nothing */
	if (r->rc != PEEK_MORE && peek_tls_feed(&t, in, n) != r->rc)
		r->rc = PEEK_OTHER;
	if (r->rc == PEEK_DONE) {
		snprintf(r->name, sizeof(r->name), "%s", t.th_name);
		r->used = t.th_used;
		r->a = t.th_version;
		r->b = t.th_flags;
		r->c = t.th_nalpn;
		if (strlen(t.th_name) != t.th_namelen)
			r->rc = PEEK_OTHER;
	}
	if (r->rc == PEEK_BAD)
		snprintf(r->why, sizeof(r->why), "%s", t.th_why);
}

static void
run_http(const uint8_t *in, size_t n, enum split how, uint32_t seed,
    struct res *r)
{
	struct http_head h;
	uint8_t		*p = NULL;
	size_t		 len = 0;

	memset(r, 0, sizeof(*r));
	peek_http_init(&h);
	r->rc = PEEK_MORE;
	while (len < n && r->rc == PEEK_MORE) {
		len = next_len(len, n, how, &seed);
		free(p);
		if ((p = malloc(len)) == NULL)
			abort();
		memcpy(p, in, len);
		r->rc = peek_http_feed(&h, p, len);
		r->calls++;
	}
	free(p);
	if (r->rc != PEEK_MORE && peek_http_feed(&h, in, n) != r->rc)
		r->rc = PEEK_OTHER;
	if (r->rc == PEEK_DONE) {
		snprintf(r->name, sizeof(r->name), "%s", h.hh_host);
		r->used = h.hh_used;
		r->a = h.hh_port;
		r->b = (unsigned)h.hh_host_ip;
		r->c = (unsigned)h.hh_minor;
		if (strlen(h.hh_host) != h.hh_hostlen)
			r->rc = PEEK_OTHER;
	}
	if (r->rc == PEEK_BAD)
		snprintf(r->why, sizeof(r->why), "%s", h.hh_why);
}

static int
res_eq(const struct res *x, const struct res *y)
{
	return x->rc == y->rc && strcmp(x->name, y->name) == 0 &&
	    strcmp(x->why, y->why) == 0 && x->used == y->used &&
	    x->a == y->a && x->b == y->b && x->c == y->c;
}

static const char *
rc_name(enum peek_rc rc)
{
	static const char *const n[] = { "MORE", "DONE", "BAD", "TLS", "HTTP",
	    "OTHER" };

	return rc <= PEEK_OTHER ? n[rc] : "?";
}

/* Every split of `in` must give what one call gives. */
static void
check_splits_tls(const uint8_t *in, size_t n, const struct res *one)
{
	struct res	 r;
	uint32_t	 seed;

	run_tls(in, n, BYTES, 0, n > 40000, &r);
	T_CHECK(res_eq(&r, one), "1-byte steps: %s '%s' '%s', one shot: "
	    "%s '%s' '%s'", rc_name(r.rc), r.name, r.why, rc_name(one->rc),
	    one->name, one->why);
	for (seed = 1; seed <= 8; seed++) {
		run_tls(in, n, RANDOM, seed * 2654435761u, 0, &r);
		T_CHECK(res_eq(&r, one), "random split %u: %s '%s', one shot: "
		    "%s '%s'", seed, rc_name(r.rc), r.why, rc_name(one->rc),
		    one->why);
	}
}

static void
check_splits_http(const uint8_t *in, size_t n, const struct res *one)
{
	struct res	 r;
	uint32_t	 seed;

	run_http(in, n, BYTES, 0, &r);
	T_CHECK(res_eq(&r, one), "1-byte steps: %s '%s' '%s', one shot: "
	    "%s '%s' '%s'", rc_name(r.rc), r.name, r.why, rc_name(one->rc),
	    one->name, one->why);
	for (seed = 1; seed <= 8; seed++) {
		run_http(in, n, RANDOM, seed * 2654435761u, &r);
		T_CHECK(res_eq(&r, one), "random split %u: %s '%s', one shot: "
		    "%s '%s'", seed, rc_name(r.rc), r.why, rc_name(one->rc),
		    one->why);
	}
}

static struct buf	 IN;

static void
tls_good(const struct tgood *g)
{
	struct res	 r;
	char		 want[260];

	IN.n = 0;
	g->gen(&IN);
	T_CHECK(peek_classify(IN.b, IN.n) == PEEK_TLS, "not classified TLS");
	run_tls(IN.b, IN.n, ONE_SHOT, 0, 0, &r);
	T_CHECK(r.rc == PEEK_DONE, "got %s: %s", rc_name(r.rc), r.why);
	if (g->name != NULL)
		snprintf(want, sizeof(want), "%s", g->name);
	else
		want[long_name(want, 253)] = '\0';
	T_STREQ(r.name, want);
	T_CHECK(r.used == IN.n - g->trail, "used %zu, want %zu", r.used,
	    IN.n - g->trail);
	T_CHECK(r.a == g->version, "version 0x%04x", r.a);
	T_CHECK(r.b == g->flags, "flags 0x%x, want 0x%x", r.b, g->flags);
	T_CHECK(r.c == g->nalpn, "nalpn %u, want %u", r.c, g->nalpn);
	check_splits_tls(IN.b, IN.n, &r);
	/* one byte short is never enough */
	if (g->trail == 0) {
		run_tls(IN.b, IN.n - 1, ONE_SHOT, 0, 0, &r);
		T_CHECK(r.rc == PEEK_MORE, "n - 1 bytes: %s", rc_name(r.rc));
	}
}

static void
tls_bad(const struct tbad *b)
{
	struct res	 r;
	size_t		 i;

	IN.n = 0;
	b->gen(&IN);
	run_tls(IN.b, IN.n, ONE_SHOT, 0, 0, &r);
	T_CHECK(r.rc == PEEK_BAD, "got %s '%s'", rc_name(r.rc), r.name);
	T_CHECK(strstr(r.why, b->why) != NULL, "why '%s', want '%s'", r.why,
	    b->why);
	for (i = 0; r.why[i] != '\0'; i++)
		T_CHECK(r.why[i] >= 0x20 && r.why[i] < 0x7f,
		    "unprintable reason '%s'", r.why);
	check_splits_tls(IN.b, IN.n, &r);
}

/* A hello that declares 16 MiB is refused from its first 9 bytes. */
static void
tls_16mib(void)
{
	static const uint8_t in[] = "\x16\x03\x01\x00\x04\x01\xff\xff\xff";
	struct tls_hello t;
	size_t		 i;

	peek_tls_init(&t);
	for (i = 0; i < 8; i++)
		T_CHECK(peek_tls_feed(&t, in, i) == PEEK_MORE, "%zu bytes", i);
	T_CHECK(peek_tls_feed(&t, in, 9) == PEEK_BAD, "9 bytes: not BAD");
	T_STREQ(t.th_why, "ClientHello declares 16777215 bytes, cap is 65536");
}

/* 60 KiB, one byte per call: linear, so well under a second. */
static void
tls_linear(void)
{
	struct res	 r;
	struct timespec	 a, b;
	double		 ms;

	IN.n = 0;
	big_hello(&IN, 60000, 16384);
	clock_gettime(CLOCK_MONOTONIC, &a);
	run_tls(IN.b, IN.n, BYTES, 0, 1, &r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	T_CHECK(r.rc == PEEK_DONE, "got %s: %s", rc_name(r.rc), r.why);
	T_CHECK(r.calls == IN.n, "%zu calls for %zu bytes", r.calls, IN.n);
	T_CHECK(ms < 1000, "%zu bytes one at a time took %.0f ms", IN.n, ms);
}

/*
 * Records that end 3 bytes short of PEEK_TLS_WIRE_MAX, then the start of
 * another header: a full buffer must be BAD at once, not wait for more.
 */
static void
tls_wire_full(void)
{
	struct buf	*b = &IN;
	struct res	 r;
	size_t		 i;

	b->n = 0;
	big_hello(b, 30000, 16384);	/* leaves the message in M */
	b->n = 0;
	records(b, M.b, 6, 6);
	for (i = 0; i < 21843; i++)
		records(b, M.b + 6 + i, 1, 1);
	T_CHECK(b->n == PEEK_TLS_WIRE_MAX - 3, "built %zu bytes", b->n);
	put(b, "\x16\x03\x01", 3);
	run_tls(b->b, b->n - 3, ONE_SHOT, 0, 0, &r);
	T_CHECK(r.rc == PEEK_MORE, "%zu bytes: %s %s", b->n - 3,
	    rc_name(r.rc), r.why);
	run_tls(b->b, b->n, ONE_SHOT, 0, 0, &r);
	T_CHECK(r.rc == PEEK_BAD, "%zu bytes: %s", b->n, rc_name(r.rc));
	T_STREQ(r.why, "ClientHello records exceed 131072 bytes");
}

/* A shrinking buffer is the caller's bug; it is BAD, not a crash. */
static void
shrink(void)
{
	struct tls_hello t;
	struct http_head h;

	peek_tls_init(&t);
	T_CHECK(peek_tls_feed(&t, hello_py13, 100) == PEEK_MORE, "100");
	T_CHECK(peek_tls_feed(&t, hello_py13, 50) == PEEK_BAD, "50");
	T_CHECK(strstr(t.th_why, "shrank") != NULL, "%s", t.th_why);
	peek_http_init(&h);
	T_CHECK(peek_http_feed(&h, (const uint8_t *)"GET / HTTP/1.1\r\n",
	    16) == PEEK_MORE, "16");
	T_CHECK(peek_http_feed(&h, (const uint8_t *)"GET", 3) == PEEK_BAD,
	    "3");
}

/* ---- classification ---- */

static const struct cls {
	const char	*in;
	size_t		 n;
	enum peek_rc	 want;
} cls[] = {
	{ "", 0, PEEK_MORE },
	{ "\x16", 1, PEEK_TLS },
	{ "\x16\x03\x01", 3, PEEK_TLS },
	{ "\x80\x2e\x01\x03", 4, PEEK_TLS },	/* SSLv2 hello */
	{ "\x80\x2e\x01", 3, PEEK_MORE },
	{ "\x80\x2e\x02\x03", 4, PEEK_OTHER },
	{ "\xff\xff\xff\xff", 4, PEEK_OTHER },
	{ "\x15\x03\x01", 3, PEEK_OTHER },
	{ "G", 1, PEEK_MORE },
	{ "GET", 3, PEEK_MORE },
	{ "GET ", 4, PEEK_HTTP },
	{ "GET /", 5, PEEK_HTTP },
	{ "PROPFIND / HTTP/1.1", 19, PEEK_HTTP },
	{ "M-SEARCH * HTTP/1.1", 19, PEEK_HTTP },
	{ "get / HTTP/1.1", 14, PEEK_HTTP },
	{ " GET /", 6, PEEK_OTHER },
	{ "\r\nGET /", 7, PEEK_OTHER },
	{ "SSH-2.0-OpenSSH_9.2p1\r\n", 23, PEEK_OTHER },
	{ "GE\tT", 4, PEEK_OTHER },
	{ "G:T", 3, PEEK_OTHER },
	{ "\x00", 1, PEEK_OTHER },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 32, PEEK_MORE },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ", 33, PEEK_HTTP },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 33, PEEK_OTHER },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ", 34, PEEK_OTHER },
};

static void
classify(const struct cls *c)
{
	enum peek_rc rc = peek_classify((const uint8_t *)c->in, c->n);

	T_CHECK(rc == c->want, "got %s, want %s", rc_name(rc),
	    rc_name(c->want));
}

/* ---- HTTP heads ---- */

#define NUL(s)		s, sizeof(s) - 1	/* a string with a NUL */
#define H11(host)	"GET / HTTP/1.1\r\nHost: " host "\r\n\r\n"

static const struct hgood {
	const char	*desc;
	const char	*in;
	const char	*host;
	int		 ip;
	unsigned	 port;
	int		 minor;
	enum http_form	 form;
	const char	*method, *target;
	size_t		 trail;		/* bytes after the head */
} hgood[] = {
	{ "curl", "GET /v1/models HTTP/1.1\r\nHost: api.example.com:4433\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
	    "api.example.com", 0, 4433, 1, HTTP_ORIGIN, "GET", "/v1/models", 0 },
	{ "curl through a proxy, absolute-form",
	    "GET http://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n"
	    "Proxy-Connection: Keep-Alive\r\n\r\n",
	    "pypi.org", 0, 0, 1, HTTP_ABSOLUTE, "GET",
	    "http://pypi.org/simple/", 0 },
	{ "curl CONNECT", "CONNECT github.com:443 HTTP/1.1\r\n"
	    "Host: github.com:443\r\nUser-Agent: curl/7.88.1\r\n"
	    "Proxy-Connection: Keep-Alive\r\n\r\n",
	    "github.com", 0, 443, 1, HTTP_AUTHORITY, "CONNECT",
	    "github.com:443", 0 },
	{ "curl to an IPv4 address", "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
	    "192.0.2.1", 1, 0, 1, HTTP_ORIGIN, "GET", "/", 0 },
	{ "curl -0 to an IPv6 address", "GET /x HTTP/1.0\r\n"
	    "Host: [2001:db8::1]\r\nUser-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n\r\n",
	    "2001:db8::1", 1, 0, 0, HTTP_ORIGIN, "GET", "/x", 0 },
	{ "python urllib", "GET /simple/?q=1 HTTP/1.1\r\n"
	    "Accept-Encoding: identity\r\nHost: 127.0.0.1:4433\r\n"
	    "User-Agent: Python-urllib/3.11\r\nConnection: close\r\n\r\n",
	    "127.0.0.1", 1, 4433, 1, HTTP_ORIGIN, "GET", "/simple/?q=1", 0 },
	{ "IPv6 and a port", H11("[2001:db8::1]:8080"), "2001:db8::1", 1,
	    8080, 1, HTTP_ORIGIN, "GET", "/", 0 },
	{ "case kept, trailing dot removed", H11("Example.COM."),
	    "Example.COM", 0, 0, 1, HTTP_ORIGIN, "GET", "/", 0 },
	{ "underscore", H11("_x.example"), "_x.example", 0, 0, 1,
	    HTTP_ORIGIN, "GET", "/", 0 },
	{ "whitespace around the value", "GET / HTTP/1.1\r\n"
	    "hOsT:  \t a.example \t\r\n\r\n", "a.example", 0, 0, 1,
	    HTTP_ORIGIN, "GET", "/", 0 },
	{ "no space after the colon", "GET / HTTP/1.1\r\nHost:a.example\r\n"
	    "\r\n", "a.example", 0, 0, 1, HTTP_ORIGIN, "GET", "/", 0 },
	{ "HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "", 0, 0, 0,
	    HTTP_ORIGIN, "GET", "/", 0 },
	{ "HTTP/1.0 with an empty Host", "GET / HTTP/1.0\r\nHost: \r\n\r\n",
	    "", 0, 0, 0, HTTP_ORIGIN, "GET", "/", 0 },
	{ "HTTP/1.0 absolute-form without Host",
	    "GET http://a.example:8080/x?y HTTP/1.0\r\n\r\n", "a.example", 0,
	    8080, 0, HTTP_ABSOLUTE, "GET", "http://a.example:8080/x?y", 0 },
	{ "absolute-form, no path", "GET http://a.example HTTP/1.0\r\n\r\n",
	    "a.example", 0, 0, 0, HTTP_ABSOLUTE, "GET", "http://a.example", 0 },
	{ "absolute-form, Host in other case",
	    "GET HTTPS://A.Example/ HTTP/1.1\r\nHost: a.EXAMPLE.\r\n\r\n",
	    "A.Example", 0, 0, 1, HTTP_ABSOLUTE, "GET", "HTTPS://A.Example/", 0 },
	{ "CONNECT in HTTP/1.0 without Host",
	    "CONNECT a.example:8443 HTTP/1.0\r\n\r\n", "a.example", 0, 8443, 0,
	    HTTP_AUTHORITY, "CONNECT", "a.example:8443", 0 },
	{ "CONNECT to an IPv6 address",
	    "CONNECT [2001:db8::2]:443 HTTP/1.1\r\nHost: [2001:db8::2]:443\r\n"
	    "\r\n", "2001:db8::2", 1, 443, 1, HTTP_AUTHORITY, "CONNECT",
	    "[2001:db8::2]:443", 0 },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n",
	    "a.example", 0, 0, 1, HTTP_ASTERISK, "OPTIONS", "*", 0 },
	{ "a body follows", "POST /u HTTP/1.1\r\nHost: a.example\r\n"
	    "Content-Length: 5\r\n\r\nhello", "a.example", 0, 0, 1,
	    HTTP_ORIGIN, "POST", "/u", 5 },
	{ "a pipelined request follows (not looked at)",
	    H11("a.example") "GET / HTTP/1.1\r\nHost: b.example\r\n\r\n",
	    "a.example", 0, 0, 1, HTTP_ORIGIN, "GET", "/", 35 },
	{ "obs-text in a value", "GET / HTTP/1.1\r\nHost: a.example\r\n"
	    "X-Name: caf\xc3\xa9\r\n\r\n", "a.example", 0, 0, 1, HTTP_ORIGIN,
	    "GET", "/", 0 },
	{ "32-byte method", "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!#$% / HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n", "a.example", 0, 0, 1, HTTP_ORIGIN,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!#$%", "/", 0 },
	{ "port 65535", H11("a.example:65535"), "a.example", 0, 65535, 1,
	    HTTP_ORIGIN, "GET", "/", 0 },
	{ "empty header value", "GET / HTTP/1.1\r\nX-E:\r\nHost: a.b\r\n\r\n",
	    "a.b", 0, 0, 1, HTTP_ORIGIN, "GET", "/", 0 },
};

static const struct hbad {
	const char	*desc;
	const char	*in;
	size_t		 n;		/* 0: strlen */
	const char	*why;
} hbad[] = {
	{ "duplicate Host", "GET / HTTP/1.1\r\nHost: a.example\r\n"
	    "Host: b.example\r\n\r\n", 0, "duplicate Host header" },
	{ "duplicate Host, same value, other case", "GET / HTTP/1.1\r\n"
	    "Host: a.example\r\nhost: a.example\r\n\r\n", 0,
	    "duplicate Host header" },
	{ "Host with userinfo", H11("user@a.example"), 0,
	    "Host 'user@a.example' has userinfo" },
	{ "Host with a space", H11("a b.example"), 0, "has byte 0x20" },
	{ "Host with a slash", H11("a.example/x"), 0, "has byte 0x2f" },
	{ "Host percent-encoded", H11("a%2eexample"), 0, "has byte 0x25" },
	{ "Host with a control byte", H11("a\x01.example"), 0,
	    "header 'Host' has control byte 0x01" },
	{ "Host with DEL", H11("a\x7f.example"), 0, "control byte 0x7f" },
	{ "Host with UTF-8", H11("caf\xc3\xa9.example"), 0, "has byte 0xc3" },
	{ "empty Host in HTTP/1.1", H11(""), 0,
	    "empty Host in an HTTP/1.1 request" },
	{ "blank Host in HTTP/1.1", H11("  "), 0, "empty Host" },
	{ "HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 0,
	    "HTTP/1.1 request without Host" },
	{ "Host with an empty port", H11("a.example:"), 0, "invalid port" },
	{ "Host with only a port", H11(":80"), 0, "Host ':80' has no host" },
	{ "Host with port 0", H11("a.example:0"), 0, "invalid port" },
	{ "Host with port 65536", H11("a.example:65536"), 0, "invalid port" },
	{ "Host with a long port", H11("a.example:000080"), 0,
	    "invalid port" },
	{ "Host with a letter in the port", H11("a.example:8o"), 0,
	    "invalid port" },
	{ "Host IPv6 without brackets", H11("2001:db8::1"), 0,
	    "an IPv6 literal must be in brackets" },
	{ "Host IPv6 unclosed", H11("[2001:db8::1"), 0, "no closing ']'" },
	{ "Host IPv6 with a zone", H11("[fe80::1%25eth0]"), 0,
	    "not an IPv6 address" },
	{ "Host IPv6 not an address", H11("[a.example]"), 0,
	    "not an IPv6 address" },
	{ "Host empty brackets", H11("[]"), 0, "not an IPv6 address" },
	{ "Host junk after brackets", H11("[2001:db8::1]x"), 0,
	    "invalid port" },
	{ "Host short IPv4 form", H11("127.1"), 0, "ends in a numeric label" },
	{ "Host IPv4 with a leading zero", H11("192.0.2.01"), 0,
	    "ends in a numeric label" },
	{ "Host with an empty label", H11("a..example"), 0, "empty label" },
	{ "Host only a dot", H11("."), 0, "empty label" },
	{ "Host with a 64-byte label", H11("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"), 0,
	    "label of 64 bytes" },
	{ "absolute-form authority differs from Host",
	    "GET http://allowed.example/ HTTP/1.1\r\nHost: evil.example\r\n"
	    "\r\n", 0, "Host 'evil.example' differs from the request-target's "
	    "authority 'allowed.example'" },
	{ "absolute-form authority differs, Host first in 1.0",
	    "GET http://a.example/ HTTP/1.0\r\nHost: b.example\r\n\r\n", 0,
	    "differs" },
	{ "absolute-form with userinfo",
	    "GET http://allowed.example@evil.example/ HTTP/1.0\r\n\r\n", 0,
	    "has userinfo" },
	{ "absolute-form with a backslash",
	    "GET http://allowed.example\\@evil.example/ HTTP/1.0\r\n\r\n", 0,
	    "has userinfo" },
	{ "absolute-form with an empty authority",
	    "GET http:///x HTTP/1.0\r\n\r\n", 0,
	    "request-target authority is empty" },
	{ "absolute-form without Host in HTTP/1.1",
	    "GET http://a.example/ HTTP/1.1\r\n\r\n", 0, "without Host" },
	{ "CONNECT authority differs from Host",
	    "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", 0,
	    "differs" },
	{ "CONNECT without a port", "CONNECT a.example HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n", 0, "CONNECT authority 'a.example' has "
	    "no port" },
	{ "CONNECT with origin-form", "CONNECT / HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n", 0, "CONNECT authority '/'" },
	{ "authority-form without CONNECT", "GET a.example:443 HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n", 0, "is not in origin, absolute" },
	{ "relative target", "GET index.html HTTP/1.1\r\nHost: a.example\r\n"
	    "\r\n", 0, "is not in origin, absolute" },
	{ "asterisk with GET", "GET * HTTP/1.1\r\nHost: a.example\r\n\r\n", 0,
	    "'*' is for OPTIONS only" },
	{ "bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n",
	    0, "bare LF at offset 14" },
	{ "bare LF after a header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 0,
	    "bare LF at offset 23" },
	{ "bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 0,
	    "bare LF at offset 25" },
	{ "bare LF only", "GET / HTTP/1.0\n\n", 0, "bare LF" },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 0,
	    "CR without LF at offset 23" },
	{ "obsolete line folding", "GET / HTTP/1.1\r\nHost: a.example\r\n"
	    "X-A: b\r\n c\r\n\r\n", 0, "obsolete line folding" },
	{ "folded Host", "GET / HTTP/1.1\r\nHost:\r\n a.example\r\n\r\n", 0,
	    "empty Host" },
	{ "first header folded", "GET / HTTP/1.1\r\n\tHost: a.example\r\n"
	    "\r\n", 0, "obsolete line folding" },
	{ "space before the colon", "GET / HTTP/1.1\r\nHost : a.example\r\n"
	    "\r\n", 0, "whitespace before the colon in header 'Host'" },
	{ "tab before the colon", "GET / HTTP/1.1\r\nHost\t: a.example\r\n"
	    "\r\n", 0, "whitespace before the colon" },
	{ "header name with '('", "GET / HTTP/1.1\r\nX(y): z\r\n\r\n", 0,
	    "header name 'X' has byte 0x28" },
	{ "header name with UTF-8", "GET / HTTP/1.1\r\nX\xc3\xa9: z\r\n\r\n",
	    0, "has byte 0xc3" },
	{ "header without a colon", "GET / HTTP/1.1\r\nHost a.example\r\n"
	    "\r\n", 0, "whitespace before the colon" },
	{ "header without a colon or space", "GET / HTTP/1.1\r\nHosta\r\n"
	    "\r\n", 0, "has no ':'" },
	{ "empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n", 0,
	    "empty header name" },
	{ "control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X: \x1b[31m\r\n\r\n", 0, "header 'X' has control byte 0x1b" },
	{ "two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
	    0, "malformed request line" },
	{ "no version", "GET /\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0,
	    "unknown HTTP version 'HTTP/1.1 '" },
	{ "no method", "/ HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "empty request line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 0,
	    "request-target has byte 0x09" },
	{ "UTF-8 in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n"
	    "\r\n", 0, "request-target has byte 0xc3" },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0,
	    "unknown HTTP version 'HTTP/2.0'" },
	{ "HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0,
	    "unknown HTTP version 'HTTP/1.2'" },
	{ "HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 0, "unknown HTTP version" },
	{ "lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 0,
	    "malformed request line" },
	{ "33-byte method", "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!#$%& / HTTP/1.1\r\n"
	    "Host: a\r\n\r\n", 0, "method is 33 bytes long, over 32" },
	{ "NUL in the request line", NUL("GET /\0 HTTP/1.1\r\nHost: a\r\n"
	    "\r\n"), "NUL byte at offset 5" },
	{ "NUL in Host", NUL("GET / HTTP/1.1\r\nHost: a\0.example\r\n\r\n"),
	    "NUL byte at offset 23" },
};

static void
http_good(const struct hgood *g)
{
	struct res	 r;
	struct http_head h;
	size_t		 n = strlen(g->in);
	const uint8_t	*in = (const uint8_t *)g->in;

	T_CHECK(peek_classify(in, n) == PEEK_HTTP, "not classified HTTP");
	peek_http_init(&h);
	T_CHECK(peek_http_feed(&h, in, n) == PEEK_DONE, "got BAD: %s",
	    h.hh_why);
	T_STREQ(h.hh_host, g->host);
	T_CHECK(h.hh_hostlen == strlen(g->host), "hostlen %zu", h.hh_hostlen);
	T_CHECK(h.hh_host_ip == g->ip, "host_ip %d", h.hh_host_ip);
	T_CHECK(h.hh_port == g->port, "port %u", h.hh_port);
	T_CHECK(h.hh_minor == g->minor, "minor %d", h.hh_minor);
	T_CHECK(h.hh_form == g->form, "form %d", h.hh_form);
	T_CHECK(h.hh_used == n - g->trail, "used %zu, want %zu", h.hh_used,
	    n - g->trail);
	T_CHECK(h.hh_method_len == strlen(g->method) &&
	    memcmp(g->in + h.hh_method_off, g->method, h.hh_method_len) == 0,
	    "method '%.*s'", (int)h.hh_method_len, g->in + h.hh_method_off);
	T_CHECK(h.hh_target_len == strlen(g->target) &&
	    memcmp(g->in + h.hh_target_off, g->target, h.hh_target_len) == 0,
	    "target '%.*s'", (int)h.hh_target_len, g->in + h.hh_target_off);
	run_http(in, n, ONE_SHOT, 0, &r);
	check_splits_http(in, n, &r);
	run_http(in, n - g->trail - 1, ONE_SHOT, 0, &r);
	T_CHECK(r.rc == PEEK_MORE, "head minus 1 byte: %s", rc_name(r.rc));
}

static void
http_bad(const struct hbad *b)
{
	struct res	 r;
	size_t		 n = b->n ? b->n : strlen(b->in), i;

	run_http((const uint8_t *)b->in, n, ONE_SHOT, 0, &r);
	T_CHECK(r.rc == PEEK_BAD, "got %s '%s'", rc_name(r.rc), r.name);
	T_CHECK(strstr(r.why, b->why) != NULL, "why '%s', want '%s'", r.why,
	    b->why);
	for (i = 0; r.why[i] != '\0'; i++)
		T_CHECK(r.why[i] >= 0x20 && r.why[i] < 0x7f,
		    "unprintable reason '%s'", r.why);
	check_splits_http((const uint8_t *)b->in, n, &r);
}

/* A head of exactly PEEK_HTTP_MAX bytes is fine; one more is not. */
static void
http_cap(void)
{
	static char	 in[PEEK_HTTP_MAX + 64];
	struct res	 r;
	size_t		 n;

	n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n"
	    "Host: a.example\r\nX-Pad: ");
	memset(in + n, 'p', PEEK_HTTP_MAX - n - 4);
	memcpy(in + PEEK_HTTP_MAX - 4, "\r\n\r\n", 4);
	run_http((const uint8_t *)in, PEEK_HTTP_MAX, ONE_SHOT, 0, &r);
	T_CHECK(r.rc == PEEK_DONE, "%d bytes: %s %s", PEEK_HTTP_MAX,
	    rc_name(r.rc), r.why);
	T_CHECK(r.used == PEEK_HTTP_MAX, "used %zu", r.used);
	memcpy(in + PEEK_HTTP_MAX - 4, "pp\r\n\r\n", 6);
	/* refused when the cap is reached, before the rest arrives */
	run_http((const uint8_t *)in, PEEK_HTTP_MAX, ONE_SHOT, 0, &r);
	T_CHECK(r.rc == PEEK_BAD, "%d + 2 bytes: %s", PEEK_HTTP_MAX,
	    rc_name(r.rc));
	T_STREQ(r.why, "request head exceeds 16384 bytes");
	check_splits_http((const uint8_t *)in, PEEK_HTTP_MAX + 2, &r);
	run_http((const uint8_t *)in, PEEK_HTTP_MAX - 1, ONE_SHOT, 0, &r);
	T_CHECK(r.rc == PEEK_MORE, "one byte under the cap: %s",
	    rc_name(r.rc));
}

/* ---- replies ---- */

static void
alert(void)
{
	T_CHECK(memcmp(tls_alert_access_denied(), "\x15\x03\x03\x00\x02\x02"
	    "\x31", TLS_ALERT_LEN) == 0, "alert bytes");
}

/* The body after the head, if Content-Length says its length. */
static const char *
body_of(const char *resp)
{
	const char	*b, *cl;

	if ((b = strstr(resp, "\r\n\r\n")) == NULL ||
	    (cl = strstr(resp, "\r\nContent-Length: ")) == NULL || cl > b)
		return NULL;
	if (strtoul(cl + 18, NULL, 10) != strlen(b + 4))
		return NULL;
	return b + 4;
}

static void
forbidden(void)
{
	static const char want[] = "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 63\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "isorun: blocked api.example.com (rule deny[0] '*.example.com')\n";
	char		 buf[2048], big[1200];
	int		 n;
	const char	*body;

	n = http_forbidden(buf, sizeof(buf), "api.example.com",
	    "deny[0] '*.example.com'");
	T_CHECK(n == (int)sizeof(want) - 1, "length %d", n);
	T_STREQ(buf, want);
	T_CHECK(http_forbidden(buf, sizeof(want) - 1, "api.example.com",
	    "deny[0] '*.example.com'") == -1, "fits without its NUL");
	T_CHECK(http_forbidden(buf, sizeof(want), "api.example.com",
	    "deny[0] '*.example.com'") == n, "exact fit");
	n = http_forbidden(buf, sizeof(buf), "a.example\r\nSet-Cookie: x=1",
	    "default\n\x1b[2J\x7f");
	T_CHECK(n > 0, "injection attempt: %d", n);
	body = body_of(buf);
	T_CHECK(body != NULL && strcmp(body, "isorun: blocked a.example"
	    "Set-Cookie: x=1 (rule default[2J)\n") == 0, "body '%s'", buf);
	T_CHECK(strstr(buf, "\r\nSet-Cookie") == NULL, "header injected");
	n = http_forbidden(buf, sizeof(buf), NULL, NULL);
	body = body_of(buf);
	T_CHECK(n > 0 && body != NULL && strcmp(body,
	    "isorun: blocked  (rule )\n") == 0, "NULLs: %s", buf);
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = http_forbidden(buf, sizeof(buf), "h", big);
	body = body_of(buf);
	T_CHECK(n > 0 && body != NULL && strlen(body) == 16 + 1 + 7 + 1100 + 2,
	    "long rule cut at 1100: %s", buf);
	T_CHECK(http_forbidden(buf, 10, "h", "r") == -1, "tiny buffer");
}

/* ---- seed corpora ---- */

static void
corpus_write(const char *dir, const char *sub, const char *desc,
    const void *p, size_t n)
{
	char	 path[512], name[96];
	size_t	 i;
	FILE	*f;

	for (i = 0; desc[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = isalnum((unsigned char)desc[i]) ?
		    (char)tolower((unsigned char)desc[i]) : '-';
	name[i] = '\0';
	if (n > 32768)		/* keep the corpora small */
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(p, 1, n, f);
	fclose(f);
}

static void
corpus(const char *dir)
{
	size_t	 i;

	for (i = 0; i < NELEM(tgood); i++) {
		IN.n = 0;
		tgood[i].gen(&IN);
		corpus_write(dir, "fuzz_tls_hello", tgood[i].desc, IN.b, IN.n);
	}
	for (i = 0; i < NELEM(tbad); i++) {
		IN.n = 0;
		tbad[i].gen(&IN);
		corpus_write(dir, "fuzz_tls_hello", tbad[i].desc, IN.b, IN.n);
	}
	for (i = 0; i < NELEM(hgood); i++)
		corpus_write(dir, "fuzz_http_head", hgood[i].desc, hgood[i].in,
		    strlen(hgood[i].in));
	for (i = 0; i < NELEM(hbad); i++)
		corpus_write(dir, "fuzz_http_head", hbad[i].desc, hbad[i].in,
		    hbad[i].n ? hbad[i].n : strlen(hbad[i].in));
}

/* Bytes that are not HTTP at all, told from bad HTTP (hh_notreq). */
static const struct notreq {
	const char	*in;
	int		 notreq;
} notreqs[] = {
	{ "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n", 1 },
	{ "SET key value\r\n", 1 },
	{ "PING x\n", 1 },
	{ "GET /\r\n", 1 },			/* HTTP/0.9 */
	{ "AUTH x\ry", 1 },
	{ "GET / HTTP/2.0\r\n", 0 },
	{ "GET / HTTP/1.1\nHost: a\n\n", 0 },
	{ "GET / HTTP/1.1\rx", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nbad line\r\n\r\n", 0 },
};

static void
http_notreq(const struct notreq *c)
{
	struct http_head	 h;
	enum peek_rc		 rc;

	peek_http_init(&h);
	rc = peek_http_feed(&h, (const uint8_t *)c->in, strlen(c->in));
	T_CHECK(rc == PEEK_BAD, "got %s, want BAD", rc_name(rc));
	T_CHECK(h.hh_notreq == c->notreq, "hh_notreq %d, want %d (%s)",
	    h.hh_notreq, c->notreq, h.hh_why);
}

int
main(void)
{
	size_t		 i;
	const char	*dir;

	if ((dir = getenv("PEEK_CORPUS")) != NULL)
		corpus(dir);
	for (i = 0; i < NELEM(cls); i++)
		T_RUN(classify(&cls[i]), "peek_classify %zu (%zu bytes)", i,
		    cls[i].n);
	for (i = 0; i < NELEM(tgood); i++)
		T_RUN(tls_good(&tgood[i]), "tls good: %s", tgood[i].desc);
	for (i = 0; i < NELEM(tbad); i++)
		T_RUN(tls_bad(&tbad[i]), "tls bad: %s", tbad[i].desc);
	T_RUN(tls_16mib(), "tls: 16 MiB refused from the first 9 bytes");
	T_RUN(tls_linear(), "tls: 60 KiB one byte per call in linear time");
	T_RUN(tls_wire_full(), "tls: a full buffer is never MORE");
	T_RUN(shrink(), "a shrinking buffer is BAD");
	for (i = 0; i < NELEM(hgood); i++)
		T_RUN(http_good(&hgood[i]), "http good: %s", hgood[i].desc);
	for (i = 0; i < NELEM(hbad); i++)
		T_RUN(http_bad(&hbad[i]), "http bad: %s", hbad[i].desc);
	T_RUN(http_cap(), "http: head cap");
	for (i = 0; i < NELEM(notreqs); i++)
		T_RUN(http_notreq(&notreqs[i]), "http: not a request line "
		    "(%d) %zu", notreqs[i].notreq, i);
	T_RUN(alert(), "tls_alert_access_denied bytes");
	T_RUN(forbidden(), "http_forbidden");
	return t_done();
}
