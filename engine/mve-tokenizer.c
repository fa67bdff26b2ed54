// SPDX-License-Identifier: GPL-3.0-or-later
// mve-tokenizer.c: byte-level BPE tokenizer (see mve-tokenizer.h).
// Plain C11, no GLib.
//
// Training counts the pre-tokenised pieces once, then learns merges with
// incremental pair counts: a hash table of pair -> count and the list of
// pieces holding the pair, and a max-heap with lazy deletion to pick the most
// frequent pair (ties broken by the smaller pair key, so training is
// deterministic). A merge only touches the pieces that hold the pair, so
// ~100k sentences train in seconds.
#include "mve-tokenizer.h"

#include "mve-io-impl.h"
#include "mve-json-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Longest pre-tokenised piece; longer runs are cut (round trip is unaffected,
// and encode stays O(piece^2) bounded). No token is longer than this.
#define MAX_PIECE 64

static const char *const special_names[MVE_TOKENIZER_N_SPECIAL] = {
  "<pad>", "<unk>", "<cls>", "<Encode>", "<Decode>", "<sep>", "<EOS>",
};

struct mve_tokenizer
{
  int32_t size;            // specials + bytes + merges
  int32_t n_merges;
  int32_t *merges;         // (n_merges, 2): merge i makes id N_BASE + i
  uint32_t *tok_off;       // (size) offset of each token's bytes in tok_bytes
  uint16_t *tok_len;       // (size)
  uint8_t *tok_bytes;
  // pair (a, b) -> merged id, open addressing, capacity a power of two
  uint64_t *map_keys;      // 0 = empty (pairs never have key 0: ids >= 7)
  int32_t *map_vals;
  size_t map_cap;
};

// --- small helpers ---------------------------------------------------------------

static uint64_t
pair_key (int32_t a, int32_t b)
{
  return ((uint64_t) (uint32_t) a << 32) | (uint32_t) b;
}

static uint64_t
hash64 (uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static uint64_t
hash_bytes (const uint8_t *s, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++)
    {
      h ^= s[i];
      h *= 1099511628211ULL;
    }
  return h;
}

enum char_class { CC_SPACE, CC_LETTER, CC_DIGIT, CC_PUNCT };

static enum char_class
char_class (uint8_t c)
{
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
    return CC_SPACE;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80)
    return CC_LETTER;
  if (c >= '0' && c <= '9')
    return CC_DIGIT;
  return CC_PUNCT;
}

// End of the piece that starts at pos (pos < len). See the header for the rules.
static size_t
next_piece (const uint8_t *s, size_t len, size_t pos)
{
  size_t p = pos, end;
  enum char_class cc;

  if (char_class (s[p]) == CC_SPACE)
    {
      if (s[p] == ' ' && p + 1 < len && char_class (s[p + 1]) != CC_SPACE)
        p++; // a single space joins the following word/number/punctuation
      else
        {
          end = p;
          while (end < len && char_class (s[end]) == CC_SPACE && end - pos < MAX_PIECE)
            end++;
          // leave a final ' ' to the following non-space piece
          if (end < len && end - pos > 1 && s[end - 1] == ' ' && char_class (s[end]) != CC_SPACE)
            end--;
          return end;
        }
    }
  cc = char_class (s[p]);
  end = p + 1;
  if (cc != CC_DIGIT)
    while (end < len && char_class (s[end]) == cc && end - pos < MAX_PIECE)
      end++;
  return end;
}

// --- merge lookup --------------------------------------------------------------

static int
map_init (mve_tokenizer *tok)
{
  size_t cap = 16;
  while (cap < (size_t) tok->n_merges * 2 + 16)
    cap *= 2;
  tok->map_keys = calloc (cap, sizeof *tok->map_keys);
  tok->map_vals = calloc (cap, sizeof *tok->map_vals);
  tok->map_cap = cap;
  if (tok->map_keys == NULL || tok->map_vals == NULL)
    return -1;
  for (int32_t i = 0; i < tok->n_merges; i++)
    {
      uint64_t k = pair_key (tok->merges[2 * i], tok->merges[2 * i + 1]);
      size_t h = hash64 (k) & (cap - 1);
      while (tok->map_keys[h] != 0 && tok->map_keys[h] != k)
        h = (h + 1) & (cap - 1);
      if (tok->map_keys[h] == k)
        return -2; // duplicate merge
      tok->map_keys[h] = k;
      tok->map_vals[h] = MVE_TOKENIZER_N_BASE + i;
    }
  return 0;
}

