/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-tokenize.c: the tokenisers of the reference implementations.
 *
 *   whitespace  Python str.split ()
 *   13a         sacrebleu 2.6 Tokenizer13a (mteval-v13a) after BLEU's rstrip
 *   rouge       rouge_score 0.1.2 tokenize.tokenize (with optional Porter)
 *
 * The 13a regular expressions only ever look at ASCII bytes next to each
 * other, so they are run as byte scanners that reproduce re.sub's
 * left-to-right, non-overlapping matching.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <string.h>

#include "mva-metrics-private.h"

gboolean
_mva_py_isspace (gunichar c)
{
  /* Python's _PyUnicode_IsWhitespace: bidi class WS, B or S, or category Zs */
  switch (c)
    {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
    case 0x85: case 0xA0: case 0x1680:
    case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004:
    case 0x2005: case 0x2006: case 0x2007: case 0x2008: case 0x2009:
    case 0x200A: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return TRUE;
    default:
      return FALSE;
    }
}

const char *
_mva_metrics_valid_utf8 (const char  *text,
                         char       **tmp)
{
  *tmp = NULL;
  if (text == NULL)
    return "";
  if (g_utf8_validate (text, -1, NULL))
    return text;
  *tmp = g_utf8_make_valid (text, -1);
  return *tmp;
}

guint
_mva_strv_len (char * const *strv)
{
  guint n = 0;

  if (strv != NULL)
    while (strv[n] != NULL)
      n++;
  return n;
}

char *
_mva_py_rstrip (const char *text)
{
  const char *end = text + strlen (text);

  while (end > text)
    {
      const char *prev = g_utf8_find_prev_char (text, end);

      if (prev == NULL || !_mva_py_isspace (g_utf8_get_char (prev)))
        break;
      end = prev;
    }
  return g_strndup (text, end - text);
}

char **
mva_metrics_split_whitespace (const char *text)
{
  g_autofree char *tmp = NULL;
  const char *p = _mva_metrics_valid_utf8 (text, &tmp);
  GPtrArray *tokens = g_ptr_array_new ();
  const char *start = NULL;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (_mva_py_isspace (c))
        {
          if (start != NULL)
            g_ptr_array_add (tokens, g_strndup (start, p - start));
          start = NULL;
        }
      else if (start == NULL)
        start = p;
      p = next;
    }
  if (start != NULL)
    g_ptr_array_add (tokens, g_strndup (start, p - start));
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}

char *
mva_metrics_lower (const char *text)
{
  g_autofree char *tmp = NULL;
  const char *valid = _mva_metrics_valid_utf8 (text, &tmp);

  return g_utf8_strdown (valid, -1);
}

/* --- sacrebleu 13a ----------------------------------------------------------- */

/* str.replace (old, new) for every occurrence, left to right. */
static char *
replace_all (char       *text,
             const char *old,
             const char *new_text)
{
  GString *out;
  const char *p = text;
  const char *hit;
  gsize old_len = strlen (old);

  if (strstr (text, old) == NULL)
    return text;
  out = g_string_new (NULL);
  while ((hit = strstr (p, old)) != NULL)
    {
      g_string_append_len (out, p, hit - p);
      g_string_append (out, new_text);
      p = hit + old_len;
    }
  g_string_append (out, p);
  g_free (text);
  return g_string_free (out, FALSE);
}

