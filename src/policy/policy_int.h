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
 * Address prefixes: a path-compressed binary trie (PATRICIA) over 128-bit
 * keys (IPv4 keys in the top 32 bits) to build, and for lookups its
 * leaf-pushed form. The prefixes cut the address space into ranges in
 * which every address matches the same rules; a range holds the most
 * specific any-port rule per list and, when a port rule could beat them,
 * the deepest trie node with port rules over it (the lookup then walks up
 * the nodes with port rules from there). An index finds the range of an
 * address: an entry is a range, a short sorted list of ranges, or a table
 * over the next bits after a prefix common to all its ranges' starts (so
 * sparse, deep regions cost one step). The cost is bounded by the key
 * length, not by the number of rules.
 */
struct anode {
	u128		 key;		/* prefix, host bits zero */
	uint8_t		 len;
	rref		 any[2];	/* [POL_DENY], [POL_ALLOW], any port */
	uint32_t	 pfirst, pcount;/* port rules in atrie.ports */
	uint32_t	 child[2];	/* node index, 0 = none (0 is root) */
	uint32_t	 pup;		/* nearest ancestor with port rules,
					   index + 1, 0 = none */
};

struct arange {			/* while building */
	rref		 any[2];	/* most specific any-port rule per list */
	uint32_t	 pnode;		/* deepest node with port rules that
					   could win here, index + 1, 0 = none */
	uint8_t		 alen[2];	/* prefix length of any[l] */
};

/* For lookups: a range's first key next to its rules, so the search of a
 * short list ends on the line it reads. */
struct arange4 {
	uint32_t	 start;
	rref		 any[2];
	uint32_t	 pnode;
};

struct arange6 {
	u128		 start;
	rref		 any[2];
	uint32_t	 pnode;
};

/* An index table: entries for the bits after a skipped common prefix. */
struct atab {
	u128		 mask, prefix;	/* IPv6 */
	uint32_t	 mask4, prefix4;/* IPv4 */
	uint32_t	 first;		/* its entries in atrie.ent */
	uint32_t	 below, above;	/* ranges of the keys outside prefix */
	uint8_t		 skip, shift;	/* entry (key << skip) >> shift */
};

/* Index entries: the low 2 bits are the kind. */
#define AE_RANGE	0		/* range << 2 */
#define AE_LIST		1		/* first << 5 | (count - 2) << 2 */
#define AE_TABLE	2		/* table << 2 */
#define AE_LIST_MAX	8

struct atrie {
	struct anode	*n;
	size_t		 nn, cap;
	unsigned	 maxlen;	/* 32 or 128 */
	struct pports	 ports;	/* slots: [POL_DENY], [POL_ALLOW] */
	/* the index, built by atrie_finish() */
	uint32_t	 root;
	struct arange4	*r4;		/* IPv4 ranges */
	struct arange6	*r6;		/* IPv6 ranges */
	uint8_t		(*alen)[2];	/* arange.alen, for the port walk */
	size_t		 nr;
	struct atab	*tab;
	size_t		 ntab;
	uint32_t	*ent;
	size_t		 nent;
};

int	atrie_init(struct atrie *, unsigned maxlen);
void	atrie_free(struct atrie *);
/* Adds a prefix; the first rule added for (prefix, port, list) is kept. */
int	atrie_add(struct atrie *, u128 key, unsigned len, uint16_t port,
	    enum pol_list, rref);
/* Call once after the last atrie_add. */
int	atrie_finish(struct atrie *);
void	arange_ports(const struct atrie *, uint32_t ri, uint32_t pnode,
	    uint16_t port, rref best[2]);

/* Sorted port lists: shared by both structures. */
const struct pport *pport_find(const struct pport *, uint32_t n,
	    uint16_t port);

/*
 * Most specific match per list for `key` and `port`: writes refs to best[2]
 * (0 = no match). A longer prefix wins, then a port rule over an any-port
 * rule of the same prefix. atrie_lookup4 for a trie of maxlen 32 (the
 * address in host order), atrie_lookup for 128. Inline: they are most of
 * an evaluation's address work.
 */
static inline void
atrie_lookup4(const struct atrie *t, uint32_t key, uint16_t port,
    rref best[2])
{
	const struct atab	*tb;
	const struct arange4	*r;
	uint32_t		 e = t->root, lo, n, i;

	while ((e & 3) == AE_TABLE) {
		tb = &t->tab[e >> 2];
		if ((key & tb->mask4) != tb->prefix4) {
			e = (key < tb->prefix4 ? tb->below : tb->above) << 2;
			break;
		}
		e = t->ent[tb->first + ((key << tb->skip) >> tb->shift)];
	}
	if ((e & 3) == AE_LIST) {
		lo = e >> 5;
		n = ((e >> 2) & 7) + 2;
		for (i = 1; i < n && t->r4[lo + i].start <= key; i++)
			;
		e = (lo + i - 1) << 2;
	}
	r = &t->r4[e >> 2];
	best[0] = r->any[0];
	best[1] = r->any[1];
	if (r->pnode != 0 && port != 0)
		arange_ports(t, e >> 2, r->pnode, port, best);
}

static inline void
atrie_lookup(const struct atrie *t, u128 key, uint16_t port, rref best[2])
{
	const struct atab	*tb;
	const struct arange6	*r;
	uint32_t		 e = t->root, lo, n, i;

	while ((e & 3) == AE_TABLE) {
		tb = &t->tab[e >> 2];
		if ((key & tb->mask) != tb->prefix) {
			e = (key < tb->prefix ? tb->below : tb->above) << 2;
			break;
		}
		e = t->ent[tb->first + (uint32_t)((key << tb->skip) >>
		    tb->shift)];
	}
	if ((e & 3) == AE_LIST) {
		lo = e >> 5;
		n = ((e >> 2) & 7) + 2;
		for (i = 1; i < n && t->r6[lo + i].start <= key; i++)
			;
		e = (lo + i - 1) << 2;
	}
	r = &t->r6[e >> 2];
	best[0] = r->any[0];
	best[1] = r->any[1];
	if (r->pnode != 0 && port != 0)
		arange_ports(t, e >> 2, r->pnode, port, best);
}

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
	struct nslot	*s;		/* mask + 1 slots, at most a quarter
					   used: a probe rarely meets another
					   name */
	size_t		 mask;
	struct nent	*e;
	size_t		 ne, cap;
	/* bit n: some exact name / wildcard suffix has n labels (n < 128),
	 * so a lookup probes only the suffixes a rule could match; wl
	 * lists the wildcard ones in ascending order */
	uint64_t	 exact_labels[2], wild_labels[2];
	uint8_t		 wl[128];
	size_t		 nwl;
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

#endif