static int32_t
map_get (const mve_tokenizer *tok, int32_t a, int32_t b)
{
  uint64_t k = pair_key (a, b);
  size_t h = hash64 (k) & (tok->map_cap - 1);
  while (tok->map_keys[h] != 0)
    {
      if (tok->map_keys[h] == k)
        return tok->map_vals[h];
      h = (h + 1) & (tok->map_cap - 1);
    }
  return -1;
}

// Build token byte strings and the merge map from tok->merges. Validates the
// merges (ids in range, no specials, no duplicates, tokens <= MAX_PIECE).
static mve_status
finish_tokenizer (mve_tokenizer *tok, char *err, unsigned long errn)
{
  size_t total = 0;
  int rc;

  tok->size = MVE_TOKENIZER_N_BASE + tok->n_merges;
  tok->tok_off = calloc ((size_t) tok->size, sizeof *tok->tok_off);
  tok->tok_len = calloc ((size_t) tok->size, sizeof *tok->tok_len);
  if (tok->tok_off == NULL || tok->tok_len == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  for (int i = 0; i < MVE_TOKENIZER_N_SPECIAL; i++)
    total += strlen (special_names[i]);
  total += 256;
  for (int32_t i = 0; i < tok->n_merges; i++)
    {
      int32_t a = tok->merges[2 * i], b = tok->merges[2 * i + 1];
      int32_t id = MVE_TOKENIZER_N_BASE + i;
      if (a < MVE_TOKENIZER_BYTE0 || b < MVE_TOKENIZER_BYTE0 || a >= id || b >= id)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "merge %d refers to id %d or %d, outside [7, %d)", i, a, b, id);
      tok->tok_len[id] = 0;
      {
        size_t la = a < MVE_TOKENIZER_N_BASE ? 1 : tok->tok_len[a];
        size_t lb = b < MVE_TOKENIZER_N_BASE ? 1 : tok->tok_len[b];
        if (la + lb > MAX_PIECE)
          return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                "merge %d makes a token longer than %d bytes", i, MAX_PIECE);
        tok->tok_len[id] = (uint16_t) (la + lb);
        total += la + lb;
      }
    }
  tok->tok_bytes = malloc (total + 1);
  if (tok->tok_bytes == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  {
    uint32_t off = 0;
    for (int i = 0; i < MVE_TOKENIZER_N_SPECIAL; i++)
      {
        size_t l = strlen (special_names[i]);
        memcpy (tok->tok_bytes + off, special_names[i], l);
        tok->tok_off[i] = off;
        tok->tok_len[i] = (uint16_t) l;
        off += (uint32_t) l;
      }
    for (int i = 0; i < 256; i++)
      {
        tok->tok_bytes[off] = (uint8_t) i;
        tok->tok_off[MVE_TOKENIZER_BYTE0 + i] = off;
        tok->tok_len[MVE_TOKENIZER_BYTE0 + i] = 1;
        off++;
      }
    for (int32_t i = 0; i < tok->n_merges; i++)
      {
        int32_t a = tok->merges[2 * i], b = tok->merges[2 * i + 1];
        int32_t id = MVE_TOKENIZER_N_BASE + i;
        tok->tok_off[id] = off;
        memcpy (tok->tok_bytes + off, tok->tok_bytes + tok->tok_off[a], tok->tok_len[a]);
        off += tok->tok_len[a];
        memcpy (tok->tok_bytes + off, tok->tok_bytes + tok->tok_off[b], tok->tok_len[b]);
        off += tok->tok_len[b];
      }
  }
  rc = map_init (tok);
  if (rc == -1)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  if (rc == -2)
    return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "the same merge appears twice");
  return MVE_STATUS_OK;
}

void
mve_tokenizer_free (mve_tokenizer *tok)
{
  if (tok == NULL)
    return;
  free (tok->merges);
  free (tok->tok_off);
  free (tok->tok_len);
  free (tok->tok_bytes);
  free (tok->map_keys);
  free (tok->map_vals);
  free (tok);
}

int32_t
mve_tokenizer_size (const mve_tokenizer *tok)
{
  return tok ? tok->size : 0;
}

// --- training -----------------------------------------------------------------

struct word
{
  int32_t *sym;
  int32_t len;
  int64_t freq;
  uint32_t stamp;          // last merge that visited this word
};

