/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-parse.c: chat-completions reply -> question/answer pairs.
 *
 * Readers are tried in order and the first that finds pairs wins:
 *   1. labelled blocks: "Q1: ... A1: ...", "**Question 2:** ... **Answer:** ...";
 *   2. numbered lists: "1. **What ...?** answer", "2) answer" (question taken
 *      from the prompt by its number), then bullet lists ("- ...", by order);
 *   3. markdown headings: "### What ...?" or "## 2. Size" followed by text;
 *   4. plain paragraphs, only when there is exactly one per prompt question.
 * Markdown emphasis is removed and whitespace collapsed; answers that only
 * echo the template ("<your answer>") or are empty are dropped. Input comes
 * from the network: everything is bounds-checked, nothing is trusted.
 */
#define G_LOG_DOMAIN "mva-teacher"
#include "config.h"

#include "mva-teacher-parse.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "mva-teacher-config.h"
#include "mva-teacher-prompts.h"

#define MAX_QUESTION_CHARS 1000
#define MAX_ANSWER_CHARS   8000

MvaTeacherPair *
mva_teacher_pair_new (const char *question,
                      const char *answer)
{
  MvaTeacherPair *pair = g_new0 (MvaTeacherPair, 1);

  pair->question = g_strdup (question);
  pair->answer = g_strdup (answer);
  return pair;
}

void
mva_teacher_pair_free (MvaTeacherPair *pair)
{
  if (pair == NULL)
    return;
  g_free (pair->question);
  g_free (pair->answer);
  g_free (pair);
}

void
mva_teacher_reply_free (MvaTeacherReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->content);
  g_free (reply->finish_reason);
  g_free (reply->model);
  g_free (reply);
}

// --- the JSON envelope -------------------------------------------------------

static gint64
usage_int (JsonObject *usage,
           const char *key)
{
  JsonNode *n = usage != NULL ? json_object_get_member (usage, key) : NULL;

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return -1;
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return MAX (json_node_get_int (n), -1);
  if (json_node_get_value_type (n) == G_TYPE_DOUBLE)
    {
      double d = json_node_get_double (n);
      return d >= 0 && d < 1e15 ? (gint64) d : -1;
    }
  return -1;
}

/* message.content is a string, or (some servers) an array of parts
 * {"type":"text","text":...}; the text parts are joined. */
static char *
content_text (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *parts = json_node_get_array (node);
      GString *s = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (parts); i++)
        {
          JsonNode *p = json_array_get_element (parts, i);
          JsonObject *o = JSON_NODE_HOLDS_OBJECT (p) ? json_node_get_object (p) : NULL;
          const char *text = o != NULL ? json_object_get_string_member_with_default (o, "text", NULL)
                                       : NULL;

          if (text != NULL)
            {
              if (s->len > 0)
                g_string_append_c (s, '\n');
              g_string_append (s, text);
            }
        }
      return g_string_free (s, s->len == 0);
    }
  return NULL;
}

MvaTeacherReply *
mva_teacher_reply_parse (const char *body,
                         gssize      length,
                         GError    **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(MvaTeacherReply) reply = NULL;
  JsonNode *root;
  JsonObject *obj, *usage = NULL, *choice, *message;
  JsonArray *choices;
  JsonNode *n;

  if (body == NULL || length == 0 || (length < 0 && *body == '\0'))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED, "empty reply body");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, body, length, &local))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed JSON in reply: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: not a JSON object");
      return NULL;
    }
  obj = json_node_get_object (root);
  n = json_object_get_member (obj, "error");
  if (n != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      const char *msg = NULL;

      if (JSON_NODE_HOLDS_OBJECT (n))
        msg = json_object_get_string_member_with_default (json_node_get_object (n),
                                                          "message", NULL);
      else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        msg = json_node_get_string (n);
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_SERVER, "server error: %s",
                   msg != NULL ? msg : "(no message)");
      return NULL;
    }

  reply = g_new0 (MvaTeacherReply, 1);
  n = json_object_get_member (obj, "usage");
  if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
    usage = json_node_get_object (n);
  reply->prompt_tokens = usage_int (usage, "prompt_tokens");
  reply->completion_tokens = usage_int (usage, "completion_tokens");
  reply->model = g_strdup (json_object_get_string_member_with_default (obj, "model", NULL));

  n = json_object_get_member (obj, "choices");
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n) ||
      json_array_get_length (choices = json_node_get_array (n)) == 0)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: no choices");
      return NULL;
    }
  n = json_array_get_element (choices, 0);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: choice is not an object");
      return NULL;
    }
  choice = json_node_get_object (n);
  n = json_object_get_member (choice, "finish_reason");
  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    reply->finish_reason = g_strdup (json_node_get_string (n));
  n = json_object_get_member (choice, "message");
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: choice has no message");
      return NULL;
    }
  message = json_node_get_object (n);
  reply->content = content_text (json_object_get_member (message, "content"));
  return g_steal_pointer (&reply);
}