static gboolean
is_13a_punct (guchar c)
{
  /* [\{-\~\[-\` -\&\(-\+\:-\@\/] */
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

static inline gboolean
is_dot_comma (guchar c)
{
  return c == '.' || c == ',';
}

char **
mva_metrics_tokenize_13a (const char *text)
{
  g_autofree char *tmp = NULL;
  const char *valid = _mva_metrics_valid_utf8 (text, &tmp);
  char *line = _mva_py_rstrip (valid);
  GString *a;
  GString *b;
  char **tokens;

  line = replace_all (line, "<skipped>", "");
  line = replace_all (line, "-\n", "");
  line = replace_all (line, "\n", " ");
  if (strchr (line, '&') != NULL)
    {
      line = replace_all (line, "&quot;", "\"");
      line = replace_all (line, "&amp;", "&");
      line = replace_all (line, "&lt;", "<");
      line = replace_all (line, "&gt;", ">");
    }

  /* f' {line} ', then ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
  a = g_string_new (" ");
  for (const guchar *p = (const guchar *) line; *p != '\0'; p++)
    {
      if (is_13a_punct (*p))
        {
          g_string_append_c (a, ' ');
          g_string_append_c (a, *p);
          g_string_append_c (a, ' ');
        }
      else
        g_string_append_c (a, *p);
    }
  g_string_append_c (a, ' ');
  g_free (line);

  /* ([^0-9])([\.,]) -> '\1 \2 ' */
  b = g_string_new (NULL);
  for (gsize i = 0; i < a->len;)
    {
      guchar c0 = a->str[i];
      guchar c1 = i + 1 < a->len ? a->str[i + 1] : 0;

      if (i + 1 < a->len && !is_digit (c0) && is_dot_comma (c1))
        {
          g_string_append_c (b, c0);
          g_string_append_c (b, ' ');
          g_string_append_c (b, c1);
          g_string_append_c (b, ' ');
          i += 2;
        }
      else
        {
          g_string_append_c (b, c0);
          i++;
        }
    }

  /* ([\.,])([^0-9]) -> ' \1 \2' */
  g_string_truncate (a, 0);
  for (gsize i = 0; i < b->len;)
    {
      guchar c0 = b->str[i];
      guchar c1 = i + 1 < b->len ? b->str[i + 1] : 0;

      if (i + 1 < b->len && is_dot_comma (c0) && !is_digit (c1))
        {
          g_string_append_c (a, ' ');
          g_string_append_c (a, c0);
          g_string_append_c (a, ' ');
          g_string_append_c (a, c1);
          i += 2;
        }
      else
        {
          g_string_append_c (a, c0);
          i++;
        }
    }

  /* ([0-9])(-) -> '\1 \2 ' */
  g_string_truncate (b, 0);
  for (gsize i = 0; i < a->len;)
    {
      guchar c0 = a->str[i];
      guchar c1 = i + 1 < a->len ? a->str[i + 1] : 0;

      if (i + 1 < a->len && is_digit (c0) && c1 == '-')
        {
          g_string_append_c (b, c0);
          g_string_append_c (b, ' ');
          g_string_append_c (b, c1);
          g_string_append_c (b, ' ');
          i += 2;
        }
      else
        {
          g_string_append_c (b, c0);
          i++;
        }
    }

  tokens = mva_metrics_split_whitespace (b->str);
  g_string_free (a, TRUE);
  g_string_free (b, TRUE);
  return tokens;
}

/* --- rouge_score ----------------------------------------------------------------- */

char **
mva_metrics_tokenize_rouge (const char *text,
                            gboolean    stem)
{
  g_autofree char *lower = mva_metrics_lower (text);
  GPtrArray *tokens = g_ptr_array_new ();
  const char *p = lower;

  /* after [^a-z0-9]+ -> ' ' and split, the tokens are the runs of [a-z0-9] */
  while (*p != '\0')
    {
      const char *start;

      while (*p != '\0' && !(is_digit (*p) || (*p >= 'a' && *p <= 'z')))
        p++;
      if (*p == '\0')
        break;
      start = p;
      while (is_digit (*p) || (*p >= 'a' && *p <= 'z'))
        p++;
      if (stem && p - start > 3)
        {
          g_autofree char *word = g_strndup (start, p - start);
          char *stemmed = mva_porter_stem (word);

          /* VALID_TOKEN_RE: a stem of [a-z0-9] is never empty, checked anyway */
          if (stemmed[0] != '\0')
            g_ptr_array_add (tokens, stemmed);
          else
            g_free (stemmed);
        }
      else
        g_ptr_array_add (tokens, g_strndup (start, p - start));
    }
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}