struct pairs
{
  uint64_t *keys;          // hash slots -> key (0 empty)
  int32_t *slot_idx;       // hash slots -> pair index
  size_t cap;
  size_t n;                // pairs in use
  size_t idx_cap;
  uint64_t *key;           // (n) pair key
  int64_t *count;          // (n)
  int32_t **words;         // (n) word indices holding the pair (may repeat)
  int32_t *n_words;
  int32_t *cap_words;
  uint8_t *dirty;
};

struct heap_ent
{
  int64_t count;
  uint64_t key;
  int32_t idx;
};

struct heap
{
  struct heap_ent *e;
  size_t n, cap;
};

static int
heap_less (const struct heap_ent *x, const struct heap_ent *y)
{
  // "x has lower priority than y": smaller count, or equal count and larger key
  if (x->count != y->count)
    return x->count < y->count;
  return x->key > y->key;
}

static int
heap_push (struct heap *h, struct heap_ent e)
{
  size_t i;
  if (h->n == h->cap)
    {
      size_t nc = h->cap ? h->cap * 2 : 1024;
      struct heap_ent *ne = realloc (h->e, nc * sizeof *ne);
      if (ne == NULL)
        return -1;
      h->e = ne;
      h->cap = nc;
    }
  i = h->n++;
  h->e[i] = e;
  while (i > 0)
    {
      size_t parent = (i - 1) / 2;
      struct heap_ent t;
      if (!heap_less (&h->e[parent], &h->e[i]))
        break;
      t = h->e[parent];
      h->e[parent] = h->e[i];
      h->e[i] = t;
      i = parent;
    }
  return 0;
}

static struct heap_ent
heap_pop (struct heap *h)
{
  struct heap_ent top = h->e[0];
  size_t i = 0;
  h->e[0] = h->e[--h->n];
  for (;;)
    {
      size_t l = 2 * i + 1, r = l + 1, best = i;
      struct heap_ent t;
      if (l < h->n && heap_less (&h->e[best], &h->e[l]))
        best = l;
      if (r < h->n && heap_less (&h->e[best], &h->e[r]))
        best = r;
      if (best == i)
        break;
      t = h->e[best];
      h->e[best] = h->e[i];
      h->e[i] = t;
      i = best;
    }
  return top;
}

static int
pairs_rehash (struct pairs *p, size_t cap)
{
  uint64_t *keys = calloc (cap, sizeof *keys);
  int32_t *idx = calloc (cap, sizeof *idx);
  if (keys == NULL || idx == NULL)
    {
      free (keys);
      free (idx);
      return -1;
    }
  for (size_t i = 0; i < p->n; i++)
    {
      size_t h = hash64 (p->key[i]) & (cap - 1);
      while (keys[h] != 0)
        h = (h + 1) & (cap - 1);
      keys[h] = p->key[i];
      idx[h] = (int32_t) i;
    }
  free (p->keys);
  free (p->slot_idx);
  p->keys = keys;
  p->slot_idx = idx;
  p->cap = cap;
  return 0;
}

// Index of pair (a, b), creating it with count 0. -1 on allocation failure.
static int32_t
pairs_get (struct pairs *p, int32_t a, int32_t b)
{
  uint64_t k = pair_key (a, b);
  size_t h;

  if ((p->n + 1) * 2 > p->cap && pairs_rehash (p, p->cap ? p->cap * 2 : 1024) < 0)
    return -1;
  h = hash64 (k) & (p->cap - 1);
  while (p->keys[h] != 0)
    {
      if (p->keys[h] == k)
        return p->slot_idx[h];
      h = (h + 1) & (p->cap - 1);
    }
  if (p->n == p->idx_cap)
    {
      size_t nc = p->idx_cap ? p->idx_cap * 2 : 1024;
      void *a1 = realloc (p->key, nc * sizeof *p->key);
      if (a1 == NULL) return -1;
      p->key = a1;
      a1 = realloc (p->count, nc * sizeof *p->count);
      if (a1 == NULL) return -1;
      p->count = a1;
      a1 = realloc (p->words, nc * sizeof *p->words);
      if (a1 == NULL) return -1;
      p->words = a1;
      a1 = realloc (p->n_words, nc * sizeof *p->n_words);
      if (a1 == NULL) return -1;
      p->n_words = a1;
      a1 = realloc (p->cap_words, nc * sizeof *p->cap_words);
      if (a1 == NULL) return -1;
      p->cap_words = a1;
      a1 = realloc (p->dirty, nc * sizeof *p->dirty);
      if (a1 == NULL) return -1;
      p->dirty = a1;
      p->idx_cap = nc;
    }
  p->keys[h] = k;
  p->slot_idx[h] = (int32_t) p->n;
  p->key[p->n] = k;
  p->count[p->n] = 0;
  p->words[p->n] = NULL;
  p->n_words[p->n] = 0;
  p->cap_words[p->n] = 0;
  p->dirty[p->n] = 0;
  return (int32_t) p->n++;
}

