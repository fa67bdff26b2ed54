// SPDX-License-Identifier: GPL-3.0-or-later
// test-tokenizer.c: the byte-level BPE tokenizer of engine/mve-tokenizer:
// exact round trips of random UTF-8 and random bytes, µm/Å, no special token
// from plain text, vocabulary size honoured, determinism, digits, save/load
// and refusal of damaged tokenizer files. Exit 1 on any failure.
#include "mve-tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                 \
  do                                                                                     \
    {                                                                                    \
      if (!(cond))                                                                       \
        {                                                                                \
          fprintf (stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
          fprintf (stderr, __VA_ARGS__);                                                 \
          fputc ('\n', stderr);                                                          \
          failures++;                                                                    \
        }                                                                                \
    }                                                                                    \
  while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t
rnd (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t) (rng_state >> 11);
}

// --- a synthetic micrograph-answer corpus -------------------------------------

static const char *const subjects[] = {
  "nanowires", "particles", "pores", "fibres", "grains", "pillars", "flakes", "tips",
  "electrodes", "spheres", "rods", "domains", "bundles", "films", "cells",
};
static const char *const verbs[] = {
  "are", "appear", "look", "seem", "are arranged", "are distributed", "lie",
};
static const char *const adjs[] = {
  "uniform", "clustered", "randomly oriented", "aligned", "porous", "smooth", "rough",
  "agglomerated", "well separated", "faceted", "polydisperse", "monodisperse",
};
static const char *const units[] = { "nm", "µm", "Å", "mm", "nm/px", "µm²" };

static const char *const syllables[] = {
  "ka", "lo", "mi", "tra", "zen", "phos", "ox", "yl", "ene", "ite", "ium", "gra", "sil", "cu",
  "fer", "ro", "ni", "tan", "zir", "co", "al", "ga", "ar", "se", "nid", "bor", "hex", "mo",
};

static char *
make_sentence (void)
{
  char buf[512], name[64];
  int n;
  snprintf (name, sizeof name, "%s%s%s", syllables[rnd () % 28], syllables[rnd () % 28],
            syllables[rnd () % 28]);
  n = snprintf (buf, sizeof buf, "The %s of %s %s %s, about %u %s wide",
                subjects[rnd () % 15], name, verbs[rnd () % 7], adjs[rnd () % 12],
                (unsigned) (rnd () % 2000), units[rnd () % 6]);
  if (rnd () % 3 == 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, " (spacing %u.%u %s).",
                   (unsigned) (rnd () % 100), (unsigned) (rnd () % 10), units[rnd () % 6]);
  else
    n += snprintf (buf + n, sizeof buf - (size_t) n, ". This SEM image shows %s.",
                   subjects[rnd () % 15]);
  return strdup (buf);
}

static char **
make_corpus (size_t n)
{
  char **texts = malloc (n * sizeof *texts);
  for (size_t i = 0; i < n; i++)
    texts[i] = make_sentence ();
  return texts;
}

static void
free_corpus (char **texts, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (texts[i]);
  free (texts);
}

// --- helpers -------------------------------------------------------------------

static int
round_trips (const mve_tokenizer *tok, const char *text, size_t len)
{
  size_t n = 0, cap = len + 1, out_len;
  int32_t *ids = malloc (cap * sizeof *ids);
  char *back = malloc (len + 1);
  int ok = 1;

  if (mve_tokenizer_encode (tok, text, len, ids, cap, &n) != MVE_STATUS_OK || n > len)
    ok = 0;
  for (size_t i = 0; ok && i < n; i++)
    if (ids[i] < MVE_TOKENIZER_BYTE0 || ids[i] >= mve_tokenizer_size (tok))
      ok = 0;
  if (ok)
    {
      out_len = mve_tokenizer_decode (tok, ids, n, back, len + 1, 0);
      ok = out_len == len && memcmp (back, text, len) == 0;
    }
  free (ids);
  free (back);
  return ok;
}

static size_t
count_tokens (const mve_tokenizer *tok, const char *text)
{
  size_t n = 0;
  mve_tokenizer_encode (tok, text, strlen (text), NULL, 0, &n);
  return n;
}

