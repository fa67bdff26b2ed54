/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-wordnet.c: the part of nltk 3.8's WordNetCorpusReader that
 * METEOR uses: synsets (word) for every part of speech through _morphy
 * (exception lists first, then nltk's suffix substitutions applied until a
 * form is in the index), and the lemma names of those synsets.
 *
 * Reads the Princeton WordNet 3.0 database files (Debian wordnet-base):
 * index.{noun,verb,adj,adv} are loaded into hash tables, {noun,...}.exc too,
 * data.* are mapped and a synset line is parsed when it is needed. Results
 * per word are cached (guarded by a mutex, so one instance can be shared).
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mva-metrics-private.h"
#include "mva-metrics-wordnet-private.h"

#define N_POS 4
#define CACHE_MAX 200000

static const char pos_chars[N_POS] = { 'n', 'v', 'a', 'r' };
static const char * const pos_files[N_POS] = { "noun", "verb", "adj", "adv" };

struct _MvaWordNet
{
  char        *dir;
  char        *index_buf[N_POS];
  GHashTable  *index[N_POS];   /* lemma -> rest of its index line (NUL-terminated) */
  char        *exc_buf[N_POS];
  GHashTable  *exc[N_POS];     /* inflected form -> GPtrArray of base forms */
  GMappedFile *data[N_POS];
  GMutex       lock;
  GHashTable  *cache;          /* word -> GHashTable set of lemma names */
};

typedef struct
{
  const char *old;
  const char *new_text;
} Subst;

/* nltk MORPHOLOGICAL_SUBSTITUTIONS, in its order */
static const Subst noun_subst[] = {
  { "s", "" }, { "ses", "s" }, { "ves", "f" }, { "xes", "x" }, { "zes", "z" },
  { "ches", "ch" }, { "shes", "sh" }, { "men", "man" }, { "ies", "y" },
};
static const Subst verb_subst[] = {
  { "s", "" }, { "ies", "y" }, { "es", "e" }, { "es", "" },
  { "ed", "e" }, { "ed", "" }, { "ing", "e" }, { "ing", "" },
};
static const Subst adj_subst[] = {
  { "er", "" }, { "est", "" }, { "er", "e" }, { "est", "e" },
};

static int
pos_index (char pos)
{
  for (int i = 0; i < N_POS; i++)
    if (pos_chars[i] == pos)
      return i;
  return -1;
}

/* --- loading ---------------------------------------------------------------------- */

static gboolean
load_index (MvaWordNet  *wn,
            int          p,
            GError     **error)
{
  g_autofree char *path = g_strdup_printf ("%s/index.%s", wn->dir, pos_files[p]);
  gsize len;
  char *line;

  if (!g_file_get_contents (path, &wn->index_buf[p], &len, error))
    return FALSE;
  wn->index[p] = g_hash_table_new (g_str_hash, g_str_equal);
  line = wn->index_buf[p];
  while (line < wn->index_buf[p] + len)
    {
      char *eol = memchr (line, '\n', wn->index_buf[p] + len - line);
      char *sp;

      if (eol == NULL)
        eol = wn->index_buf[p] + len;
      *eol = '\0';
      /* licence lines start with a space; nltk skips them */
      if (line[0] != ' ' && line[0] != '\0' && (sp = strchr (line, ' ')) != NULL)
        {
          *sp = '\0';
          g_hash_table_insert (wn->index[p], line, sp + 1);
        }
      line = eol + 1;
    }
  return TRUE;
}

static gboolean
load_exceptions (MvaWordNet  *wn,
                 int          p,
                 GError     **error)
{
  g_autofree char *path = g_strdup_printf ("%s/%s.exc", wn->dir, pos_files[p]);
  gsize len;
  char *line;

  if (!g_file_get_contents (path, &wn->exc_buf[p], &len, error))
    return FALSE;
  wn->exc[p] = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) g_ptr_array_unref);
  line = wn->exc_buf[p];
  while (line < wn->exc_buf[p] + len)
    {
      char *eol = memchr (line, '\n', wn->exc_buf[p] + len - line);
      GPtrArray *terms = g_ptr_array_new ();
      char *save = NULL;

      if (eol == NULL)
        eol = wn->exc_buf[p] + len;
      *eol = '\0';
      for (char *tok = strtok_r (line, " \t\r", &save); tok != NULL;
           tok = strtok_r (NULL, " \t\r", &save))
        g_ptr_array_add (terms, tok);
      if (terms->len > 0)
        {
          const char *key = terms->pdata[0];

          g_ptr_array_remove_index (terms, 0);
          g_hash_table_insert (wn->exc[p], (char *) key, terms);
        }
      else
        g_ptr_array_unref (terms);
      line = eol + 1;
    }
  return TRUE;
}