static void
pairs_free (struct pairs *p)
{
  for (size_t i = 0; i < p->n; i++)
    free (p->words[i]);
  free (p->keys);
  free (p->slot_idx);
  free (p->key);
  free (p->count);
  free (p->words);
  free (p->n_words);
  free (p->cap_words);
  free (p->dirty);
}

struct trainer
{
  struct pairs pairs;
  struct heap heap;
  int32_t *dirty_list;
  size_t n_dirty, cap_dirty;
  int oom;
};

// Add delta (may be negative) to pair (a, b) for word w.
static void
pair_add (struct trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w)
{
  int32_t i = pairs_get (&t->pairs, a, b);
  struct pairs *p = &t->pairs;
  if (i < 0)
    {
      t->oom = 1;
      return;
    }
  p->count[i] += delta;
  if (delta > 0)
    {
      if (p->n_words[i] == 0 || p->words[i][p->n_words[i] - 1] != w)
        {
          if (p->n_words[i] == p->cap_words[i])
            {
              int32_t nc = p->cap_words[i] ? p->cap_words[i] * 2 : 4;
              int32_t *nw = realloc (p->words[i], (size_t) nc * sizeof *nw);
              if (nw == NULL)
                {
                  t->oom = 1;
                  return;
                }
              p->words[i] = nw;
              p->cap_words[i] = nc;
            }
          p->words[i][p->n_words[i]++] = w;
        }
      if (!p->dirty[i])
        {
          if (t->n_dirty == t->cap_dirty)
            {
              size_t nc = t->cap_dirty ? t->cap_dirty * 2 : 1024;
              int32_t *nd = realloc (t->dirty_list, nc * sizeof *nd);
              if (nd == NULL)
                {
                  t->oom = 1;
                  return;
                }
              t->dirty_list = nd;
              t->cap_dirty = nc;
            }
          p->dirty[i] = 1;
          t->dirty_list[t->n_dirty++] = i;
        }
    }
}

static void
flush_dirty (struct trainer *t)
{
  for (size_t d = 0; d < t->n_dirty; d++)
    {
      int32_t i = t->dirty_list[d];
      struct heap_ent e = { t->pairs.count[i], t->pairs.key[i], i };
      t->pairs.dirty[i] = 0;
      if (e.count > 0 && heap_push (&t->heap, e) < 0)
        t->oom = 1;
    }
  t->n_dirty = 0;
}

// Merge every (a, b) in word w into c, updating pair counts locally.
static void
merge_word (struct trainer *t, struct word *wd, int32_t w, int32_t a, int32_t b, int32_t c)
{
  int32_t *s = wd->sym;
  int32_t n = wd->len, out = 0, i = 0;
  int64_t f = wd->freq;
  int prev_merged = 0;

  while (i < n)
    {
      if (i + 1 < n && s[i] == a && s[i + 1] == b)
        {
          int next_merges = (i + 3 < n && s[i + 2] == a && s[i + 3] == b);
          pair_add (t, a, b, -f, w);
          if (out > 0)
            {
              if (!prev_merged)
                pair_add (t, s[out - 1], a, -f, w);
              pair_add (t, s[out - 1], c, f, w);
            }
          if (i + 2 < n)
            {
              pair_add (t, b, s[i + 2], -f, w);
              if (!next_merges)
                pair_add (t, c, s[i + 2], f, w);
            }
          s[out++] = c;
          i += 2;
          prev_merged = 1;
        }
      else
        {
          s[out++] = s[i++];
          prev_merged = 0;
        }
    }
  wd->len = out;
}

// Piece table for counting: open addressing over (offset, len) in an arena.
struct piece_table
{
  uint8_t *arena;
  size_t arena_len, arena_cap;
  uint32_t *slots;         // index + 1, 0 empty
  size_t cap;
  size_t n, idx_cap;
  size_t *off;             // (n)
  int32_t *len;            // (n)
  int64_t *freq;           // (n)
  uint64_t *hash;          // (n)
};

static int
piece_rehash (struct piece_table *pt, size_t cap)
{
  uint32_t *slots = calloc (cap, sizeof *slots);
  if (slots == NULL)
    return -1;
  for (size_t i = 0; i < pt->n; i++)
    {
      size_t h = pt->hash[i] & (cap - 1);
      while (slots[h] != 0)
        h = (h + 1) & (cap - 1);
      slots[h] = (uint32_t) i + 1;
    }
  free (pt->slots);
  pt->slots = slots;
  pt->cap = cap;
  return 0;
}

