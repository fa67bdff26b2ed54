/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-prompts.h: the teacher's system prompt and the prompts of the
 * 10 question families (DESIGN.md), in our own words.
 *
 * Each family prompt walks the teacher through a short chain of guiding
 * sub-questions (identify, examine, conclude) and asks it to answer every
 * sub-question in a fixed "Q1:/A1:" layout, which mva-teacher-parse.c reads
 * back (it also copes with numbered lists and markdown headings).
 *
 *   g_autofree char *text = mva_teacher_prompt_build (3, "nanowires");
 *   guint n = mva_teacher_family_n_questions (3);
 *   const char *q1 = mva_teacher_family_question (3, 0);
 *
 * Families are numbered 1..MVA_TEACHER_N_FAMILIES. Everything here is
 * constant data or pure functions: safe from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MVA_TEACHER_N_FAMILIES 10

/* "Basics", "Morphology and structure", ...; NULL when family is out of range. */
const char *mva_teacher_family_name        (guint family);

/* The guiding sub-questions of a family, in the order the prompt asks them. */
guint       mva_teacher_family_n_questions (guint family);
const char *mva_teacher_family_question    (guint family,
                                            guint index);

/* The system prompt sent with every request. */
const char *mva_teacher_system_prompt      (void);

/* "This micrograph shows nanowires." for a known category name (one of the 10
 * NFFA-Europe categories, or any other non-empty label); NULL when unknown. */
char       *mva_teacher_caption            (const char *category);

/* The user-message text for one family: caption (when category is non-NULL),
 * the family's guiding questions and the required answer layout.
 * Returns NULL when family is out of range. */
char       *mva_teacher_prompt_build       (guint       family,
                                            const char *category);

/* Parse "1-10", "3", "1,4,7-9" into a sorted set of families.
 * Returns a bit mask (bit f set for family f) or 0 with error set. */
guint       mva_teacher_families_parse     (const char *spec,
                                            GError    **error);

G_END_DECLS
