/* Replaced by the formats work (issue 6). */
#include "config.h"
#include "mva-cli.h"
int mva_cli_info (int argc, char **argv) { return mva_cli_fail ("info: not built yet"); }