static int
piece_add (struct piece_table *pt, const uint8_t *s, size_t len)
{
  uint64_t hv = hash_bytes (s, len);
  size_t h;

  if ((pt->n + 1) * 2 > pt->cap && piece_rehash (pt, pt->cap ? pt->cap * 2 : 4096) < 0)
    return -1;
  h = hv & (pt->cap - 1);
  while (pt->slots[h] != 0)
    {
      size_t i = pt->slots[h] - 1;
      if (pt->hash[i] == hv && (size_t) pt->len[i] == len &&
          memcmp (pt->arena + pt->off[i], s, len) == 0)
        {
          pt->freq[i]++;
          return 0;
        }
      h = (h + 1) & (pt->cap - 1);
    }
  if (pt->n >= UINT32_MAX - 1)
    return -1;
  if (pt->n == pt->idx_cap)
    {
      size_t nc = pt->idx_cap ? pt->idx_cap * 2 : 4096;
      void *p;
      if ((p = realloc (pt->off, nc * sizeof *pt->off)) == NULL) return -1;
      pt->off = p;
      if ((p = realloc (pt->len, nc * sizeof *pt->len)) == NULL) return -1;
      pt->len = p;
      if ((p = realloc (pt->freq, nc * sizeof *pt->freq)) == NULL) return -1;
      pt->freq = p;
      if ((p = realloc (pt->hash, nc * sizeof *pt->hash)) == NULL) return -1;
      pt->hash = p;
      pt->idx_cap = nc;
    }
  if (pt->arena_len + len > pt->arena_cap)
    {
      size_t nc = pt->arena_cap ? pt->arena_cap * 2 : 65536;
      uint8_t *na;
      while (nc < pt->arena_len + len)
        nc *= 2;
      na = realloc (pt->arena, nc);
      if (na == NULL)
        return -1;
      pt->arena = na;
      pt->arena_cap = nc;
    }
  memcpy (pt->arena + pt->arena_len, s, len);
  pt->off[pt->n] = pt->arena_len;
  pt->len[pt->n] = (int32_t) len;
  pt->freq[pt->n] = 1;
  pt->hash[pt->n] = hv;
  pt->arena_len += len;
  pt->slots[h] = (uint32_t) pt->n + 1;
  pt->n++;
  return 0;
}

static void
piece_table_free (struct piece_table *pt)
{
  free (pt->arena);
  free (pt->slots);
  free (pt->off);
  free (pt->len);
  free (pt->freq);
  free (pt->hash);
}

