/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mvaema-cli.c: the headless face of app/. Dispatches `mvaema-cli COMMAND ...`
 * to the command functions declared in mva-cli.h.
 */
#define G_LOG_DOMAIN "mvaema-cli"
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "mva-cli.h"

typedef struct
{
  const char *name;
  MvaCliFunc  func;
  const char *summary;
} MvaCliCommand;

/* Keep sorted by name. */
static const MvaCliCommand commands[] = {
  { "ask", mva_cli_ask, "Ask the assistant about a micrograph (streams the answer; overlay, library record)" },
  { "bench", mva_cli_bench, "Time the engine: training samples/s, 64-token generation, peak memory" },
  { "classify", mva_cli_classify, "Rank the 10 nanomaterial categories for images" },
  { "db", mva_cli_db, "Check the library (integrity, dangling files) or back it up: db check | db backup OUT" },
  { "devices", mva_cli_devices, "List the engine's devices: CPU and CUDA (or why there is none)" },
  { "eval", mva_cli_eval, "Answer and classify held-out data, score it (optionally K folds), write a report" },
  { "export", mva_cli_export, "Export question/answer pairs as JSON Lines or LLaVA JSON" },
  { "import", mva_cli_import, "Import micrographs, synth folders, JSON Lines and LLaVA JSON into the library" },
  { "info", mva_cli_info, "Print size, depth, format and instrument metadata of images" },
  { "measure", mva_cli_measure, "Measure the typical size of the structures in images" },
  { "metrics", mva_cli_metrics, "Score answers against references: BLEU-2/4, ROUGE-1/2/L, METEOR" },
  { "models", mva_cli_models, "List, adopt, roll back or discard the library's model versions" },
  { "review", mva_cli_review, "Accept, reject or correct an answer of the library; undo the latest review" },
  { "synth", mva_cli_synth, "Render synthetic SEM micrographs of the 10 categories with grounded Q/A pairs" },
  { "teach", mva_cli_teach, "Ask the optional teacher (admin-enabled) for Q/A pairs about the library" },
  { "train", mva_cli_train, "Train or fine-tune a model on a folder of images with qa.jsonl" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: mvaema-cli COMMAND [OPTION…]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun `mvaema-cli COMMAND --help` for the options of a command.\n"
                "  --version  print the version and exit\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* numbers in JSON and progress lines use '.', whatever the locale */
  setlocale (LC_NUMERIC, "C");

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0)
    {
      printf ("mvaema-cli %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);

  fprintf (stderr, "mvaema-cli: unknown command “%s”\n", argv[1]);
  print_usage (stderr);
  return 2;
}
