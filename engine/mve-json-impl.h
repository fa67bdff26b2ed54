// SPDX-License-Identifier: GPL-3.0-or-later
// mve-json-impl.h: a small, strict JSON reader for the engine's own files
// (the safetensors header, tokenizer.json). Internal to engine/.
//
// Strict means RFC 8259 and nothing more: no comments, no trailing commas, no
// NaN, no leading zeros, strings must be valid UTF-8 without raw control
// characters, duplicate keys in one object are refused, nesting is limited.
// Numbers keep an exact int64 when they are integers (no fraction, no
// exponent) that fit; other numbers get an approximate double only (the engine
// formats need integers alone, and this avoids locale-dependent strtod).
//
//   struct mve_json *root = NULL;
//   if (mve_json_parse (text, len, &root, err, sizeof err) != MVE_STATUS_OK) ...
//   const struct mve_json *v = mve_json_get (root, "vocab_size");
//   mve_json_free (root);
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mve_json_type
{
  MVE_JSON_NULL,
  MVE_JSON_BOOL,
  MVE_JSON_NUMBER,
  MVE_JSON_STRING,
  MVE_JSON_ARRAY,
  MVE_JSON_OBJECT,
};

#define MVE_JSON_MAX_DEPTH 64

struct mve_json
{
  enum mve_json_type type;
  int boolean;              // MVE_JSON_BOOL
  int is_int;               // MVE_JSON_NUMBER: integer that fits in int64
  int64_t integer;          // valid when is_int
  double number;            // approximate value of any number
  char *str;                // MVE_JSON_STRING: decoded UTF-8, NUL-terminated
  size_t str_len;           // bytes (a \u0000 escape makes str_len > strlen)
  char *key;                // member name when the parent is an object
  size_t key_len;
  struct mve_json *items;   // MVE_JSON_ARRAY / MVE_JSON_OBJECT children (n of them)
  size_t n;
};

// Parse exactly one JSON value from text[0..len) (whitespace around it is
// allowed, anything else after it is an error). On failure *out is NULL and err
// holds "offset N: reason".
mve_status mve_json_parse (const char *text, size_t len, struct mve_json **out,
                           char *err, unsigned long errn);
void mve_json_free (struct mve_json *root);

// 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates), else 0.
int mve_json_utf8_valid (const char *s, size_t len);

// Member of an object by key (NULL when absent or v is not an object).
const struct mve_json *mve_json_get (const struct mve_json *v, const char *key);

#ifdef __cplusplus
}
#endif