mve_status
mve_tokenizer_train (mve_tokenizer **out, const char *const *texts, size_t n, int32_t vocab_size,
                     char *err, unsigned long errn)
{
  struct piece_table pt = { 0 };
  struct trainer t = { 0 };
  struct word *words = NULL;
  int32_t *sym_pool = NULL;
  mve_tokenizer *tok = NULL;
  int32_t max_merges, n_merges = 0;
  size_t total_sym = 0;
  mve_status st = MVE_STATUS_OK;

  if (out == NULL || (n > 0 && texts == NULL))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no output or texts");
  *out = NULL;
  if (vocab_size < MVE_TOKENIZER_N_BASE || vocab_size > MVE_TOKENIZER_MAX_SIZE)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                          "vocabulary size %d outside [%d, %d]", vocab_size,
                          MVE_TOKENIZER_N_BASE, MVE_TOKENIZER_MAX_SIZE);
  max_merges = vocab_size - MVE_TOKENIZER_N_BASE;

  // 1. count pieces
  for (size_t i = 0; i < n; i++)
    {
      const uint8_t *s = (const uint8_t *) texts[i];
      size_t len, pos = 0;
      if (s == NULL)
        continue;
      len = strlen (texts[i]);
      while (pos < len)
        {
          size_t end = next_piece (s, len, pos);
          if (piece_add (&pt, s + pos, end - pos) < 0)
            {
              st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
              goto out;
            }
          pos = end;
        }
    }

  // 2. words as byte-symbol sequences; initial pair counts
  words = calloc (pt.n + 1, sizeof *words);
  sym_pool = malloc ((pt.arena_len + 1) * sizeof *sym_pool);
  tok = calloc (1, sizeof *tok);
  if (words == NULL || sym_pool == NULL || tok == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto out;
    }
  for (size_t i = 0; i < pt.n; i++)
    {
      words[i].sym = sym_pool + total_sym;
      words[i].len = pt.len[i];
      words[i].freq = pt.freq[i];
      words[i].stamp = 0;
      for (int32_t j = 0; j < pt.len[i]; j++)
        words[i].sym[j] = MVE_TOKENIZER_BYTE0 + pt.arena[pt.off[i] + (size_t) j];
      total_sym += (size_t) pt.len[i];
      for (int32_t j = 0; j + 1 < pt.len[i]; j++)
        pair_add (&t, words[i].sym[j], words[i].sym[j + 1], words[i].freq, (int32_t) i);
    }
  flush_dirty (&t);
  tok->merges = malloc (((size_t) max_merges + 1) * 2 * sizeof *tok->merges);
  if (t.oom || tok->merges == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto out;
    }

  // 3. learn merges
  while (n_merges < max_merges && t.heap.n > 0)
    {
      struct heap_ent e = heap_pop (&t.heap);
      int32_t a, b, c, nw;
      int32_t *wl;

      if (e.count != t.pairs.count[e.idx])
        {
          // stale entry: re-queue with the current count
          struct heap_ent cur = { t.pairs.count[e.idx], e.key, e.idx };
          if (cur.count > 0 && cur.count < e.count && heap_push (&t.heap, cur) < 0)
            t.oom = 1;
          if (t.oom)
            break;
          continue;
        }
      if (e.count < 2)
        break;
      a = (int32_t) (e.key >> 32);
      b = (int32_t) (e.key & 0xffffffffu);
      c = MVE_TOKENIZER_N_BASE + n_merges;
      tok->merges[2 * n_merges] = a;
      tok->merges[2 * n_merges + 1] = b;
      n_merges++;
      // the word list may grow while we merge (new pairs); take it as it is now
      nw = t.pairs.n_words[e.idx];
      wl = t.pairs.words[e.idx];
      t.pairs.words[e.idx] = NULL;
      t.pairs.n_words[e.idx] = 0;
      t.pairs.cap_words[e.idx] = 0;
      for (int32_t k = 0; k < nw; k++)
        {
          int32_t w = wl[k];
          if (words[w].stamp == (uint32_t) n_merges)
            continue;
          words[w].stamp = (uint32_t) n_merges;
          merge_word (&t, &words[w], w, a, b, c);
        }
      free (wl);
      t.pairs.count[e.idx] = 0;
      flush_dirty (&t);
      if (t.oom)
        break;
    }
  if (t.oom)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory while training");
      goto out;
    }
  tok->n_merges = n_merges;
  st = finish_tokenizer (tok, err, errn);
  if (st != MVE_STATUS_OK)
    goto out;
  *out = tok;
  tok = NULL;

out:
  mve_tokenizer_free (tok);
  free (words);
  free (sym_pool);
  piece_table_free (&pt);
  pairs_free (&t.pairs);
  free (t.heap.e);
  free (t.dirty_list);
  return st;
}

// --- encode / decode --------------------------------------------------------------

static size_t
encode_piece (const mve_tokenizer *tok, const uint8_t *s, size_t len, int32_t *ids, size_t cap,
              size_t n_out)
{
  int32_t sym[MAX_PIECE];
  size_t n = len;

  for (size_t i = 0; i < len; i++)
    sym[i] = MVE_TOKENIZER_BYTE0 + s[i];
  for (;;)
    {
      int32_t best = -1;
      size_t out = 0, i = 0;
      // the lowest merged id is the earliest merge: apply it everywhere
      for (size_t j = 0; j + 1 < n; j++)
        {
          int32_t m = map_get (tok, sym[j], sym[j + 1]);
          if (m >= 0 && (best < 0 || m < best))
            best = m;
        }
      if (best < 0)
        break;
      {
        int32_t a = tok->merges[2 * (best - MVE_TOKENIZER_N_BASE)];
        int32_t b = tok->merges[2 * (best - MVE_TOKENIZER_N_BASE) + 1];
        while (i < n)
          {
            if (i + 1 < n && sym[i] == a && sym[i + 1] == b)
              {
                sym[out++] = best;
                i += 2;
              }
            else
              sym[out++] = sym[i++];
          }
      }
      n = out;
    }
  for (size_t i = 0; i < n; i++, n_out++)
    if (n_out < cap)
      ids[n_out] = sym[i];
  return n_out;
}