gboolean
mva_teacher_reply_check (const MvaTeacherReply *reply,
                         GError               **error)
{
  g_return_val_if_fail (reply != NULL, FALSE);

  if (reply->finish_reason != NULL && g_strcmp0 (reply->finish_reason, "length") == 0)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_TRUNCATED,
                   "truncated reply: cut off at max_tokens (finish_reason=length)");
      return FALSE;
    }
  if (reply->finish_reason != NULL && g_strcmp0 (reply->finish_reason, "content_filter") == 0)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_REFUSED,
                   "reply withheld by the server's content filter");
      return FALSE;
    }
  if (reply->content == NULL || *reply->content == '\0')
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: empty message content");
      return FALSE;
    }
  return TRUE;
}

// --- text clean-up -----------------------------------------------------------

/* Remove markdown emphasis and code marks, collapse whitespace, trim.
 * Leading list/quote marks ("- ", "> ") are removed too. */
static char *
clean_text (const char *text)
{
  GString *s = g_string_sized_new (strlen (text));
  const char *p = text;
  gboolean space = FALSE;

  /* control characters (tabs, form feeds, ...) count as blanks */
  while ((guchar) *p <= ' ' || *p == 0x7f || *p == '>' || *p == '-' || *p == '*' ||
         *p == '_' || *p == ':')
    {
      if (*p == '\0')
        break;
      p++;
    }
  for (; *p != '\0'; p++)
    {
      if (*p == '*' || *p == '`' || (*p == '_' && p[1] == '_'))
        {
          if (*p == '_')
            p++;
          continue;
        }
      if ((guchar) *p <= ' ' || *p == 0x7f)
        {
          space = TRUE;
          continue;
        }
      if (space && s->len > 0)
        g_string_append_c (s, ' ');
      space = FALSE;
      g_string_append_c (s, *p);
    }
  while (s->len > 0 && (s->str[s->len - 1] == '_' || s->str[s->len - 1] == ':' ||
                        s->str[s->len - 1] == ' '))
    g_string_truncate (s, s->len - 1);
  return g_string_free (s, FALSE);
}

/* TRUE when the text is an echo of the prompt's layout, not content. */
static gboolean
is_template_echo (const char *text)
{
  return *text == '\0' || g_str_has_prefix (text, "<the question") ||
         g_str_has_prefix (text, "<your answer");
}

typedef struct
{
  guint      family;
  GPtrArray *pairs;
  GHashTable *seen;   /* lower-cased questions */
} Collector;

static void
collect (Collector  *c,
         int         number,     /* 1-based number the reply gave, 0 when none */
         const char *question,   /* raw, may be NULL */
         const char *answer)     /* raw */
{
  g_autofree char *q = question != NULL ? clean_text (question) : g_strdup ("");
  g_autofree char *a = clean_text (answer);
  g_autofree char *key = NULL;
  guint n = mva_teacher_family_n_questions (c->family);

  if (is_template_echo (q))
    {
      /* question not repeated: take it from the prompt by number, else by order */
      guint index = number > 0 ? (guint) number - 1 : c->pairs->len;

      g_free (q);
      q = index < n ? g_strdup (mva_teacher_family_question (c->family, index)) : NULL;
    }
  if (q == NULL || is_template_echo (a) || strlen (q) > MAX_QUESTION_CHARS ||
      strlen (a) > MAX_ANSWER_CHARS || !g_utf8_validate (q, -1, NULL) ||
      !g_utf8_validate (a, -1, NULL))
    return;
  key = g_utf8_casefold (q, -1);
  if (g_hash_table_contains (c->seen, key))
    return;
  g_hash_table_add (c->seen, g_steal_pointer (&key));
  g_ptr_array_add (c->pairs, mva_teacher_pair_new (q, a));
}

