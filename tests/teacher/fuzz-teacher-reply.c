// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-teacher-reply.c: libFuzzer target for what the teacher's server sends
// back (app/mva-teacher-parse.c). The first byte picks the family; the rest
// is read both as a chat-completions body and as the assistant's text.
// Invariants: a result is either an error or at least one pair; every pair
// has a non-empty, trimmed, valid UTF-8 question and answer, no duplicates.
// Built with -Dfuzz=true (clang); ../fuzz/fuzz-replay.c runs the corpus in CI.
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mva-teacher-parse.h"
#include "mva-teacher-prompts.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_pairs (GPtrArray *pairs)
{
  if (pairs == NULL)
    return;
  if (pairs->len == 0)
    abort ();
  for (guint i = 0; i < pairs->len; i++)
    {
      MvaTeacherPair *p = g_ptr_array_index (pairs, i);

      if (p->question == NULL || p->answer == NULL || *p->question == '\0' || *p->answer == '\0' ||
          !g_utf8_validate (p->question, -1, NULL) || !g_utf8_validate (p->answer, -1, NULL) ||
          g_ascii_isspace (p->answer[0]) || g_ascii_isspace (p->answer[strlen (p->answer) - 1]))
        abort ();
      for (guint j = 0; j < i; j++)
        {
          MvaTeacherPair *q = g_ptr_array_index (pairs, j);
          g_autofree char *a = g_utf8_casefold (p->question, -1);
          g_autofree char *b = g_utf8_casefold (q->question, -1);

          if (strcmp (a, b) == 0)
            abort ();
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaTeacherReply) reply = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  g_autoptr(GPtrArray) direct = NULL;
  g_autofree char *text = NULL;
  guint family;

  if (size < 1)
    return 0;
  family = 1 + data[0] % MVA_TEACHER_N_FAMILIES;
  reply = mva_teacher_reply_parse ((const char *) data + 1, (gssize) size - 1, &error);
  if ((reply == NULL) == (error == NULL))
    abort ();
  g_clear_error (&error);
  if (reply != NULL && mva_teacher_reply_check (reply, &error))
    {
      pairs = mva_teacher_parse_pairs (family, reply->content, &error);
      if ((pairs == NULL) == (error == NULL))
        abort ();
      check_pairs (pairs);
    }
  g_clear_error (&error);
  text = g_strndup ((const char *) data + 1, size - 1);
  direct = mva_teacher_parse_pairs (family, text, &error);
  if ((direct == NULL) == (error == NULL))
    abort ();
  check_pairs (direct);
  return 0;
}