mve_status
mve_tokenizer_encode (const mve_tokenizer *tok, const char *text, size_t len, int32_t *ids,
                      size_t cap, size_t *n_ids)
{
  const uint8_t *s = (const uint8_t *) text;
  size_t pos = 0, n_out = 0;

  if (n_ids != NULL)
    *n_ids = 0;
  if (tok == NULL || (text == NULL && len > 0) || (ids == NULL && cap > 0))
    return MVE_STATUS_INVALID_ARGUMENT;
  while (pos < len)
    {
      size_t end = next_piece (s, len, pos);
      n_out = encode_piece (tok, s + pos, end - pos, ids, cap, n_out);
      pos = end;
    }
  if (n_ids != NULL)
    *n_ids = n_out;
  return MVE_STATUS_OK;
}

const uint8_t *
mve_tokenizer_token_bytes (const mve_tokenizer *tok, int32_t id, size_t *len)
{
  if (tok == NULL || id < 0 || id >= tok->size)
    {
      if (len)
        *len = 0;
      return NULL;
    }
  if (len)
    *len = tok->tok_len[id];
  return tok->tok_bytes + tok->tok_off[id];
}

size_t
mve_tokenizer_decode (const mve_tokenizer *tok, const int32_t *ids, size_t n, char *out,
                      size_t cap, uint32_t flags)
{
  size_t total = 0;

  for (size_t i = 0; tok != NULL && ids != NULL && i < n; i++)
    {
      int32_t id = ids[i];
      size_t l;
      if (id < 0 || id >= tok->size)
        continue;
      if (id < MVE_TOKENIZER_N_SPECIAL && (flags & MVE_DECODE_SKIP_SPECIAL))
        continue;
      l = tok->tok_len[id];
      if (out != NULL && total < cap)
        {
          size_t room = cap - total;
          memcpy (out + total, tok->tok_bytes + tok->tok_off[id], l < room ? l : room);
        }
      total += l;
    }
  if (out != NULL && cap > 0)
    out[total < cap ? total : cap - 1] = '\0';
  return total;
}

// --- files -----------------------------------------------------------------------

