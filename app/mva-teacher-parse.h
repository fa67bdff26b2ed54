/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-parse.h: reading a chat-completions reply and turning the
 * teacher's text into question/answer pairs of one family.
 *
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(MvaTeacherReply) reply = mva_teacher_reply_parse (body, len, &error);
 *   g_autoptr(GPtrArray) pairs = NULL;
 *   if (reply != NULL && mva_teacher_reply_check (reply, &error))
 *     pairs = mva_teacher_parse_pairs (family, reply->content, &error);
 *
 * The teacher is asked for "Q1:/A1:" blocks, but models also answer with
 * numbered lists ("1. **What ...?** It ..."), markdown headings ("### Shape"),
 * or one paragraph per question; all of these are read. A reply from which no
 * pair can be read is an error (MVA_TEACHER_ERROR_MALFORMED), never an empty
 * success. Pure functions: safe from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *question;
  char *answer;
} MvaTeacherPair;

typedef struct
{
  char   *content;            /* the assistant message text; NULL when absent */
  char   *finish_reason;      /* "stop", "length", ...; NULL when absent */
  char   *model;              /* model name the server reports; NULL when absent */
  gint64  prompt_tokens;      /* usage.prompt_tokens, -1 when absent */
  gint64  completion_tokens;  /* usage.completion_tokens, -1 when absent */
} MvaTeacherReply;

MvaTeacherPair  *mva_teacher_pair_new     (const char *question,
                                           const char *answer);
void             mva_teacher_pair_free    (MvaTeacherPair *pair);

/* Parse a chat-completions response body. Returns NULL with
 * MVA_TEACHER_ERROR_MALFORMED when the body is not JSON or lacks choices /
 * message, and MVA_TEACHER_ERROR_SERVER when it is an {"error": ...} object. */
MvaTeacherReply *mva_teacher_reply_parse  (const char *body,
                                           gssize      length,
                                           GError    **error);
void             mva_teacher_reply_free   (MvaTeacherReply *reply);

/* FALSE with MVA_TEACHER_ERROR_TRUNCATED when the reply was cut off
 * (finish_reason "length"), MVA_TEACHER_ERROR_REFUSED for "content_filter",
 * MVA_TEACHER_ERROR_MALFORMED when the content is empty. */
gboolean         mva_teacher_reply_check  (const MvaTeacherReply *reply,
                                           GError               **error);

/* The question/answer pairs in a reply to the prompt of `family` (1..10),
 * as a GPtrArray of MvaTeacherPair (free func set), in reply order, without
 * duplicate questions. Questions the teacher did not repeat are taken from the
 * family's prompt. NULL with MVA_TEACHER_ERROR_MALFORMED when none is found. */
GPtrArray       *mva_teacher_parse_pairs  (guint        family,
                                           const char  *content,
                                           GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherPair, mva_teacher_pair_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherReply, mva_teacher_reply_free)

G_END_DECLS
