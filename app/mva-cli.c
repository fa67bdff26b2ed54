/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli.c: option parsing, JSON output, progress and Ctrl+C for mvaema-cli.
 *
 * Ctrl+C: a sigaction handler sets a flag (async-signal-safe); a watcher thread
 * turns it into g_cancellable_cancel () so commands can poll or connect.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include "mva-cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;
static GCancellable *cli_cancellable;
static gsize cli_cancellable_once;
static gboolean progress_open;

static void
on_signal (int signo)
{
  (void) signo;
  interrupted = 1;
}

static gpointer
watch_signals (gpointer data)
{
  GCancellable *cancellable = data;

  while (!interrupted)
    g_usleep (20 * 1000);
  g_cancellable_cancel (cancellable);
  return NULL;
}

GCancellable *
mva_cli_cancellable (void)
{
  if (g_once_init_enter (&cli_cancellable_once))
    {
      GCancellable *c = g_cancellable_new ();
      struct sigaction sa = { 0 };

      sa.sa_handler = on_signal;
      sigemptyset (&sa.sa_mask);
      sigaction (SIGINT, &sa, NULL);
      sigaction (SIGTERM, &sa, NULL);
      g_thread_unref (g_thread_new ("mva-cli-signals", watch_signals, c));
      cli_cancellable = c;
      g_once_init_leave (&cli_cancellable_once, 1);
    }
  return cli_cancellable;
}

gboolean
mva_cli_parse (const char          *command,
               const char          *param_string,
               const char          *summary,
               const GOptionEntry  *entries,
               int                 *argc,
               char              ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = g_strdup_printf ("%s%s%s", command,
                                            param_string ? " " : "",
                                            param_string ? param_string : "");

  context = g_option_context_new (title);
  if (summary != NULL)
    g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      mva_cli_fail ("%s: %s", command, error->message);
      return FALSE;
    }
  return TRUE;
}

int
mva_cli_fail (const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  mva_cli_progress_done ();
  fprintf (stderr, "mvaema-cli: %s\n", msg);
  return 1;
}

gboolean
mva_cli_parse_uint (const char *command,
                    const char *opt,
                    const char *text,
                    guint64     min,
                    guint64     max,
                    guint64    *out)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL)
    return TRUE;
  errno = 0;
  v = g_ascii_strtoull (text, &end, 10);
  if (*text == '\0' || *text == '-' || *text == '+' || errno != 0 || *end != '\0' || v < min ||
      v > max)
    {
      mva_cli_fail ("%s: %s expects an integer from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                    ", not “%s”", command, opt, min, max, text);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
mva_cli_parse_double (const char *command,
                      const char *opt,
                      const char *text,
                      double      min,
                      double      max,
                      double     *out)
{
  char *end = NULL;
  double v;

  if (text == NULL)
    return TRUE;
  errno = 0;
  v = g_ascii_strtod (text, &end);
  if (*text == '\0' || errno != 0 || *end != '\0' || !isfinite (v) || v < min || v > max)
    {
      mva_cli_fail ("%s: %s expects a number from %g to %g, not “%s”", command, opt, min, max, text);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

void
mva_cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

void
mva_cli_print_builder (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  mva_cli_print_json (root);
}

void
mva_cli_progress (const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (isatty (STDERR_FILENO))
    {
      fprintf (stderr, "\r\033[K%s", msg);
      progress_open = TRUE;
    }
  else
    fprintf (stderr, "%s\n", msg);
  fflush (stderr);
}

void
mva_cli_progress_done (void)
{
  if (progress_open)
    {
      fputc ('\n', stderr);
      progress_open = FALSE;
    }
}
