// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-replay.c: runs a libFuzzer target over a corpus without libFuzzer, so
// the regular (and ASan/UBSan) CI builds exercise every corpus file.
//   fuzz-replay-X DIR_OR_FILE...
// Exit 0 when every input ran (a target aborts on a broken invariant).
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
  FILE *fp = fopen (path, "rb");
  uint8_t *buf;
  long n;

  if (fp == NULL || fseek (fp, 0, SEEK_END) != 0 || (n = ftell (fp)) < 0)
    {
      fprintf (stderr, "cannot read %s\n", path);
      if (fp)
        fclose (fp);
      return -1;
    }
  fseek (fp, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  if (buf == NULL || fread (buf, 1, (size_t) n, fp) != (size_t) n)
    {
      fprintf (stderr, "cannot read %s\n", path);
      free (buf);
      fclose (fp);
      return -1;
    }
  fclose (fp);
  LLVMFuzzerTestOneInput (buf, (size_t) n);
  free (buf);
  return 0;
}

int
main (int argc, char **argv)
{
  int files = 0;

  for (int i = 1; i < argc; i++)
    {
      struct stat sb;
      if (stat (argv[i], &sb) != 0)
        {
          fprintf (stderr, "no such corpus: %s\n", argv[i]);
          return 1;
        }
      if (S_ISDIR (sb.st_mode))
        {
          struct dirent **names = NULL;
          int n = scandir (argv[i], &names, NULL, alphasort);
          for (int j = 0; j < n; j++)
            {
              char path[4096];
              if (names[j]->d_name[0] != '.')
                {
                  snprintf (path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
                  if (run_file (path) < 0)
                    return 1;
                  files++;
                }
              free (names[j]);
            }
          free (names);
        }
      else
        {
          if (run_file (argv[i]) < 0)
            return 1;
          files++;
        }
    }
  if (files == 0)
    {
      fprintf (stderr, "empty corpus\n");
      return 1;
    }
  printf ("replayed %d inputs\n", files);
  return 0;
}