static void
random_utf8 (char *buf, size_t *len, size_t max)
{
  size_t n = 0;
  while (n + 4 < max && rnd () % 40 != 0)
    {
      uint32_t cp, kind = rnd () % 6;
      if (kind == 0) cp = ' ';
      else if (kind == 1) cp = 0x20 + rnd () % 95;
      else if (kind == 2) cp = 0xA0 + rnd () % 0x700;          // Latin-1, Greek (µ), ...
      else if (kind == 3) cp = 0x800 + rnd () % (0xD800 - 0x800);
      else if (kind == 4) cp = 0x1F300 + rnd () % 0x300;        // emoji
      else cp = rnd () % 0x80;                                   // controls too
      if (cp < 0x80)
        buf[n++] = (char) cp;
      else if (cp < 0x800)
        {
          buf[n++] = (char) (0xC0 | (cp >> 6));
          buf[n++] = (char) (0x80 | (cp & 0x3F));
        }
      else if (cp < 0x10000)
        {
          buf[n++] = (char) (0xE0 | (cp >> 12));
          buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
          buf[n++] = (char) (0x80 | (cp & 0x3F));
        }
      else
        {
          buf[n++] = (char) (0xF0 | (cp >> 18));
          buf[n++] = (char) (0x80 | ((cp >> 12) & 0x3F));
          buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
          buf[n++] = (char) (0x80 | (cp & 0x3F));
        }
    }
  *len = n;
}

static char tmpdir[256];

