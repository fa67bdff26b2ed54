/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-porter.c: nltk 3.8's PorterStemmer in its default
 * NLTK_EXTENSIONS mode (not the 1980 paper, not Snowball), step by step as
 * nltk/stem/porter.py writes it, including its irregular-forms pool, the
 * "ies"/"ied" length-4 rules, the y->i condition, "alli", "fulli", "logi".
 *
 * Works on Unicode code points as Python strings do: any letter outside
 * a, e, i, o, u (and y after a vowel) counts as a consonant, lengths are
 * code-point counts.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <string.h>

#include "mva-metrics-private.h"

typedef struct
{
  gunichar *s;
  glong     n;
  glong     cap;
} PWord;

/* --- consonant / measure helpers ------------------------------------------------ */

static inline gboolean
is_vowel_letter (gunichar c)
{
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* is_consonant for position i of s[0..n) computed without recursion */
static gboolean
is_cons (const gunichar *s,
         glong           i)
{
  glong k = 0;
  gboolean base;

  if (is_vowel_letter (s[i]))
    return FALSE;
  if (s[i] != 'y')
    return TRUE;
  /* run of 'y' ending at i: is_cons alternates along it */
  while (i - k >= 0 && s[i - k] == 'y')
    k++;
  if (i - k < 0)
    base = FALSE;   /* y at index 0 is a consonant: is_cons (-1) acts as "vowel" */
  else
    base = !is_vowel_letter (s[i - k]);
  /* is_cons (p + j) = (j odd) ? !base : base, with j = k */
  return (k % 2 == 1) ? !base : base;
}

static glong
measure (const gunichar *s,
         glong           n)
{
  glong m = 0;
  gboolean prev_vowel = FALSE;

  for (glong i = 0; i < n; i++)
    {
      gboolean c = is_cons (s, i);

      if (c && prev_vowel)
        m++;
      prev_vowel = !c;
    }
  return m;
}

static gboolean
contains_vowel (const gunichar *s,
                glong           n)
{
  for (glong i = 0; i < n; i++)
    if (!is_cons (s, i))
      return TRUE;
  return FALSE;
}

static gboolean
ends_double_consonant (const gunichar *s,
                       glong           n)
{
  return n >= 2 && s[n - 1] == s[n - 2] && is_cons (s, n - 1);
}

static gboolean
ends_cvc (const gunichar *s,
          glong           n)
{
  if (n >= 3 && is_cons (s, n - 3) && !is_cons (s, n - 2) && is_cons (s, n - 1) &&
      s[n - 1] != 'w' && s[n - 1] != 'x' && s[n - 1] != 'y')
    return TRUE;
  return n == 2 && !is_cons (s, 0) && is_cons (s, 1);
}

/* --- word buffer ------------------------------------------------------------------ */

static gboolean
ends_with (const PWord *w,
           const char  *suffix)
{
  glong len = (glong) strlen (suffix);

  if (len > w->n)
    return FALSE;
  for (glong i = 0; i < len; i++)
    if (w->s[w->n - len + i] != (gunichar) (guchar) suffix[i])
      return FALSE;
  return TRUE;
}

/* drop `drop` code points from the end, then append the ASCII replacement */
static void
replace_end (PWord      *w,
             glong       drop,
             const char *repl)
{
  glong len = (glong) strlen (repl);

  w->n -= drop;
  if (w->n + len > w->cap)
    {
      w->cap = w->n + len + 8;
      w->s = g_renew (gunichar, w->s, w->cap);
    }
  for (glong i = 0; i < len; i++)
    w->s[w->n++] = (guchar) repl[i];
}

/* --- rule lists -------------------------------------------------------------------- */

typedef enum
{
  COND_NONE,
  COND_M_GT0,
  COND_M_GT1,
  COND_ION,        /* m > 1 and stem ends in s or t */
  COND_LOGI,       /* m (word[:-3]) > 0 */
} Cond;

typedef struct
{
  const char *suffix;
  const char *repl;
  Cond        cond;
} Rule;

static gboolean
check_cond (Cond         cond,
            const PWord *w,
            glong        stem_len)
{
  switch (cond)
    {
    case COND_NONE:
      return TRUE;
    case COND_M_GT0:
      return measure (w->s, stem_len) > 0;
    case COND_M_GT1:
      return measure (w->s, stem_len) > 1;
    case COND_ION:
      return measure (w->s, stem_len) > 1 &&
             (w->s[stem_len - 1] == 's' || w->s[stem_len - 1] == 't');
    case COND_LOGI:
      return measure (w->s, w->n - 3) > 0;
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* _apply_rule_list: the first rule whose suffix matches decides */
static void
apply_rules (PWord      *w,
             const Rule *rules,
             gsize       n_rules)
{
  for (gsize i = 0; i < n_rules; i++)
    {
      if (ends_with (w, rules[i].suffix))
        {
          glong slen = (glong) strlen (rules[i].suffix);

          if (check_cond (rules[i].cond, w, w->n - slen))
            replace_end (w, slen, rules[i].repl);
          return;
        }
    }
}

static void
step1a (PWord *w)
{
  static const Rule rules[] = {
    { "sses", "ss", COND_NONE },
    { "ies", "i", COND_NONE },
    { "ss", "ss", COND_NONE },
    { "s", "", COND_NONE },
  };

  if (ends_with (w, "ies") && w->n == 4)
    {
      replace_end (w, 3, "ie");
      return;
    }
  apply_rules (w, rules, G_N_ELEMENTS (rules));
}

static void
step1b (PWord *w)
{
  glong stem_len = -1;
  gunichar last;

  if (ends_with (w, "ied"))
    {
      replace_end (w, 3, w->n == 4 ? "ie" : "i");
      return;
    }
  if (ends_with (w, "eed"))
    {
      if (measure (w->s, w->n - 3) > 0)
        replace_end (w, 3, "ee");
      return;
    }
  if (ends_with (w, "ed") && contains_vowel (w->s, w->n - 2))
    stem_len = w->n - 2;
  else if (ends_with (w, "ing") && contains_vowel (w->s, w->n - 3))
    stem_len = w->n - 3;
  if (stem_len < 0)
    return;

  /* rules on the intermediate stem */
  w->n = stem_len;
  if (ends_with (w, "at"))
    replace_end (w, 2, "ate");
  else if (ends_with (w, "bl"))
    replace_end (w, 2, "ble");
  else if (ends_with (w, "iz"))
    replace_end (w, 2, "ize");
  else if (ends_double_consonant (w->s, w->n))
    {
      last = w->s[w->n - 1];
      if (last != 'l' && last != 's' && last != 'z')
        w->n -= 1;
    }
  else if (measure (w->s, w->n) == 1 && ends_cvc (w->s, w->n))
    replace_end (w, 0, "e");
}

static void
step1c (PWord *w)
{
  /* ("y", "i", len (stem) > 1 and stem[-1] is a consonant) */
  if (ends_with (w, "y"))
    {
      glong stem_len = w->n - 1;

      if (stem_len > 1 && is_cons (w->s, stem_len - 1))
        replace_end (w, 1, "i");
    }
}

static void
step2 (PWord *w)
{
  static const Rule rules[] = {
    { "ational", "ate", COND_M_GT0 },
    { "tional", "tion", COND_M_GT0 },
    { "enci", "ence", COND_M_GT0 },
    { "anci", "ance", COND_M_GT0 },
    { "izer", "ize", COND_M_GT0 },
    { "bli", "ble", COND_M_GT0 },
    { "alli", "al", COND_M_GT0 },
    { "entli", "ent", COND_M_GT0 },
    { "eli", "e", COND_M_GT0 },
    { "ousli", "ous", COND_M_GT0 },
    { "ization", "ize", COND_M_GT0 },
    { "ation", "ate", COND_M_GT0 },
    { "ator", "ate", COND_M_GT0 },
    { "alism", "al", COND_M_GT0 },
    { "iveness", "ive", COND_M_GT0 },
    { "fulness", "ful", COND_M_GT0 },
    { "ousness", "ous", COND_M_GT0 },
    { "aliti", "al", COND_M_GT0 },
    { "iviti", "ive", COND_M_GT0 },
    { "biliti", "ble", COND_M_GT0 },
    { "fulli", "ful", COND_M_GT0 },
    { "logi", "log", COND_LOGI },
  };

  while (ends_with (w, "alli") && measure (w->s, w->n - 4) > 0)
    replace_end (w, 4, "al");   /* then step2 again on the result */
  apply_rules (w, rules, G_N_ELEMENTS (rules));
}

static void
step3 (PWord *w)
{
  static const Rule rules[] = {
    { "icate", "ic", COND_M_GT0 },
    { "ative", "", COND_M_GT0 },
    { "alize", "al", COND_M_GT0 },
    { "iciti", "ic", COND_M_GT0 },
    { "ical", "ic", COND_M_GT0 },
    { "ful", "", COND_M_GT0 },
    { "ness", "", COND_M_GT0 },
  };

  apply_rules (w, rules, G_N_ELEMENTS (rules));
}

static void
step4 (PWord *w)
{
  static const Rule rules[] = {
    { "al", "", COND_M_GT1 },
    { "ance", "", COND_M_GT1 },
    { "ence", "", COND_M_GT1 },
    { "er", "", COND_M_GT1 },
    { "ic", "", COND_M_GT1 },
    { "able", "", COND_M_GT1 },
    { "ible", "", COND_M_GT1 },
    { "ant", "", COND_M_GT1 },
    { "ement", "", COND_M_GT1 },
    { "ment", "", COND_M_GT1 },
    { "ent", "", COND_M_GT1 },
    { "ion", "", COND_ION },
    { "ou", "", COND_M_GT1 },
    { "ism", "", COND_M_GT1 },
    { "ate", "", COND_M_GT1 },
    { "iti", "", COND_M_GT1 },
    { "ous", "", COND_M_GT1 },
    { "ive", "", COND_M_GT1 },
    { "ize", "", COND_M_GT1 },
  };

  apply_rules (w, rules, G_N_ELEMENTS (rules));
}

static void
step5a (PWord *w)
{
  if (ends_with (w, "e"))
    {
      glong m = measure (w->s, w->n - 1);

      if (m > 1 || (m == 1 && !ends_cvc (w->s, w->n - 1)))
        w->n -= 1;
    }
}

static void
step5b (PWord *w)
{
  /* ("ll", "l", m (word[:-1]) > 1) */
  if (ends_with (w, "ll") && measure (w->s, w->n - 1) > 1)
    w->n -= 1;
}

/* --- public ------------------------------------------------------------------------ */

static const char *
pool_lookup (const char *word)
{
  static const char * const pool[][2] = {
    { "sky", "sky" }, { "skies", "sky" },
    { "dying", "die" }, { "lying", "lie" }, { "tying", "tie" },
    { "news", "news" },
    { "innings", "inning" }, { "inning", "inning" },
    { "outings", "outing" }, { "outing", "outing" },
    { "cannings", "canning" }, { "canning", "canning" },
    { "howe", "howe" },
    { "proceed", "proceed" }, { "exceed", "exceed" }, { "succeed", "succeed" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (pool); i++)
    if (strcmp (word, pool[i][0]) == 0)
      return pool[i][1];
  return NULL;
}

#define STEM_CACHE_MAX 200000

static GMutex stem_lock;
static GHashTable *stem_cache;   /* word -> stem, filled up to STEM_CACHE_MAX */

char *
_mva_porter_stem_cached (const char *word)
{
  const char *hit;
  char *stem;

  g_mutex_lock (&stem_lock);
  if (stem_cache == NULL)
    stem_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  hit = g_hash_table_lookup (stem_cache, word);
  if (hit != NULL)
    {
      stem = g_strdup (hit);
      g_mutex_unlock (&stem_lock);
      return stem;
    }
  g_mutex_unlock (&stem_lock);

  stem = mva_porter_stem (word);
  g_mutex_lock (&stem_lock);
  if (g_hash_table_size (stem_cache) < STEM_CACHE_MAX)
    g_hash_table_insert (stem_cache, g_strdup (word), g_strdup (stem));
  g_mutex_unlock (&stem_lock);
  return stem;
}

char *
mva_porter_stem (const char *word)
{
  g_autofree char *tmp = NULL;
  const char *valid = _mva_metrics_valid_utf8 (word, &tmp);
  g_autofree char *lower = g_utf8_strdown (valid, -1);
  const char *pooled;
  PWord w;
  char *out;

  /* nltk checks the pool with the original word, returns pool[lowered] */
  pooled = pool_lookup (valid);
  if (pooled != NULL)
    return g_strdup (pooled);
  if (g_utf8_strlen (valid, -1) <= 2)
    return g_steal_pointer (&lower);

  w.s = g_utf8_to_ucs4_fast (lower, -1, &w.n);
  w.cap = w.n;
  step1a (&w);
  step1b (&w);
  step1c (&w);
  step2 (&w);
  step3 (&w);
  step4 (&w);
  step5a (&w);
  step5b (&w);
  out = g_ucs4_to_utf8 (w.s, w.n, NULL, NULL, NULL);
  g_free (w.s);
  return out != NULL ? out : g_strdup ("");
}
