/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics.h: text-generation metrics computed exactly as the reference
 * Python implementations compute them (no Python at run time).
 *
 *   BLEU     nltk 3.8 sentence_bleu / corpus_bleu on str.split() tokens,
 *            smoothing method0 (none, DBL_MIN for a zero precision) or
 *            method1 (epsilon 0.1); sacrebleu 2.6 BLEU with tokenize '13a'
 *            or 'none' and 'exp' smoothing (sentence: effective order).
 *   ROUGE    Google rouge_score 0.1.2: ROUGE-1/2/L precision, recall, F1 with
 *            its tokenizer, with or without nltk's Porter stemmer; several
 *            references as score_multi (best F1 per type, first on ties).
 *   METEOR   nltk 3.8 meteor_score: lower-cased whitespace tokens, exact,
 *            Porter stem and WordNet 3.0 synonym stages, alpha 0.9, beta 3,
 *            gamma 0.5, best over references.
 *
 * Every function takes UTF-8 text (invalid bytes are replaced by U+FFFD
 * first) and is thread-safe; MvaWordNet guards its cache with a mutex.
 *
 * Example (the paper's configuration, one pair):
 *
 *   g_autoptr(MvaTextScorer) scorer = mva_text_scorer_new (mva_wordnet_get_default (NULL));
 *   const char *refs[] = { "The particles are round.", NULL };
 *   MvaTextScores s, corpus;
 *   mva_text_scorer_add (scorer, "The particles look round.", refs, &s);
 *   ... s.bleu2, s.bleu4, s.rouge1, s.rouge2, s.rougeL, s.meteor ...
 *   mva_text_scorer_get_corpus (scorer, &corpus, NULL);   // corpus BLEU + means
 *
 * Reference lists are NULL-terminated arrays of strings.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* --- tokenisers ------------------------------------------------------------ */

/* Python str.split(): runs of Unicode whitespace, no empty tokens. */
char   **mva_metrics_split_whitespace   (const char *text);
/* sacrebleu's 13a tokenizer (after its rstrip), split on whitespace. */
char   **mva_metrics_tokenize_13a       (const char *text);
/* rouge_score's tokenizer: lower, [^a-z0-9]+ -> ' ', split, optional stem. */
char   **mva_metrics_tokenize_rouge     (const char *text,
                                         gboolean    stem);
/* Python str.lower() (full Unicode lower-casing). */
char    *mva_metrics_lower              (const char *text);
/* nltk 3.8 PorterStemmer().stem (word) in NLTK_EXTENSIONS mode. */
char    *mva_porter_stem                (const char *word);

/* --- BLEU ------------------------------------------------------------------- */

#define MVA_BLEU_MAX_ORDER 4

typedef enum
{
  MVA_BLEU_SMOOTH_METHOD0,   /* nltk: no smoothing, DBL_MIN for zero counts */
  MVA_BLEU_SMOOTH_METHOD1,   /* nltk: 0.1 / denominator for zero counts */
} MvaBleuSmoothing;

typedef enum
{
  MVA_SACREBLEU_TOKENIZE_13A,
  MVA_SACREBLEU_TOKENIZE_NONE,
} MvaSacrebleuTokenize;

/* Sufficient statistics; add several sentences for corpus BLEU.
 * nltk: matches = clipped counts, totals = max (1, candidate n-grams).
 * sacrebleu: matches = clipped counts, totals = candidate n-grams. */
typedef struct
{
  guint64 matches[MVA_BLEU_MAX_ORDER];
  guint64 totals[MVA_BLEU_MAX_ORDER];
  guint64 hyp_len;
  guint64 ref_len;     /* closest reference lengths, summed */
  guint64 n_sentences;
} MvaBleuStats;

void     mva_bleu_nltk_stats_add        (MvaBleuStats       *stats,
                                         const char         *candidate,
                                         const char * const *references);
/* order 1..4, uniform weights 1/order. */
double   mva_bleu_nltk_score            (const MvaBleuStats *stats,
                                         guint               order,
                                         MvaBleuSmoothing    smoothing);
double   mva_bleu_nltk_sentence         (const char         *candidate,
                                         const char * const *references,
                                         guint               order,
                                         MvaBleuSmoothing    smoothing);

/* Empty ("") references are skipped as sacrebleu skips them; returns FALSE
 * (and adds nothing) when no reference is left. */
gboolean mva_sacrebleu_stats_add        (MvaBleuStats        *stats,
                                         const char          *candidate,
                                         const char * const  *references,
                                         MvaSacrebleuTokenize tokenize);
/* Score in [0, 1] (sacrebleu's score / 100). effective_order TRUE for
 * sentence scores (sacrebleu's sentence default), FALSE for corpus scores. */
double   mva_sacrebleu_score            (const MvaBleuStats *stats,
                                         guint               order,
                                         gboolean            effective_order);
double   mva_sacrebleu_sentence         (const char          *candidate,
                                         const char * const  *references,
                                         guint                order,
                                         MvaSacrebleuTokenize tokenize);

/* --- ROUGE ------------------------------------------------------------------ */

typedef struct
{
  double precision;
  double recall;
  double fmeasure;
} MvaRougeScore;

typedef struct
{
  MvaRougeScore rouge1;
  MvaRougeScore rouge2;
  MvaRougeScore rougeL;
} MvaRougeScores;

void     mva_rouge_score                (const char         *candidate,
                                         const char * const *references,
                                         gboolean            stem,
                                         MvaRougeScores     *out);

/* --- WordNet ------------------------------------------------------------------ */

typedef struct _MvaWordNet MvaWordNet;

/* Reads index.{noun,verb,adj,adv} and the *.exc lists from dir; data.* are
 * mapped and read on demand. */
MvaWordNet *mva_wordnet_open            (const char  *dir,
                                         GError     **error);
void        mva_wordnet_free            (MvaWordNet  *wordnet);
/* Process-wide instance from $MVAEMA_WORDNET_DIR or WORDNET_DIR, opened on
 * first use; NULL (with the reason in *error_message if given, static string
 * owned by the library) when the files are missing or unreadable. */
MvaWordNet *mva_wordnet_get_default     (const char **error_message);
const char *mva_wordnet_get_dir         (MvaWordNet  *wordnet);
/* nltk wordnet.synsets (word): every lemma name (case kept, "_" kept) of
 * every synset, all parts of speech, through morphy. Sorted, no duplicates. */
char      **mva_wordnet_dup_lemma_names (MvaWordNet  *wordnet,
                                         const char  *word);
/* nltk's _morphy (form, pos) for pos 'n', 'v', 'a' or 'r'. */
char      **mva_wordnet_morphy          (MvaWordNet  *wordnet,
                                         const char  *form,
                                         char         pos);

/* --- METEOR ------------------------------------------------------------------ */

typedef struct
{
  double alpha;   /* 0.9 */
  double beta;    /* 3.0 */
  double gamma;   /* 0.5 */
} MvaMeteorParams;

#define MVA_METEOR_PARAMS_DEFAULT ((MvaMeteorParams) { 0.9, 3.0, 0.5 })

/* wordnet NULL: exact and stem stages only (the synonym stage then matches
 * identical stemmed words only, as nltk does with an empty WordNet). */
double   mva_meteor_score               (const char            *candidate,
                                         const char * const    *references,
                                         MvaWordNet            *wordnet);
double   mva_meteor_score_full          (const char            *candidate,
                                         const char * const    *references,
                                         MvaWordNet            *wordnet,
                                         const MvaMeteorParams *params);
/* One reference; alignment (nullable) receives guint pairs
 * (candidate index, reference index) sorted by candidate index. */
double   mva_meteor_single              (const char            *candidate,
                                         const char            *reference,
                                         MvaWordNet            *wordnet,
                                         const MvaMeteorParams *params,
                                         GArray                *alignment,
                                         guint                 *n_chunks);

/* --- the paper's configuration ------------------------------------------------ */

typedef struct
{
  double bleu2;    /* nltk method0, weights (1/2, 1/2), whitespace tokens */
  double bleu4;    /* nltk method0, weights (1/4 x 4) */
  double rouge1;   /* rouge_score F1, no stemmer, best reference */
  double rouge2;
  double rougeL;
  double meteor;   /* nltk meteor_score with WordNet (if available) */
} MvaTextScores;

typedef struct _MvaTextScorer MvaTextScorer;

/* wordnet may be NULL (METEOR without the synonym stage). */
MvaTextScorer *mva_text_scorer_new      (MvaWordNet          *wordnet);
void           mva_text_scorer_free     (MvaTextScorer       *scorer);
gboolean       mva_text_scorer_has_wordnet (MvaTextScorer    *scorer);
void           mva_text_scorer_add      (MvaTextScorer       *scorer,
                                         const char          *candidate,
                                         const char * const  *references,
                                         MvaTextScores       *out);
guint64        mva_text_scorer_get_count (MvaTextScorer      *scorer);
/* bleu2/bleu4: corpus BLEU (nltk corpus_bleu, method0); the others: mean of
 * the sentence scores. means (nullable) receives every sentence-score mean,
 * bleu2/bleu4 included. All zero when nothing was added. */
void           mva_text_scorer_get_corpus (MvaTextScorer     *scorer,
                                           MvaTextScores     *corpus,
                                           MvaTextScores     *means);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaWordNet, mva_wordnet_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTextScorer, mva_text_scorer_free)

G_END_DECLS
