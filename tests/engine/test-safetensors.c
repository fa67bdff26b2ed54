// SPDX-License-Identifier: GPL-3.0-or-later
// test-safetensors.c: round trip, metadata, F16/BF16, and refusal of
// truncated, foreign and inconsistent files by engine/mve-safetensors.
//
//   test-safetensors                 run all checks (exit 1 on any failure)
//   test-safetensors --emit PATH     write the fixture file used by the Python check
//   test-safetensors --check PATH    read a file Python wrote and verify its values
#include "mve-safetensors.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                 \
  do                                                                                     \
    {                                                                                    \
      if (!(cond))                                                                       \
        {                                                                                \
          fprintf (stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
          fprintf (stderr, __VA_ARGS__);                                                 \
          fputc ('\n', stderr);                                                          \
          failures++;                                                                    \
        }                                                                                \
    }                                                                                    \
  while (0)

static char tmpdir[256];

static void
path_in (char *buf, size_t n, const char *name)
{
  snprintf (buf, n, "%s/%s", tmpdir, name);
}

static void
write_bytes (const char *path, const void *data, size_t n)
{
  FILE *fp = fopen (path, "wb");
  if (fp == NULL || fwrite (data, 1, n, fp) != n)
    {
      fprintf (stderr, "cannot write %s\n", path);
      exit (1);
    }
  fclose (fp);
}

// A file with header text hdr (length prefix computed) followed by data_len bytes.
static void
write_raw (const char *path, const char *hdr, const void *data, size_t data_len)
{
  size_t hl = strlen (hdr);
  unsigned char *buf = malloc (8 + hl + data_len + 1);
  for (int i = 0; i < 8; i++)
    buf[i] = (unsigned char) ((uint64_t) hl >> (8 * i));
  memcpy (buf + 8, hdr, hl);
  if (data_len)
    memcpy (buf + 8 + hl, data, data_len);
  write_bytes (path, buf, 8 + hl + data_len);
  free (buf);
}

static unsigned char *
read_file (const char *path, size_t *len)
{
  FILE *fp = fopen (path, "rb");
  unsigned char *buf;
  long n;
  if (fp == NULL)
    return NULL;
  fseek (fp, 0, SEEK_END);
  n = ftell (fp);
  fseek (fp, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  if (fread (buf, 1, (size_t) n, fp) != (size_t) n)
    n = 0;
  fclose (fp);
  *len = (size_t) n;
  return buf;
}

// --- fixture shared with the Python check ------------------------------------

#define FIX_A 3
#define FIX_B 5
static float fix_w[FIX_A * FIX_B];
static float fix_b[FIX_B];
static float fix_s[1];

static mve_status
write_fixture (const char *path, char *err, size_t errn)
{
  struct mve_st_tensor t[] = {
    { "enc.w", 2, { FIX_A, FIX_B }, fix_w },
    { "enc.b", 1, { FIX_B }, fix_b },
    { "temp", 0, { 0 }, fix_s },
    { "empty", 2, { 0, 4 }, NULL },
  };
  const char *meta[] = { "format", "pt", "config", "{\"width\": 64, \"name\": \"µ-Å \\\"q\\\"\"}",
                         "tokenizer", "tokenizer.json", NULL };
  for (int i = 0; i < FIX_A * FIX_B; i++)
    fix_w[i] = (float) i * 0.25f - 1.5f;
  for (int i = 0; i < FIX_B; i++)
    fix_b[i] = 1.0f / (float) (i + 1);
  fix_s[0] = 0.07f;
  return mve_safetensors_write (path, t, 4, meta, err, errn);
}

static void
test_round_trip (void)
{
  char path[512], err[256];
  mve_safetensors *f = NULL;
  float w[FIX_A * FIX_B], b[FIX_B], s[1];
  const struct mve_st_info *info;
  mve_status st;

  path_in (path, sizeof path, "rt.safetensors");
  st = write_fixture (path, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "write: %s", err);
  st = mve_safetensors_open (&f, path, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "open: %s", err);
  if (f == NULL)
    return;
  CHECK (mve_safetensors_count (f) == 4, "count %zu", mve_safetensors_count (f));
  info = mve_safetensors_find (f, "enc.w");
  CHECK (info != NULL && info->ndim == 2 && info->shape[0] == FIX_A && info->shape[1] == FIX_B &&
         info->numel == FIX_A * FIX_B && info->dtype == MVE_ST_DTYPE_F32, "enc.w info");
  CHECK (info != NULL && info->offset % 8 == 0, "data section is 8-byte aligned");
  info = mve_safetensors_find (f, "temp");
  CHECK (info != NULL && info->ndim == 0 && info->numel == 1, "scalar info");
  info = mve_safetensors_find (f, "empty");
  CHECK (info != NULL && info->numel == 0 && info->nbytes == 0, "empty tensor");
  CHECK (mve_safetensors_find (f, "nope") == NULL, "absent tensor");
  st = mve_safetensors_read_f32 (f, "enc.w", w, FIX_A * FIX_B, err, sizeof err);
  CHECK (st == MVE_STATUS_OK && memcmp (w, fix_w, sizeof w) == 0, "enc.w data: %s", err);
  st = mve_safetensors_read_f32 (f, "enc.b", b, FIX_B, err, sizeof err);
  CHECK (st == MVE_STATUS_OK && memcmp (b, fix_b, sizeof b) == 0, "enc.b data");
  st = mve_safetensors_read_f32 (f, "temp", s, 1, err, sizeof err);
  CHECK (st == MVE_STATUS_OK && s[0] == 0.07f, "scalar data");
  st = mve_safetensors_read_f32 (f, "enc.b", b, FIX_B - 1, err, sizeof err);
  CHECK (st == MVE_STATUS_INVALID_ARGUMENT, "count mismatch refused");
  st = mve_safetensors_read_f32 (f, "nope", b, 1, err, sizeof err);
  CHECK (st != MVE_STATUS_OK && strstr (err, "nope") != NULL, "absent tensor read: %s", err);
  CHECK (mve_safetensors_get_meta (f, "format") != NULL &&
         strcmp (mve_safetensors_get_meta (f, "format"), "pt") == 0, "meta format");
  CHECK (mve_safetensors_get_meta (f, "config") != NULL &&
         strcmp (mve_safetensors_get_meta (f, "config"),
                 "{\"width\": 64, \"name\": \"µ-Å \\\"q\\\"\"}") == 0, "meta with quotes/UTF-8");
  CHECK (mve_safetensors_meta_count (f) == 3, "meta count");
  CHECK (mve_safetensors_get_meta (f, "missing") == NULL, "absent meta");
  mve_safetensors_close (f);

  // overwrite in place: the new content replaces the old, no temp files remain
  {
    float one = 1.0f;
    struct mve_st_tensor t = { "x", 1, { 1 }, &one };
    DIR *d;
    struct dirent *de;
    int leftovers = 0;
    st = mve_safetensors_write (path, &t, 1, NULL, err, sizeof err);
    CHECK (st == MVE_STATUS_OK, "overwrite: %s", err);
    st = mve_safetensors_open (&f, path, err, sizeof err);
    CHECK (st == MVE_STATUS_OK && mve_safetensors_count (f) == 1 &&
           mve_safetensors_meta_count (f) == 0, "overwritten file");
    mve_safetensors_close (f);
    d = opendir (tmpdir);
    while (d && (de = readdir (d)) != NULL)
      if (strstr (de->d_name, ".tmp-") != NULL)
        leftovers++;
    if (d)
      closedir (d);
    CHECK (leftovers == 0, "%d temporary files left", leftovers);
  }
}

static void
test_write_errors (void)
{
  char path[512], err[256];
  float v[2] = { 1, 2 };
  struct mve_st_tensor dup[2] = { { "a", 1, { 1 }, v }, { "a", 1, { 1 }, v + 1 } };
  struct mve_st_tensor neg = { "n", 1, { -1 }, v };
  struct mve_st_tensor bad = { "\xff\xfe", 1, { 1 }, v };
  struct mve_st_tensor reserved = { "__metadata__", 1, { 1 }, v };
  const char *dupmeta[] = { "k", "1", "k", "2", NULL };
  const char *oddmeta[] = { "k", NULL };
  mve_status st;

  path_in (path, sizeof path, "w.safetensors");
  CHECK (mve_safetensors_write (path, dup, 2, NULL, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "duplicate names");
  CHECK (mve_safetensors_write (path, &neg, 1, NULL, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "negative dim");
  CHECK (mve_safetensors_write (path, &bad, 1, NULL, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "non-UTF-8 name");
  CHECK (mve_safetensors_write (path, &reserved, 1, NULL, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "reserved name");
  CHECK (mve_safetensors_write (path, dup, 1, dupmeta, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "duplicate meta");
  CHECK (mve_safetensors_write (path, dup, 1, oddmeta, err, sizeof err) ==
         MVE_STATUS_INVALID_ARGUMENT, "odd meta");
  CHECK (access (path, F_OK) != 0, "no file written on bad input");
  st = mve_safetensors_write ("/nonexistent-dir-mvaema/x.safetensors", dup, 1, NULL, err,
                              sizeof err);
  CHECK (st == MVE_STATUS_IO_ERROR && strstr (err, "nonexistent") != NULL, "unwritable: %s", err);
}

static void
expect_refused (const char *name, const char *hdr, size_t data_len, mve_status want,
                const char *want_in_msg)
{
  char path[512], err[256] = "";
  unsigned char *data = calloc (1, data_len + 1);
  mve_safetensors *f = NULL;
  mve_status st;

  path_in (path, sizeof path, name);
  write_raw (path, hdr, data, data_len);
  free (data);
  st = mve_safetensors_open (&f, path, err, sizeof err);
  CHECK (st == want && (want == MVE_STATUS_OK) == (f != NULL), "%s: status %d (%s), want %d", name, st, err, want);
  CHECK (want_in_msg == NULL || strstr (err, want_in_msg) != NULL, "%s: message \"%s\"", name,
         err);
  CHECK (strchr (err, '\n') == NULL, "%s: one-line message", name);
  mve_safetensors_close (f);
}

static void
test_refusals (void)
{
  char path[512], err[256];
  mve_safetensors *f = NULL;
  unsigned char *good;
  size_t good_len;
  mve_status st;

  // truncated at every length of a valid file
  path_in (path, sizeof path, "good.safetensors");
  st = write_fixture (path, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "write: %s", err);
  good = read_file (path, &good_len);
  for (size_t cut = 0; good != NULL && cut < good_len; cut++)
    {
      char tpath[512];
      path_in (tpath, sizeof tpath, "trunc.safetensors");
      write_bytes (tpath, good, cut);
      st = mve_safetensors_open (&f, tpath, err, sizeof err);
      CHECK (st == MVE_STATUS_BAD_FORMAT && f == NULL, "truncated at %zu accepted (%d)", cut, st);
      mve_safetensors_close (f);
      f = NULL;
    }
  // one byte too many: the data section is not fully described
  if (good != NULL)
    {
      unsigned char *longer = malloc (good_len + 1);
      memcpy (longer, good, good_len);
      longer[good_len] = 0;
      path_in (path, sizeof path, "long.safetensors");
      write_bytes (path, longer, good_len + 1);
      st = mve_safetensors_open (&f, path, err, sizeof err);
      CHECK (st == MVE_STATUS_BAD_FORMAT, "trailing byte accepted");
      free (longer);
    }
  free (good);

  // foreign files
  path_in (path, sizeof path, "png.safetensors");
  {
    static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                         'I', 'H', 'D', 'R', 0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0,
                                         0, 0, 0x90, 0x91, 0x68, 0x36 };
    write_bytes (path, png, sizeof png);
  }
  st = mve_safetensors_open (&f, path, err, sizeof err);
  CHECK (st == MVE_STATUS_BAD_FORMAT && strstr (err, "safetensors") != NULL, "PNG: %s", err);
  path_in (path, sizeof path, "text.safetensors");
  write_bytes (path, "hello, this is not a checkpoint at all\n",
               strlen ("hello, this is not a checkpoint at all\n"));
  st = mve_safetensors_open (&f, path, err, sizeof err);
  CHECK (st == MVE_STATUS_BAD_FORMAT, "text file");
  st = mve_safetensors_open (&f, "/nonexistent-mvaema.safetensors", err, sizeof err);
  CHECK (st == MVE_STATUS_IO_ERROR, "missing file");
  st = mve_safetensors_open (&f, tmpdir, err, sizeof err);
  CHECK (st == MVE_STATUS_IO_ERROR, "directory");

  // inconsistent headers
  expect_refused ("ok.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                  MVE_STATUS_OK, NULL);
  expect_refused ("shape.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                  MVE_STATUS_BAD_FORMAT, "needs 12 bytes");
  expect_refused ("range.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                  8, MVE_STATUS_BAD_FORMAT, "truncated");
  expect_refused ("overlap.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
                  MVE_STATUS_BAD_FORMAT, "overlaps");
  expect_refused ("gap.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
                  MVE_STATUS_BAD_FORMAT, "gap");
  expect_refused ("dtype.st", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                  MVE_STATUS_UNSUPPORTED, "F64");
  expect_refused ("dtype2.st", "{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                  8, MVE_STATUS_BAD_FORMAT, "unknown dtype");
  expect_refused ("dupkey.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  MVE_STATUS_BAD_FORMAT, "duplicate");
  expect_refused ("negshape.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                  MVE_STATUS_BAD_FORMAT, "negative");
  expect_refused ("fracshape.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
                  MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("hugeshape.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                  "\"data_offsets\":[0,4]}}", 4, MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("extra.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
                  MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("missing.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                  MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("meta.st", "{\"__metadata__\":{\"k\":1}}", 0, MVE_STATUS_BAD_FORMAT,
                  "__metadata__");
  expect_refused ("trailing.st", "{} x", 0, MVE_STATUS_BAD_FORMAT, "JSON");
  expect_refused ("comma.st", "{\"__metadata__\":{\"k\":\"v\",}}", 0, MVE_STATUS_BAD_FORMAT,
                  "JSON");
  expect_refused ("array.st", "[1,2]", 0, MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("rev.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
                  MVE_STATUS_BAD_FORMAT, NULL);
  expect_refused ("badutf8.st", "{\"\xc3\x28\":{\"dtype\":\"F32\",\"shape\":[1],"
                  "\"data_offsets\":[0,4]}}", 4, MVE_STATUS_BAD_FORMAT, "UTF-8");
  expect_refused ("empty.st", "{}", 0, MVE_STATUS_OK, NULL);
  expect_refused ("ws.st", "{}      ", 0, MVE_STATUS_OK, NULL);
  {
    // nesting bombs are refused without exhausting the stack
    char deep[4096];
    size_t n = 0;
    n += (size_t) snprintf (deep, sizeof deep, "{\"__metadata__\":");
    for (int i = 0; i < 1000; i++)
      deep[n++] = '[';
    deep[n] = '\0';
    expect_refused ("deep.st", deep, 0, MVE_STATUS_BAD_FORMAT, "deep");
  }
  // header length pointing past the end
  {
    unsigned char hdr[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
    path_in (path, sizeof path, "hugelen.st");
    write_bytes (path, hdr, 10);
    st = mve_safetensors_open (&f, path, err, sizeof err);
    CHECK (st == MVE_STATUS_BAD_FORMAT && strstr (err, "header length") != NULL, "%s", err);
  }
}

static uint16_t
f32_to_bf16 (float v)
{
  uint32_t bits;
  memcpy (&bits, &v, 4);
  return (uint16_t) (bits >> 16);
}

static void
test_half (void)
{
  // F16: 1.0 = 0x3C00, -2.5 = 0xC100, 65504 = 0x7BFF, smallest subnormal 0x0001, inf 0x7C00
  uint16_t h[5] = { 0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00 };
  uint16_t bf[3];
  unsigned char data[16];
  char path[512], err[256];
  float out[5];
  mve_safetensors *f = NULL;
  mve_status st;

  bf[0] = f32_to_bf16 (1.0f);
  bf[1] = f32_to_bf16 (-3.0f);
  bf[2] = f32_to_bf16 (0.15625f);
  memcpy (data, h, 10);
  memcpy (data + 10, bf, 6);
  path_in (path, sizeof path, "half.st");
  write_raw (path, "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
                   "\"bf\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[10,16]}}",
             data, 16);
  st = mve_safetensors_open (&f, path, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "open half: %s", err);
  if (f == NULL)
    return;
  st = mve_safetensors_read_f32 (f, "h", out, 5, err, sizeof err);
  CHECK (st == MVE_STATUS_OK && out[0] == 1.0f && out[1] == -2.5f && out[2] == 65504.0f &&
         out[3] == ldexpf (1.0f, -24) && isinf (out[4]),
         "F16 values %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4]);
  st = mve_safetensors_read_f32 (f, "bf", out, 3, err, sizeof err);
  CHECK (st == MVE_STATUS_OK && out[0] == 1.0f && out[1] == -3.0f && out[2] == 0.15625f,
         "BF16 values");
  mve_safetensors_close (f);
}

// Values the Python side writes (see test-safetensors-python.sh).
static int
check_python_file (const char *path)
{
  char err[256];
  mve_safetensors *f = NULL;
  float a[6], h[4];
  mve_status st = mve_safetensors_open (&f, path, err, sizeof err);

  CHECK (st == MVE_STATUS_OK, "open %s: %s", path, err);
  if (f == NULL)
    return 1;
  st = mve_safetensors_read_f32 (f, "py.a", a, 6, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "read py.a: %s", err);
  for (int i = 0; i < 6 && st == MVE_STATUS_OK; i++)
    CHECK (a[i] == (float) i * 1.5f - 2.0f, "py.a[%d] = %g", i, a[i]);
  st = mve_safetensors_read_f32 (f, "py.h", h, 4, err, sizeof err);
  CHECK (st == MVE_STATUS_OK, "read py.h: %s", err);
  for (int i = 0; i < 4 && st == MVE_STATUS_OK; i++)
    CHECK (h[i] == (float) i * 0.5f, "py.h[%d] = %g", i, h[i]);
  CHECK (mve_safetensors_get_meta (f, "who") != NULL &&
         strcmp (mve_safetensors_get_meta (f, "who"), "numpy µ") == 0, "python meta");
  mve_safetensors_close (f);
  return failures ? 1 : 0;
}

int
main (int argc, char **argv)
{
  char err[256];

  if (argc == 3 && strcmp (argv[1], "--emit") == 0)
    {
      if (write_fixture (argv[2], err, sizeof err) != MVE_STATUS_OK)
        {
          fprintf (stderr, "%s\n", err);
          return 1;
        }
      return 0;
    }
  if (argc == 3 && strcmp (argv[1], "--check") == 0)
    return check_python_file (argv[2]);

  snprintf (tmpdir, sizeof tmpdir, "%s/mve-st-" "XX" "XX" "XX", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  test_round_trip ();
  test_write_errors ();
  test_refusals ();
  test_half ();

  {
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", tmpdir);
  }
  if (failures)
    {
      fprintf (stderr, "%d check(s) failed\n", failures);
      return 1;
    }
  printf ("all safetensors checks passed\n");
  return 0;
}
