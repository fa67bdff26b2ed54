/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli.h: shared plumbing of mvaema-cli commands.
 *
 * Every command is `int mva_cli_<name> (int argc, char **argv)` where argv[0]
 * is the command name; it returns the process exit status. Conventions
 * (DESIGN.md): --db FILE, --model DIR, --threads N, --json (one object per
 * line on stdout), progress on stderr, non-zero exit with a one-line reason,
 * clean stop on Ctrl+C (poll mva_cli_cancellable ()).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef int (*MvaCliFunc) (int argc, char **argv);

/* Parse argv with the given entries; prints usage/errors itself.
 * Returns FALSE (after printing a one-line reason) on bad options. */
gboolean      mva_cli_parse           (const char         *command,
                                       const char         *param_string,
                                       const char         *summary,
                                       const GOptionEntry *entries,
                                       int                *argc,
                                       char             ***argv);

/* Print "mvaema-cli: <message>" on stderr and return 1. */
int           mva_cli_fail            (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Option values: text NULL (option not given) leaves *out alone and returns
 * TRUE; else a plain decimal (no sign) from min to max, or FALSE after
 * printing "<command>: <opt> expects an integer from MIN to MAX, not “TEXT”"
 * (mva_cli_fail). _double: a finite number from min to max, same error with
 * "a number from %g to %g". */
gboolean      mva_cli_parse_uint      (const char *command,
                                       const char *opt,
                                       const char *text,
                                       guint64     min,
                                       guint64     max,
                                       guint64    *out);
gboolean      mva_cli_parse_double    (const char *command,
                                       const char *opt,
                                       const char *text,
                                       double      min,
                                       double      max,
                                       double     *out);

/* Write one JSON object as a single line on stdout (and flush). */
void          mva_cli_print_json      (JsonNode *node);
void          mva_cli_print_builder   (JsonBuilder *builder);

/* Cancelled when the user presses Ctrl+C (SIGINT) or SIGTERM arrives. */
GCancellable *mva_cli_cancellable     (void);

/* A progress line on stderr, overwritten in place when stderr is a tty. */
void          mva_cli_progress        (const char *format, ...) G_GNUC_PRINTF (1, 2);
void          mva_cli_progress_done   (void);

/* Commands (each in app/mva-cli-<name>.c). */
int mva_cli_bench    (int argc, char **argv);
int mva_cli_info     (int argc, char **argv);
int mva_cli_measure  (int argc, char **argv);
int mva_cli_db       (int argc, char **argv);
int mva_cli_devices  (int argc, char **argv);
int mva_cli_export   (int argc, char **argv);
int mva_cli_import   (int argc, char **argv);
int mva_cli_metrics  (int argc, char **argv);
int mva_cli_eval     (int argc, char **argv);
int mva_cli_synth    (int argc, char **argv);
int mva_cli_teach    (int argc, char **argv);
int mva_cli_train    (int argc, char **argv);
int mva_cli_ask      (int argc, char **argv);
int mva_cli_classify (int argc, char **argv);
int mva_cli_review   (int argc, char **argv);
int mva_cli_models   (int argc, char **argv);
/* `--device cpu|cuda|auto` of bench and train (mva-cli-devices.c): sets
 * *out_device to "cpu" or "cuda" (g_free) and *out_note to why auto fell back
 * to the CPU (or NULL); FALSE after printing a one-line reason (unknown
 * device, or cuda asked for and not usable). NULL device means auto. */
gboolean mva_cli_resolve_device (const char *command, const char *device, char **out_device,
                                 char **out_note);
/* `train --from-reviews` (mva-cli-models.c), dispatched from mva_cli_train. */
int mva_cli_train_from_reviews (int argc, char **argv);

G_END_DECLS
