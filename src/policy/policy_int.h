/*
 * policy_int.h - the compiled forms inside src/policy/. Not a public API.
 */
#ifndef ISORUN_POLICY_INT_H
#define ISORUN_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

typedef unsigned __int128 u128;

/*
 * A rule reference in a compiled structure: 0 = none, else index + 1 into
 * the owner's rule array of that list. Keeps the structures free of pointers.
 */
typedef uint32_t rref;

/* Per-port rules at one trie node or name entry, sorted by port. */
struct pport {
	uint16_t	 port;
	rref		 r[4];		/* see users for the index meaning */
};

/*
 * Rules with a port, gathered while building (pports_add) and then sorted
 * into one array in which each owner (trie node, name entry) has a span,
 * sorted by port, with the first rule per slot kept.
 */
struct pports {
	struct pport	*v;
	size_t		 n;
	struct ppend {
		uint32_t owner;
		uint16_t port;
		uint8_t	 slot;		/* index into pport.r */
		rref	 ref;
	}		*pend;
	size_t		 npend, cap;
};

int	pports_add(struct pports *, uint32_t owner, uint16_t port,
	    unsigned slot, rref);
/* Builds v; calls span(ctx, owner, first, count) once per owner. */
int	pports_finish(struct pports *,
	    void (*span)(void *, uint32_t, uint32_t, uint32_t), void *ctx);
void	pports_free(struct pports *);

/*
 * Address trie: a path-compressed binary trie (PATRICIA) over 128-bit keys.
 * IPv4 keys sit in the top 32 bits. Lookup visits only nodes whose prefix is
 * a prefix of the address, so its cost is bounded by the key length, not by
 * the number of rules.
 */
struct anode {
	u128		 key;		/* prefix, host bits zero */
	uint8_t		 len;
	rref		 any[2];	/* [POL_DENY], [POL_ALLOW], any port */
	uint32_t	 pfirst, pcount;/* port rules in atrie.ports */
	uint32_t	 child[2];	/* node index, 0 = none (0 is root) */
	uint32_t	 jump;		/* jump table index + 1, 0 = none */
};

/*
 * A jump table at node N resolves the next `bits` bits after N's prefix in
 * one step: entry i holds the most specific any-port rules of the nodes
 * between N (included) and depth N.len + bits on the path of i, and the
 * node where the walk goes on (the first with len >= N.len + bits, or 0
 * when the path ends). An entry whose span holds port rules is `slow`: the
 * lookup walks that span node by node instead. Built only for subtrees
 * large enough to be worth it, so small policies stay small.
 */
struct ajent {
	uint32_t	 next;		/* node index; bit 31: slow */
	rref		 best[2];
};
#define AJ_SLOW		0x80000000u

struct ajump {
	uint32_t	 first;		/* first entry in atrie.jent */
	uint8_t		 bits;
};

struct atrie {
	struct anode	*n;
	size_t		 nn, cap;
	unsigned	 maxlen;	/* 32 or 128 */
	struct ajump	*jump;
	size_t		 njump;
	struct ajent	*jent;
	size_t		 njent;
	struct pports	 ports;	/* slots: [POL_DENY], [POL_ALLOW] */
};

int	atrie_init(struct atrie *, unsigned maxlen);
void	atrie_free(struct atrie *);
/* Adds a prefix; the first rule added for (prefix, port, list) is kept. */
int	atrie_add(struct atrie *, u128 key, unsigned len, uint16_t port,
	    enum pol_list, rref);
/* Call once after the last atrie_add. */
int	atrie_finish(struct atrie *);
/*
 * Most specific match per list for `key` and `port`: writes refs to best[2]
 * (0 = no match). A longer prefix wins, then a port rule over an any-port
 * rule of the same prefix.
 */
void	atrie_lookup(const struct atrie *, u128 key, uint16_t port,
	    rref best[2]);

/* Name table: one entry per distinct name (hostname or wildcard suffix). */
enum { NK_EXACT_DENY, NK_EXACT_ALLOW, NK_WILD_DENY, NK_WILD_ALLOW };

/*
 * Entries are dense, one cache line each, with the name's last NENT_INL
 * bytes inline as words aligned at its end (as ntab_lookup() reads a name):
 * a lookup that hits touches one line, unless the name is longer. The
 * open-addressing slots in front hold only a tag and the entry's index,
 * 8 bytes each, so a miss (most probes) stays in a small array.
 */
#define NENT_INL	24

struct nent {
	uint64_t	 h;
	rref		 any[4];	/* NK_*: rules without a port */
	uint32_t	 pfirst;
	uint16_t	 pcount;	/* distinct ports: at most 65535 */
	uint8_t		 len;
	const char	*name;		/* lower-case, owned by the rule */
	uint64_t	 tail[NENT_INL / 8];	/* see nw_chunk() */
};

struct nslot {
	uint32_t	 tag;		/* h >> 32 */
	uint32_t	 ent;		/* entry index + 1, 0 = empty */
};

struct ntab {
	struct nslot	*s;		/* mask + 1 slots, at most half used */
	size_t		 mask;
	struct nent	*e;
	size_t		 ne, cap;
	/* bit n: some exact name / wildcard suffix has n labels (n < 128),
	 * so a lookup hashes and probes only the suffixes a rule could
	 * match */
	uint64_t	 exact_labels[2], wild_labels[2];
	struct pports	 ports;	/* slots: NK_* */
};

int	ntab_init(struct ntab *);
void	ntab_free(struct ntab *);
int	ntab_add(struct ntab *, const char *name, int kind, uint16_t port,
	    rref);
int	ntab_finish(struct ntab *);
/*
 * Most specific match per list for one name as seen on the wire (any bytes,
 * any length, matched case-insensitively, one trailing dot ignored).
 */
void	ntab_lookup(const struct ntab *, const char *s, size_t len,
	    uint16_t port, rref best[2]);

/* Sorted port lists: shared by both structures. */
const struct pport *pport_find(const struct pport *, uint32_t n,
	    uint16_t port);

#endif
