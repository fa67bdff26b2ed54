// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-tokenizer.c: libFuzzer target for the tokenizer file loader
// (engine/mve-tokenizer.c). The input is a tokenizer.json candidate; when it
// loads, the input itself is also encoded as text and must decode back to
// the same bytes, and no special token may come out of plain text.
// Built with -Dfuzz=true (clang); fuzz-replay.c runs the corpus in CI.
#include "mve-tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_round_trip (const mve_tokenizer *tok, const uint8_t *text, size_t len)
{
  size_t n = 0, back_len;
  int32_t *ids = malloc ((len + 1) * sizeof *ids);
  char *back = malloc (len + 1);

  if (ids == NULL || back == NULL)
    goto out;
  if (mve_tokenizer_encode (tok, (const char *) text, len, ids, len + 1, &n) != MVE_STATUS_OK ||
      n > len)
    abort ();
  for (size_t i = 0; i < n; i++)
    if (ids[i] < MVE_TOKENIZER_N_SPECIAL || ids[i] >= mve_tokenizer_size (tok))
      abort ();
  back_len = mve_tokenizer_decode (tok, ids, n, back, len + 1, 0);
  if (back_len != len || memcmp (back, text, len) != 0)
    abort ();
out:
  free (ids);
  free (back);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  mve_tokenizer *tok = NULL;
  char err[256] = "";

  if (mve_tokenizer_load_from_memory (&tok, (const char *) data, size, err, sizeof err) ==
      MVE_STATUS_OK)
    {
      static const char sample[] = "The nanowires are 250 nm wide; 1.5 µm Å 😀 \xff\xfe <EOS>";
      check_round_trip (tok, (const uint8_t *) sample, sizeof sample - 1);
      check_round_trip (tok, data, size);
      mve_tokenizer_free (tok);
    }
  else
    {
      if (err[0] == '\0' || strchr (err, '\n') != NULL)
        abort ();
      // any input must also round-trip through a bytes-only tokenizer
      if (mve_tokenizer_train (&tok, NULL, 0, MVE_TOKENIZER_N_BASE, err, sizeof err) ==
          MVE_STATUS_OK)
        {
          check_round_trip (tok, data, size);
          mve_tokenizer_free (tok);
        }
    }
  return 0;
}