static void
collector_reset (Collector *c)
{
  g_ptr_array_set_size (c->pairs, 0);
  g_hash_table_remove_all (c->seen);
}

// --- line patterns -----------------------------------------------------------

/* Skip leading blanks and markdown decoration (#, *, _, >, -). */
static const char *
skip_decoration (const char *line)
{
  while (*line == ' ' || *line == '\t' || *line == '*' || *line == '_' || *line == '>' ||
         *line == '#' || (*line == '-' && (line[1] == ' ' || line[1] == '*')))
    line++;
  return line;
}

/* Skip "**" and blanks after a label's colon. */
static const char *
skip_after_label (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '*' || *p == '_')
    p++;
  return p;
}

/* Recognise "Q:", "Q1:", "Q 1.", "Question 2:", "Question:" (kind 'Q') and the
 * same with A/Answer (kind 'A'). Returns the kind or 0; *number is the label's
 * number or 0; *rest the text after the label. A bare letter needs a colon,
 * so that "A. thaliana" or "A simple..." are not labels. */
static char
match_label (const char *line,
             int        *number,
             const char **rest)
{
  const char *p = skip_decoration (line);
  char kind;
  gboolean word = FALSE;
  int num = 0;

  if (g_ascii_strncasecmp (p, "question", 8) == 0)
    kind = 'Q', p += 8, word = TRUE;
  else if (g_ascii_strncasecmp (p, "answer", 6) == 0)
    kind = 'A', p += 6, word = TRUE;
  else if (*p == 'Q' || *p == 'q')
    kind = 'Q', p++;
  else if (*p == 'A' || *p == 'a')
    kind = 'A', p++;
  else
    return 0;
  while (*p == ' ')
    p++;
  if (g_ascii_isdigit (*p))
    {
      while (g_ascii_isdigit (*p) && num < 1000)
        num = num * 10 + (*p++ - '0');
      if (g_ascii_isdigit (*p))
        return 0;
    }
  while (*p == '*' || *p == '_' || *p == ' ')
    p++;
  if (*p == ':' || (num > 0 && (*p == '.' || *p == ')')) || (word && *p == '\0'))
    {
      if (*p != '\0')
        p++;
      *number = num;
      *rest = skip_after_label (p);
      return kind;
    }
  return 0;
}

/* "1. text", "1) text", "(1) text", "**1.** text", "**1. text**". */
static gboolean
match_numbered (const char *line,
                int        *number,
                const char **rest)
{
  const char *p = line;
  int num = 0;

  while (*p == ' ' || *p == '\t' || *p == '*' || *p == '_' || *p == '(')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p) && num < 1000)
    num = num * 10 + (*p++ - '0');
  if (g_ascii_isdigit (*p) || (*p != '.' && *p != ')'))
    return FALSE;
  p++;
  if (*p == ')')
    p++;
  if (*p != ' ' && *p != '\t' && *p != '*' && *p != '\0')
    return FALSE;   /* "1.5 nm" is not a list item */
  *number = num;
  *rest = skip_after_label (p);
  return TRUE;
}

static gboolean
match_heading (const char *line,
               const char **rest)
{
  const char *p = line;
  int hashes = 0;

  while (*p == ' ' && p - line < 3)
    p++;
  while (*p == '#')
    p++, hashes++;
  if (hashes < 1 || hashes > 6 || (*p != ' ' && *p != '\t'))
    return FALSE;
  *rest = p + 1;
  return TRUE;
}

static gboolean
is_blank (const char *line)
{
  for (; *line != '\0'; line++)
    if (!g_ascii_isspace (*line))
      return FALSE;
  return TRUE;
}

static void
append_line (GString    *s,
             const char *text)
{
  if (s->len > 0)
    g_string_append_c (s, '\n');
  g_string_append (s, text);
}

// --- readers -----------------------------------------------------------------