MvaWordNet *
mva_wordnet_open (const char  *dir,
                  GError     **error)
{
  g_autoptr(MvaWordNet) wn = g_new0 (MvaWordNet, 1);

  g_return_val_if_fail (dir != NULL, NULL);

  wn->dir = g_strdup (dir);
  g_mutex_init (&wn->lock);
  wn->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) g_hash_table_unref);
  for (int p = 0; p < N_POS; p++)
    {
      g_autofree char *data_path = g_strdup_printf ("%s/data.%s", dir, pos_files[p]);

      if (!load_index (wn, p, error) || !load_exceptions (wn, p, error))
        return NULL;
      wn->data[p] = g_mapped_file_new (data_path, FALSE, error);
      if (wn->data[p] == NULL)
        return NULL;
    }
  return g_steal_pointer (&wn);
}

void
mva_wordnet_free (MvaWordNet *wn)
{
  if (wn == NULL)
    return;
  for (int p = 0; p < N_POS; p++)
    {
      g_clear_pointer (&wn->index[p], g_hash_table_unref);
      g_clear_pointer (&wn->exc[p], g_hash_table_unref);
      g_clear_pointer (&wn->data[p], g_mapped_file_unref);
      g_free (wn->index_buf[p]);
      g_free (wn->exc_buf[p]);
    }
  g_clear_pointer (&wn->cache, g_hash_table_unref);
  g_mutex_clear (&wn->lock);
  g_free (wn->dir);
  g_free (wn);
}

const char *
mva_wordnet_get_dir (MvaWordNet *wn)
{
  g_return_val_if_fail (wn != NULL, NULL);
  return wn->dir;
}

static MvaWordNet *default_wordnet;
static char *default_error;

MvaWordNet *
mva_wordnet_get_default (const char **error_message)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      const char *dir = g_getenv ("MVAEMA_WORDNET_DIR");
      g_autoptr(GError) error = NULL;

      if (dir == NULL || dir[0] == '\0')
        dir = WORDNET_DIR;
      default_wordnet = mva_wordnet_open (dir, &error);
      if (default_wordnet == NULL)
        default_error = g_strdup_printf ("WordNet not readable in %s: %s", dir, error->message);
      g_once_init_leave (&once, 1);
    }
  if (error_message != NULL)
    *error_message = default_error;
  return default_wordnet;
}

/* --- morphy ----------------------------------------------------------------------- */

static void
filter_forms (MvaWordNet *wn,
              int         p,
              GPtrArray  *forms,
              GPtrArray  *result)
{
  for (guint i = 0; i < forms->len; i++)
    {
      const char *form = forms->pdata[i];
      gboolean seen = FALSE;

      if (!g_hash_table_contains (wn->index[p], form))
        continue;
      for (guint k = 0; k < result->len && !seen; k++)
        seen = strcmp (result->pdata[k], form) == 0;
      if (!seen)
        g_ptr_array_add (result, g_strdup (form));
    }
}

/* apply_rules (forms), keeping only the first copy of each new form (which
 * leaves the order of first occurrences, and so every result, unchanged). */
static GPtrArray *
apply_rules (int        p,
             GPtrArray *forms)
{
  const Subst *subst = p == 0 ? noun_subst : p == 1 ? verb_subst : adj_subst;
  gsize n_subst = p == 0 ? G_N_ELEMENTS (noun_subst) :
                  p == 1 ? G_N_ELEMENTS (verb_subst) :
                  p == 2 ? G_N_ELEMENTS (adj_subst) : 0;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < forms->len; i++)
    {
      const char *form = forms->pdata[i];
      gsize len = strlen (form);

      for (gsize k = 0; k < n_subst; k++)
        {
          gsize old_len = strlen (subst[k].old);
          char *made;

          if (len < old_len || strcmp (form + len - old_len, subst[k].old) != 0)
            continue;
          made = g_malloc (len - old_len + strlen (subst[k].new_text) + 1);
          memcpy (made, form, len - old_len);
          strcpy (made + len - old_len, subst[k].new_text);
          if (g_hash_table_contains (seen, made))
            {
              g_free (made);
              continue;
            }
          g_ptr_array_add (out, made);
          g_hash_table_add (seen, made);
        }
    }
  return out;
}

static GPtrArray *
morphy (MvaWordNet *wn,
        const char *form,
        int         p)
{
  GPtrArray *result = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *exc = g_hash_table_lookup (wn->exc[p], form);
  g_autoptr(GPtrArray) start = g_ptr_array_new ();
  g_autoptr(GPtrArray) forms = NULL;

  g_ptr_array_add (start, (gpointer) form);
  if (exc != NULL)
    {
      for (guint i = 0; i < exc->len; i++)
        g_ptr_array_add (start, exc->pdata[i]);
      filter_forms (wn, p, start, result);
      return result;
    }

  forms = apply_rules (p, start);
  for (guint i = 0; i < forms->len; i++)
    g_ptr_array_add (start, forms->pdata[i]);
  filter_forms (wn, p, start, result);
  while (result->len == 0 && forms->len > 0)
    {
      GPtrArray *next = apply_rules (p, forms);

      g_ptr_array_unref (forms);
      forms = next;
      filter_forms (wn, p, forms, result);
    }
  return result;
}