mve_status
mve_tokenizer_save (const mve_tokenizer *tok, const char *path, char *err, unsigned long errn)
{
  // each merge is at most ",\n  [1048575,1048575]" (21 bytes)
  size_t cap;
  char *buf, *p;
  struct mve_chunk chunk;
  mve_status st;

  if (tok == NULL || path == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no tokenizer or path");
  cap = 512 + (size_t) tok->n_merges * 24;
  buf = malloc (cap);
  if (buf == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  p = buf;
  p += sprintf (p, "{\"format\": \"mvaema-bpe\", \"version\": 1, \"vocab_size\": %d,\n"
                   " \"pretokenizer\": \"mvaema-v1\",\n \"special\": [", (int) tok->size);
  for (int i = 0; i < MVE_TOKENIZER_N_SPECIAL; i++)
    p += sprintf (p, "%s\"%s\"", i ? ", " : "", special_names[i]);
  p += sprintf (p, "],\n \"merges\": [");
  for (int32_t i = 0; i < tok->n_merges; i++)
    p += sprintf (p, "%s[%d,%d]", i == 0 ? "" : (i % 8 == 0 ? ",\n  " : ","),
                  (int) tok->merges[2 * i], (int) tok->merges[2 * i + 1]);
  p += sprintf (p, "]}\n");
  chunk.data = buf;
  chunk.len = (size_t) (p - buf);
  st = mve_write_atomic (path, &chunk, 1, err, errn);
  free (buf);
  return st;
}

mve_status
mve_tokenizer_load_from_memory (mve_tokenizer **out, const char *json, size_t len, char *err,
                                unsigned long errn)
{
  struct mve_json *root = NULL;
  const struct mve_json *v, *merges, *special;
  mve_tokenizer *tok = NULL;
  char jerr[160];
  mve_status st;

  if (out == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no output");
  *out = NULL;
  st = mve_json_parse (json, len, &root, jerr, sizeof jerr);
  if (st != MVE_STATUS_OK)
    return mve_error_set (err, errn, st, "tokenizer file is not valid JSON (%s)", jerr);
  if (root->type != MVE_JSON_OBJECT)
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "tokenizer file is not a JSON object");
      goto out;
    }
  v = mve_json_get (root, "format");
  if (v == NULL || v->type != MVE_JSON_STRING || strcmp (v->str, "mvaema-bpe") != 0)
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                          "not an MVaEMa tokenizer (format is not \"mvaema-bpe\")");
      goto out;
    }
  v = mve_json_get (root, "version");
  if (v == NULL || v->type != MVE_JSON_NUMBER || !v->is_int || v->integer != 1)
    {
      st = mve_error_set (err, errn, MVE_STATUS_UNSUPPORTED, "tokenizer version is not 1");
      goto out;
    }
  v = mve_json_get (root, "pretokenizer");
  if (v != NULL && (v->type != MVE_JSON_STRING || strcmp (v->str, "mvaema-v1") != 0))
    {
      st = mve_error_set (err, errn, MVE_STATUS_UNSUPPORTED, "unknown pretokenizer");
      goto out;
    }
  special = mve_json_get (root, "special");
  if (special == NULL || special->type != MVE_JSON_ARRAY || special->n != MVE_TOKENIZER_N_SPECIAL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "tokenizer needs the 7 special tokens");
      goto out;
    }
  for (size_t i = 0; i < special->n; i++)
    if (special->items[i].type != MVE_JSON_STRING ||
        strcmp (special->items[i].str, special_names[i]) != 0)
      {
        st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                            "special token %zu is not %s", i, special_names[i]);
        goto out;
      }
  merges = mve_json_get (root, "merges");
  if (merges == NULL || merges->type != MVE_JSON_ARRAY ||
      merges->n > (size_t) (MVE_TOKENIZER_MAX_SIZE - MVE_TOKENIZER_N_BASE))
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "tokenizer has no valid merges list");
      goto out;
    }
  v = mve_json_get (root, "vocab_size");
  if (v == NULL || v->type != MVE_JSON_NUMBER || !v->is_int ||
      v->integer != (int64_t) (MVE_TOKENIZER_N_BASE + merges->n))
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                          "vocab_size does not match 263 + the number of merges (%zu)", merges->n);
      goto out;
    }
  tok = calloc (1, sizeof *tok);
  if (tok == NULL || (tok->merges = malloc ((merges->n + 1) * 2 * sizeof *tok->merges)) == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto out;
    }
  for (size_t i = 0; i < merges->n; i++)
    {
      const struct mve_json *m = &merges->items[i];
      if (m->type != MVE_JSON_ARRAY || m->n != 2 || m->items[0].type != MVE_JSON_NUMBER ||
          !m->items[0].is_int || m->items[1].type != MVE_JSON_NUMBER || !m->items[1].is_int ||
          m->items[0].integer < 0 || m->items[0].integer >= MVE_TOKENIZER_MAX_SIZE ||
          m->items[1].integer < 0 || m->items[1].integer >= MVE_TOKENIZER_MAX_SIZE)
        {
          st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "merge %zu is not a pair of token ids", i);
          goto out;
        }
      tok->merges[2 * i] = (int32_t) m->items[0].integer;
      tok->merges[2 * i + 1] = (int32_t) m->items[1].integer;
    }
  tok->n_merges = (int32_t) merges->n;
  st = finish_tokenizer (tok, err, errn);
  if (st != MVE_STATUS_OK)
    goto out;
  *out = tok;
  tok = NULL;

out:
  mve_tokenizer_free (tok);
  mve_json_free (root);
  return st;
}

mve_status
mve_tokenizer_load (mve_tokenizer **out, const char *path, char *err, unsigned long errn)
{
  FILE *fp;
  char *buf = NULL;
  long n;
  mve_status st;
  char lerr[256];

  if (out == NULL || path == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no path");
  *out = NULL;
  fp = fopen (path, "rb");
  if (fp == NULL)
    return mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot open %s: %s", path,
                          strerror (errno));
  if (fseek (fp, 0, SEEK_END) != 0 || (n = ftell (fp)) < 0 || fseek (fp, 0, SEEK_SET) != 0)
    {
      fclose (fp);
      return mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot read %s", path);
    }
  if (n > 64L * 1024 * 1024)
    {
      fclose (fp);
      return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "%s is too large for a tokenizer",
                            path);
    }
  buf = malloc ((size_t) n + 1);
  if (buf == NULL)
    {
      fclose (fp);
      return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
    }
  if (fread (buf, 1, (size_t) n, fp) != (size_t) n)
    {
      fclose (fp);
      free (buf);
      return mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot read %s", path);
    }
  fclose (fp);
  st = mve_tokenizer_load_from_memory (out, buf, (size_t) n, lerr, sizeof lerr);
  free (buf);
  if (st != MVE_STATUS_OK)
    return mve_error_set (err, errn, st, "%s: %s", path, lerr);
  return MVE_STATUS_OK;
}