static char *
slurp (const char *path, size_t *len)
{
  FILE *fp = fopen (path, "rb");
  char *buf;
  long n;
  if (fp == NULL)
    return NULL;
  fseek (fp, 0, SEEK_END);
  n = ftell (fp);
  fseek (fp, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  if (fread (buf, 1, (size_t) n, fp) != (size_t) n)
    n = 0;
  buf[n] = '\0';
  fclose (fp);
  *len = (size_t) n;
  return buf;
}

static void
expect_load_fails (const char *json, const char *why)
{
  mve_tokenizer *tok = NULL;
  char err[256] = "";
  mve_status st = mve_tokenizer_load_from_memory (&tok, json, strlen (json), err, sizeof err);
  CHECK (st != MVE_STATUS_OK && tok == NULL && err[0] != '\0' && strchr (err, '\n') == NULL,
         "%s: accepted (%s)", why, err);
  mve_tokenizer_free (tok);
}

// --- tests ---------------------------------------------------------------------

static void
test_train_and_roundtrip (void)
{
  const size_t n_texts = 20000;
  char **texts = make_corpus (n_texts);
  mve_tokenizer *tok = NULL, *tok2 = NULL, *loaded = NULL;
  char err[256], path[512], path2[512];
  mve_status st;

  st = mve_tokenizer_train (&tok, (const char *const *) texts, n_texts, 1000, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "train: %s", err);
  if (tok == NULL)
    {
      free_corpus (texts, n_texts);
      return;
    }
  CHECK (mve_tokenizer_size (tok) == 1000, "vocab size %d, want 1000", mve_tokenizer_size (tok));

  // learned something: frequent words become one or two tokens
  CHECK (count_tokens (tok, "The nanowires are uniform") <= 5, "%zu tokens",
         count_tokens (tok, "The nanowires are uniform"));
  CHECK (count_tokens (tok, " µm") == 1, "\" µm\" is %zu tokens", count_tokens (tok, " µm"));
  // digits are spelled one by one
  {
    int32_t ids[16];
    size_t n;
    mve_tokenizer_encode (tok, "250", 3, ids, 16, &n);
    CHECK (n == 3, "\"250\" is %zu tokens", n);
    for (size_t i = 0; i < n && n == 3; i++)
      {
        size_t l;
        const uint8_t *b = mve_tokenizer_token_bytes (tok, ids[i], &l);
        CHECK (l == 1 && b[0] == "250"[i], "digit token %zu", i);
      }
  }
  // round trips
  {
    static const char *const fixed[] = {
      "", " ", "  ", "\n\n", "a", "µm", "Å", "The pitch is 250 nm (±3 nm); 1.5 µm², 12 Å.",
      "Ångström-scale µ-features 😀🔬 and 中文 text", "<EOS> <pad> <cls><sep><Decode><Encode><unk>",
      "tabs\tand\r\nnewlines   \t  mixed", "\xff\xfe\x80 invalid \xc3\x28 bytes \xed\xa0\x80",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa long run",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
      CHECK (round_trips (tok, fixed[i], strlen (fixed[i])), "round trip of \"%s\"", fixed[i]);
    for (int i = 0; i < 2000; i++)
      {
        char buf[400];
        size_t len;
        random_utf8 (buf, &len, sizeof buf);
        CHECK (round_trips (tok, buf, len), "random UTF-8 #%d", i);
      }
    for (int i = 0; i < 2000; i++)
      {
        char buf[300];
        size_t len = rnd () % sizeof buf;
        for (size_t j = 0; j < len; j++)
          buf[j] = (char) (rnd () & 0xFF);
        CHECK (round_trips (tok, buf, len), "random bytes #%d", i);
      }
    for (size_t i = 0; i < 500; i++)
      CHECK (round_trips (tok, texts[i], strlen (texts[i])), "corpus sentence %zu", i);
  }
  // special tokens never come from text, but decode names them unless skipped
  {
    int32_t ids[4] = { 6, 7 + 'a', 0, 2 };
    char out[64];
    size_t n = mve_tokenizer_decode (tok, ids, 4, out, sizeof out, 0);
    CHECK (n == strlen ("<EOS>a<pad><cls>") && strcmp (out, "<EOS>a<pad><cls>") == 0,
           "decode with specials: %s", out);
    n = mve_tokenizer_decode (tok, ids, 4, out, sizeof out, MVE_DECODE_SKIP_SPECIAL);
    CHECK (n == 1 && strcmp (out, "a") == 0, "decode skipping specials: %s", out);
    n = mve_tokenizer_decode (tok, ids, 4, out, 3, 0);
    CHECK (n == 16 && strlen (out) == 2, "truncated decode");
  }
  // encode into a short buffer reports the full count
  {
    int32_t ids[2];
    size_t n = 0, full = count_tokens (tok, "The nanowires are uniform, about 12 nm wide.");
    mve_tokenizer_encode (tok, "The nanowires are uniform, about 12 nm wide.", 44, ids, 2, &n);
    CHECK (n == full && n > 2, "short buffer count %zu vs %zu", n, full);
  }

  // determinism: the same corpus gives the same tokenizer, byte for byte
  snprintf (path, sizeof path, "%s/tok1.json", tmpdir);
  snprintf (path2, sizeof path2, "%s/tok2.json", tmpdir);
  st = mve_tokenizer_train (&tok2, (const char *const *) texts, n_texts, 1000, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "second train");
  CHECK (mve_tokenizer_save (tok, path, err, sizeof err) == MVE_STATUS_OK, "save: %s", err);
  CHECK (mve_tokenizer_save (tok2, path2, err, sizeof err) == MVE_STATUS_OK, "save2: %s", err);
  {
    size_t l1 = 0, l2 = 0;
    char *a = slurp (path, &l1), *b = slurp (path2, &l2);
    CHECK (a != NULL && b != NULL && l1 == l2 && memcmp (a, b, l1) == 0, "determinism");
    // every truncation of a saved file is refused
    for (size_t cut = 0; a != NULL && cut + 1 < l1; cut += (cut < 200 ? 1 : 97))
      {
        mve_tokenizer *t = NULL;
        st = mve_tokenizer_load_from_memory (&t, a, cut, err, sizeof err);
        CHECK (st != MVE_STATUS_OK && t == NULL, "truncated at %zu accepted", cut);
        mve_tokenizer_free (t);
      }
    free (a);
    free (b);
  }

  // load gives the same encoding
  st = mve_tokenizer_load (&loaded, path, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "load: %s", err);
  if (loaded != NULL)
    {
      CHECK (mve_tokenizer_size (loaded) == 1000, "loaded size");
      for (size_t i = 0; i < 300; i++)
        {
          int32_t a[256], b[256];
          size_t na, nb;
          mve_tokenizer_encode (tok, texts[i], strlen (texts[i]), a, 256, &na);
          mve_tokenizer_encode (loaded, texts[i], strlen (texts[i]), b, 256, &nb);
          CHECK (na == nb && memcmp (a, b, na * sizeof *a) == 0, "loaded encodes sentence %zu", i);
        }
    }
  mve_tokenizer_free (loaded);
  loaded = NULL;
  CHECK (mve_tokenizer_load (&loaded, "/nonexistent/tokenizer.json", err, sizeof err) ==
         MVE_STATUS_IO_ERROR && loaded == NULL, "missing file");

  mve_tokenizer_free (tok);
  mve_tokenizer_free (tok2);
  free_corpus (texts, n_texts);
}

static void
test_small_and_edge (void)
{
  const char *texts[] = { "aa aa aa", "aa", NULL };
  mve_tokenizer *tok = NULL;
  char err[256];

  // tiny corpus: training stops when no pair occurs twice (vocab below the cap)
  CHECK (mve_tokenizer_train (&tok, texts, 3, 8192, err, sizeof err) == MVE_STATUS_OK, "%s", err);
  CHECK (tok != NULL && mve_tokenizer_size (tok) < 8192 &&
         mve_tokenizer_size (tok) >= MVE_TOKENIZER_N_BASE + 1, "tiny corpus size %d",
         mve_tokenizer_size (tok));
  CHECK (tok != NULL && round_trips (tok, "aa µ", 5), "tiny round trip");
  mve_tokenizer_free (tok);
  tok = NULL;
  CHECK (mve_tokenizer_train (&tok, texts, 0, 263, err, sizeof err) == MVE_STATUS_OK &&
         mve_tokenizer_size (tok) == 263, "no corpus: bytes only");
  CHECK (tok != NULL && round_trips (tok, "bytes only µ", 13), "bytes-only round trip");
  mve_tokenizer_free (tok);
  tok = NULL;
  CHECK (mve_tokenizer_train (&tok, texts, 2, 100, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT && tok == NULL, "vocab below 263 refused");

  // a hand-written file loads; damaged ones are refused
  {
    const char *good = "{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":265,"
                       "\"special\":[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\","
                       "\"<sep>\",\"<EOS>\"],\"merges\":[[104,104],[263,263]]}";
    {
      mve_status st = mve_tokenizer_load_from_memory (&tok, good, strlen (good), err, sizeof err);
      CHECK (st == MVE_STATUS_OK && mve_tokenizer_size (tok) == 265, "hand-written: %s", err);
      CHECK (tok != NULL && count_tokens (tok, "aaaa") == 1 && count_tokens (tok, "aaa") == 2,
             "merges applied (aaaa -> 1 token)");
      mve_tokenizer_free (tok);
      tok = NULL;
    }
  }
  expect_load_fails ("", "empty");
  expect_load_fails ("[]", "array");
  expect_load_fails ("{\"format\":\"gpt2\"}", "foreign format");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":2,\"vocab_size\":263,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[]}", "version 2");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":264,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[]}", "size mismatch");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":263,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<EOS>\",\"<sep>\"],"
                     "\"merges\":[]}", "special order");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":264,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[[263,8]]}", "forward reference");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":264,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[[6,8]]}", "special in merge");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":265,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[[8,9],[8,9]]}", "duplicate merge");
  expect_load_fails ("{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":264,\"special\":"
                     "[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\",\"<sep>\",\"<EOS>\"],"
                     "\"merges\":[[8,-1]]}", "negative id");
  {
    // a chain of self-merges whose token would exceed the longest piece
    char buf[2048];
    int n = snprintf (buf, sizeof buf, "{\"format\":\"mvaema-bpe\",\"version\":1,\"vocab_size\":%d,"
                      "\"special\":[\"<pad>\",\"<unk>\",\"<cls>\",\"<Encode>\",\"<Decode>\","
                      "\"<sep>\",\"<EOS>\"],\"merges\":[[8,8]", 263 + 40);
    for (int i = 1; i < 40; i++)
      n += snprintf (buf + n, sizeof buf - (size_t) n, ",[%d,%d]", 262 + i, 262 + i);
    snprintf (buf + n, sizeof buf - (size_t) n, "]}");
    expect_load_fails (buf, "exponential token");
  }
}