char **
mva_wordnet_morphy (MvaWordNet *wn,
                    const char *form,
                    char        pos)
{
  int p = pos_index (pos);
  GPtrArray *res;

  g_return_val_if_fail (wn != NULL && form != NULL, NULL);
  if (p < 0)
    return g_new0 (char *, 1);
  res = morphy (wn, form, p);
  g_ptr_array_set_free_func (res, NULL);
  g_ptr_array_add (res, NULL);
  return (char **) g_ptr_array_free (res, FALSE);
}

/* --- synsets ----------------------------------------------------------------------- */

/* index line after the lemma: pos n_synsets n_ptrs ptr... n_senses tagsense off... */
static void
add_synsets_of (MvaWordNet *wn,
                int         p,
                const char *form,
                GHashTable *names)
{
  const char *rest = g_hash_table_lookup (wn->index[p], form);
  const char *data = g_mapped_file_get_contents (wn->data[p]);
  gsize data_len = g_mapped_file_get_length (wn->data[p]);
  g_auto(GStrv) tok = NULL;
  guint n_tok, n_synsets, n_ptrs, first;

  if (rest == NULL)
    return;
  tok = g_strsplit_set (rest, " ", -1);
  n_tok = _mva_strv_len (tok);
  if (n_tok < 4)
    return;
  n_synsets = (guint) strtoul (tok[1], NULL, 10);
  n_ptrs = (guint) strtoul (tok[2], NULL, 10);
  first = 3 + n_ptrs + 2;
  for (guint s = 0; s < n_synsets && first + s < n_tok; s++)
    {
      guint64 offset = g_ascii_strtoull (tok[first + s], NULL, 10);
      const char *line, *eol;
      g_autofree char *copy = NULL;
      g_auto(GStrv) f = NULL;
      guint n_f, w_cnt;

      if (offset >= data_len)
        continue;
      line = data + offset;
      eol = memchr (line, '\n', data_len - offset);
      if (eol == NULL)
        eol = data + data_len;
      copy = g_strndup (line, eol - line);
      f = g_strsplit_set (copy, " ", -1);
      n_f = _mva_strv_len (f);
      if (n_f < 4)
        continue;
      w_cnt = (guint) strtoul (f[3], NULL, 16);
      for (guint w = 0; w < w_cnt && 4 + 2 * w < n_f; w++)
        {
          const char *name = f[4 + 2 * w];
          gsize len = strlen (name);
          const char *paren = strchr (name, '(');
          char *lemma;

          /* (.*?)(\(.*\))?$ : a trailing "(...)" marker goes */
          if (len > 0 && name[len - 1] == ')' && paren != NULL)
            lemma = g_strndup (name, paren - name);
          else
            lemma = g_strdup (name);
          g_hash_table_add (names, lemma);
        }
    }
}

GHashTable *
_mva_wordnet_ref_lemma_set (MvaWordNet *wn,
                            const char *word)
{
  GHashTable *names;
  g_autofree char *lower = NULL;

  g_mutex_lock (&wn->lock);
  names = g_hash_table_lookup (wn->cache, word);
  if (names != NULL)
    {
      g_hash_table_ref (names);
      g_mutex_unlock (&wn->lock);
      return names;
    }

  lower = g_utf8_strdown (word, -1);
  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int p = 0; p < N_POS; p++)
    {
      g_autoptr(GPtrArray) forms = morphy (wn, lower, p);

      for (guint i = 0; i < forms->len; i++)
        add_synsets_of (wn, p, forms->pdata[i], names);
    }
  if (g_hash_table_size (wn->cache) >= CACHE_MAX)
    g_hash_table_remove_all (wn->cache);
  g_hash_table_insert (wn->cache, g_strdup (word), g_hash_table_ref (names));
  g_mutex_unlock (&wn->lock);
  return names;
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
mva_wordnet_dup_lemma_names (MvaWordNet *wn,
                             const char *word)
{
  g_autoptr(GHashTable) set = NULL;
  g_autofree char *tmp = NULL;
  const char *valid;
  char **out;
  guint n;

  g_return_val_if_fail (wn != NULL, NULL);
  valid = _mva_metrics_valid_utf8 (word, &tmp);
  set = _mva_wordnet_ref_lemma_set (wn, valid);
  out = (char **) g_hash_table_get_keys_as_array (set, &n);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (out[i]);
  qsort (out, n, sizeof (char *), compare_strings);
  return out;
}