/* 1. "Q1: ... A1: ..." blocks. */
static void
read_labelled (Collector *c,
               char     **lines)
{
  g_autoptr(GString) q = g_string_new (NULL);
  g_autoptr(GString) a = g_string_new (NULL);
  int qnum = 0, anum = 0;
  char state = 0;     /* 0 before any label, 'Q' in a question, 'A' in an answer */
  gboolean have_q = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *rest = NULL;
      int num = 0;
      char kind = match_label (lines[i], &num, &rest);

      if (kind == 'Q')
        {
          if (state == 'A')
            collect (c, anum ? anum : qnum, have_q ? q->str : NULL, a->str);
          g_string_assign (q, rest);
          g_string_truncate (a, 0);
          qnum = num;
          anum = 0;
          have_q = TRUE;
          state = 'Q';
        }
      else if (kind == 'A')
        {
          if (state == 'A')
            {
              /* answer after answer: the question was not repeated */
              collect (c, anum, have_q ? q->str : NULL, a->str);
              g_string_truncate (q, 0);
              have_q = FALSE;
            }
          g_string_assign (a, rest);
          anum = num ? num : qnum;
          state = 'A';
        }
      else if (state == 'Q')
        append_line (q, lines[i]);
      else if (state == 'A')
        {
          const char *hr;

          if (match_heading (lines[i], &hr))
            continue;
          append_line (a, lines[i]);
        }
    }
  if (state == 'A')
    collect (c, anum, have_q ? q->str : NULL, a->str);
}

/* Split a numbered item's text into question and answer. */
static void
collect_item (Collector  *c,
              int         number,
              const char *text)
{
  g_autofree char *body = g_strdup (text);
  char *qmark = strchr (body, '?');
  char *nl = strchr (body, '\n');

  if (qmark != NULL && (nl == NULL || qmark < nl))
    {
      /* "What is ...? It is ..." or "**What is ...?**\n It is ..." */
      g_autofree char *q = g_strndup (body, (gsize) (qmark + 1 - body));

      collect (c, number, q, qmark + 1);
      return;
    }
  {
    /* "Bundling:** answer" / "Size: answer": a short topic label, not the
     * question itself; the question comes from the prompt by number */
    const char *colon = strchr (text, ':');
    const char *text_nl = strchr (text, '\n');

    if (colon != NULL && (text_nl == NULL || colon < text_nl) && colon - text <= 60 &&
        memchr (text, '.', (gsize) (colon - text)) == NULL)
      {
        const char *after = colon + 1;

        while (*after == '*' || *after == '_')
          after++;
        if (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\0')
          {
            collect (c, number, NULL, after);
            return;
          }
      }
  }
  collect (c, number, NULL, text);
}

/* 2. numbered items. */
static void
read_numbered (Collector *c,
               char     **lines)
{
  g_autoptr(GString) item = g_string_new (NULL);
  int num = 0;
  gboolean in_item = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *rest = NULL;
      const char *hr = NULL;
      int n = 0;

      if (match_numbered (lines[i], &n, &rest))
        {
          if (in_item)
            collect_item (c, num, item->str);
          g_string_assign (item, rest);
          num = n;
          in_item = TRUE;
        }
      else if (in_item && match_heading (lines[i], &hr))
        {
          collect_item (c, num, item->str);
          in_item = FALSE;
        }
      else if (in_item)
        append_line (item, lines[i]);
    }
  if (in_item)
    collect_item (c, num, item->str);
}

/* "- text", "* text", "• text" (not "**bold**"). */
static gboolean
match_bullet (const char  *line,
              const char **rest)
{
  const char *p = line;

  while (*p == ' ' || *p == '\t')
    p++;
  if ((*p == '-' || *p == '*' || *p == '+') && (p[1] == ' ' || p[1] == '\t'))
    p += 2;
  else if (g_str_has_prefix (p, "\xe2\x80\xa2"))   /* U+2022 BULLET */
    p += 3;
  else
    return FALSE;
  *rest = skip_after_label (p);
  return TRUE;
}