static void
test_speed_corpus (void)
{
  // ~100k sentences must train in seconds (not asserted: reported for the note)
  const size_t n_texts = 100000;
  char **texts = make_corpus (n_texts);
  mve_tokenizer *tok = NULL;
  char err[256];
  struct timespec t0, t1;
  mve_status st;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  st = mve_tokenizer_train (&tok, (const char *const *) texts, n_texts, 8192, err, sizeof err);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  CHECK (st == MVE_STATUS_OK, "train 100k: %s", err);
  if (tok != NULL)
    {
      CHECK (mve_tokenizer_size (tok) <= 8192 && mve_tokenizer_size (tok) > 1000,
             "size %d", mve_tokenizer_size (tok));
      printf ("trained %zu sentences -> %d entries in %.2f s\n", n_texts,
              mve_tokenizer_size (tok),
              (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec));
    }
  mve_tokenizer_free (tok);
  free_corpus (texts, n_texts);
}

int
main (void)
{
  snprintf (tmpdir, sizeof tmpdir, "%s/mve-tok-" "XX" "XX" "XX", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  test_train_and_roundtrip ();
  test_small_and_edge ();
  test_speed_corpus ();
  {
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", tmpdir);
  }
  if (failures)
    {
      fprintf (stderr, "%d check(s) failed\n", failures);
      return 1;
    }
  printf ("all tokenizer checks passed\n");
  return 0;
}
