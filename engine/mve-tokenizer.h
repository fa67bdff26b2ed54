// SPDX-License-Identifier: GPL-3.0-or-later
// mve-tokenizer.h: the domain tokenizer, byte-level BPE, plain C11.
//
// Vocabulary: ids 0..6 are the special tokens <pad> <unk> <cls> <Encode>
// <Decode> <sep> <EOS> (the MVE_TOKEN_* ids of mve.h), ids 7..262 the 256 byte
// values, then one id per learned merge, in the order learned; 8192 entries
// by default. Because every byte has a token, encode/decode round-trips any
// byte string exactly (UTF-8 like "µm" and "Å", emoji, even invalid bytes),
// and plain text never produces a special token (a literal "<EOS>" in text is
// spelled with byte/merge tokens). <unk> is never produced; it exists for the
// model's fixed id table.
//
// Pre-tokenisation (merges never cross these pieces): an optional single
// space followed by a run of letters (ASCII letters and every byte >= 0x80,
// so "µm" or "Å" stay in the word), an optional space followed by ONE digit
// (numbers are spelled digit by digit, so the model can read any value), an
// optional space followed by a run of punctuation, or a run of whitespace.
// Case is kept.
//
// File format (tokenizer.json, beside the weights):
//   {"format": "mvaema-bpe", "version": 1, "vocab_size": N,
//    "special": ["<pad>", ...], "merges": [[a, b], ...]}
// where merge i creates id 263 + i from ids a and b (both < 263 + i).
//
//   mve_tokenizer *tok = NULL;
//   st = mve_tokenizer_train (&tok, texts, n_texts, 8192, err, sizeof err);
//   int32_t ids[64]; size_t n;
//   st = mve_tokenizer_encode (tok, "pitch 250 nm", 12, ids, 64, &n);
//   char text[256];
//   mve_tokenizer_decode (tok, ids, n, text, sizeof text, MVE_DECODE_SKIP_SPECIAL);
//   st = mve_tokenizer_save (tok, "model/tokenizer.json", err, sizeof err);
//   mve_tokenizer_free (tok);
//
// Thread-safety: a trained or loaded tokenizer is immutable; encode/decode may
// run from several threads at once.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVE_TOKENIZER_N_SPECIAL 7
#define MVE_TOKENIZER_BYTE0 7                                  // id of byte 0x00
#define MVE_TOKENIZER_N_BASE (MVE_TOKENIZER_BYTE0 + 256)       // 263: first merge id
#define MVE_TOKENIZER_DEFAULT_SIZE 8192
#define MVE_TOKENIZER_MAX_SIZE (1 << 20)

typedef struct mve_tokenizer mve_tokenizer;

// Learn merges from n texts (any bytes; NUL-terminated) until vocab_size
// entries or no pair occurs twice. vocab_size >= MVE_TOKENIZER_N_BASE.
// Deterministic: the same texts in the same order give the same merges.
mve_status mve_tokenizer_train (mve_tokenizer **out, const char *const *texts, size_t n,
                                int32_t vocab_size, char *err, unsigned long errn);

// Save as JSON (atomically: temp file, fsync, rename) / load with validation.
mve_status mve_tokenizer_save (const mve_tokenizer *tok, const char *path, char *err,
                               unsigned long errn);
mve_status mve_tokenizer_load (mve_tokenizer **out, const char *path, char *err,
                               unsigned long errn);
// Load from an in-memory JSON text (used by load and by the fuzz target).
mve_status mve_tokenizer_load_from_memory (mve_tokenizer **out, const char *json, size_t len,
                                           char *err, unsigned long errn);
void mve_tokenizer_free (mve_tokenizer *tok);

// Number of entries (specials + bytes + merges); the model's vocab_size.
int32_t mve_tokenizer_size (const mve_tokenizer *tok);

// Encode len bytes of text. Writes at most cap ids and sets *n_ids to the full
// count (so a second call with a bigger buffer gets everything). Never emits
// a special token.
mve_status mve_tokenizer_encode (const mve_tokenizer *tok, const char *text, size_t len,
                                 int32_t *ids, size_t cap, size_t *n_ids);

enum
{
  MVE_DECODE_SKIP_SPECIAL = 1 << 0, // leave out special tokens (else "<EOS>" etc. are written)
};

// Decode n ids into out (cap bytes, NUL-terminated when cap > 0), like
// snprintf: returns the number of bytes the full text needs (without the NUL).
// Ids out of range are written as nothing.
size_t mve_tokenizer_decode (const mve_tokenizer *tok, const int32_t *ids, size_t n, char *out,
                             size_t cap, uint32_t flags);

// The bytes of one token (for streaming); NULL for ids out of range.
const uint8_t *mve_tokenizer_token_bytes (const mve_tokenizer *tok, int32_t id, size_t *len);

#ifdef __cplusplus
}
#endif