/* 2b. bullet items, numbered by their order. */
static void
read_bullets (Collector *c,
              char     **lines)
{
  g_autoptr(GString) item = g_string_new (NULL);
  int num = 0;
  gboolean in_item = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *rest = NULL;
      const char *hr = NULL;

      if (match_bullet (lines[i], &rest))
        {
          if (in_item)
            collect_item (c, num, item->str);
          g_string_assign (item, rest);
          num++;
          in_item = TRUE;
        }
      else if (in_item && match_heading (lines[i], &hr))
        {
          collect_item (c, num, item->str);
          in_item = FALSE;
        }
      else if (in_item)
        append_line (item, lines[i]);
    }
  if (in_item)
    collect_item (c, num, item->str);
}

/* 3. markdown headings followed by text. */
static void
read_headings (Collector *c,
               char     **lines)
{
  g_autoptr(GString) head = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GPtrArray) heads = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  gboolean in_section = FALSE;
  guint nq = mva_teacher_family_n_questions (c->family);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *rest = NULL;

      if (match_heading (lines[i], &rest))
        {
          if (in_section && !is_blank (body->str))
            {
              g_ptr_array_add (heads, g_strdup (head->str));
              g_ptr_array_add (bodies, g_strdup (body->str));
            }
          g_string_assign (head, rest);
          g_string_truncate (body, 0);
          in_section = TRUE;
        }
      else if (in_section)
        append_line (body, lines[i]);
    }
  if (in_section && !is_blank (body->str))
    {
      g_ptr_array_add (heads, g_strdup (head->str));
      g_ptr_array_add (bodies, g_strdup (body->str));
    }

  for (guint i = 0; i < heads->len; i++)
    {
      g_autofree char *h = clean_text (g_ptr_array_index (heads, i));
      const char *rest = NULL;
      int num = 0;

      if (g_str_has_suffix (h, "?"))
        {
          const char *q = h;

          if (match_numbered (h, &num, &rest))
            q = rest;
          collect (c, num, q, g_ptr_array_index (bodies, i));
        }
      else if (match_numbered (h, &num, &rest))
        collect (c, num, NULL, g_ptr_array_index (bodies, i));
      else if (heads->len == nq)
        collect (c, (int) i + 1, NULL, g_ptr_array_index (bodies, i));
    }
}

/* 4. one plain paragraph per prompt question. */
static void
read_paragraphs (Collector *c,
                 char     **lines)
{
  g_autoptr(GPtrArray) paras = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) para = g_string_new (NULL);
  guint nq = mva_teacher_family_n_questions (c->family);

  for (guint i = 0; ; i++)
    {
      if (lines[i] == NULL || is_blank (lines[i]))
        {
          if (!is_blank (para->str))
            g_ptr_array_add (paras, g_strdup (para->str));
          g_string_truncate (para, 0);
          if (lines[i] == NULL)
            break;
        }
      else
        append_line (para, lines[i]);
    }
  if (paras->len != nq)
    return;
  for (guint i = 0; i < paras->len; i++)
    collect (c, (int) i + 1, NULL, g_ptr_array_index (paras, i));
}

GPtrArray *
mva_teacher_parse_pairs (guint        family,
                         const char  *content,
                         GError     **error)
{
  g_autoptr(GPtrArray) pairs = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *text = NULL;
  void (*readers[]) (Collector *, char **) = {
    read_labelled, read_numbered, read_bullets, read_headings, read_paragraphs,
  };
  Collector c;

  if (family < 1 || family > MVA_TEACHER_N_FAMILIES)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "family %u out of range 1-%d", family, MVA_TEACHER_N_FAMILIES);
      return NULL;
    }
  if (content == NULL || !g_utf8_validate (content, -1, NULL))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
                   "malformed reply: text missing or not UTF-8");
      return NULL;
    }

  /* normalise line ends and drop code fences */
  text = g_strdup (content);
  for (char *p = text; *p != '\0'; p++)
    if (*p == '\r')
      *p = (p[1] == '\n') ? ' ' : '\n';
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (g_strchug (lines[i]) , "```"))
      lines[i][0] = '\0';

  pairs = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_teacher_pair_free);
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c.family = family;
  c.pairs = pairs;
  c.seen = seen;
  for (gsize r = 0; r < G_N_ELEMENTS (readers); r++)
    {
      readers[r] (&c, lines);
      if (pairs->len > 0)
        return g_steal_pointer (&pairs);
      collector_reset (&c);
    }
  g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED,
               "malformed reply: no question/answer pairs found in %zu characters of text",
               strlen (content));
  return NULL;
}
