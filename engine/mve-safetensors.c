// SPDX-License-Identifier: GPL-3.0-or-later
// mve-safetensors.c: safetensors writer (atomic) and validating reader.
// Plain C11 + POSIX, no GLib. See mve-safetensors.h for the format and the
// checks. Little-endian hosts only (x86-64, aarch64), as the format is.
#include "mve-safetensors.h"

#include "mve-io-impl.h"
#include "mve-json-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mve-safetensors.c assumes a little-endian host"
#endif

struct mve_safetensors
{
  FILE *fp;
  char *path;
  struct mve_json *header;     // owns the strings the infos point to
  struct mve_st_info *infos;   // (n) sorted by offset
  size_t n;
  const char **meta_keys;      // (n_meta)
  const char **meta_values;    // (n_meta)
  size_t n_meta;
};

// --- writing -------------------------------------------------------------------

struct sbuf
{
  char *data;
  size_t len;
  size_t cap;
  int oom;
};

static void
sb_put (struct sbuf *b, const char *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      char *d;
      while (cap < b->len + n + 1)
        cap *= 2;
      d = realloc (b->data, cap);
      if (d == NULL)
        {
          b->oom = 1;
          return;
        }
      b->data = d;
      b->cap = cap;
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void
sb_str (struct sbuf *b, const char *s)
{
  sb_put (b, s, strlen (s));
}

static void
sb_json_string (struct sbuf *b, const char *s)
{
  sb_put (b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      char esc[8];
      if (*p == '"' || *p == '\\')
        {
          esc[0] = '\\';
          esc[1] = (char) *p;
          sb_put (b, esc, 2);
        }
      else if (*p < 0x20)
        {
          snprintf (esc, sizeof esc, "\\u%04x", *p);
          sb_put (b, esc, 6);
        }
      else
        sb_put (b, (const char *) p, 1);
    }
  sb_put (b, "\"", 1);
}

static void
sb_u64 (struct sbuf *b, uint64_t v)
{
  char num[24];
  snprintf (num, sizeof num, "%llu", (unsigned long long) v);
  sb_str (b, num);
}

static mve_status
write_all (int fd, const void *data, size_t n)
{
  const char *p = data;
  while (n > 0)
    {
      ssize_t w = write (fd, p, n > (1u << 30) ? (1u << 30) : n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return MVE_STATUS_IO_ERROR;
        }
      p += w;
      n -= (size_t) w;
    }
  return MVE_STATUS_OK;
}

static int
numel_of (const int64_t *shape, int32_t ndim, uint64_t *out)
{
  uint64_t numel = 1;
  for (int32_t d = 0; d < ndim; d++)
    {
      if (shape[d] < 0)
        return -1;
      if (shape[d] != 0 && numel > UINT64_MAX / 4 / (uint64_t) shape[d])
        return -1;
      numel *= (uint64_t) shape[d];
    }
  *out = numel;
  return 0;
}

static mve_status
build_header (struct sbuf *b, const struct mve_st_tensor *tensors, size_t n,
              const char *const *meta_kv, char *err, unsigned long errn)
{
  uint64_t offset = 0;
  int first = 1;

  sb_str (b, "{");
  if (meta_kv != NULL && meta_kv[0] != NULL)
    {
      sb_str (b, "\"__metadata__\":{");
      for (size_t i = 0; meta_kv[i] != NULL; i += 2)
        {
          if (meta_kv[i + 1] == NULL)
            return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                                  "metadata key \"%s\" has no value", meta_kv[i]);
          if (!mve_json_utf8_valid (meta_kv[i], strlen (meta_kv[i])) ||
              !mve_json_utf8_valid (meta_kv[i + 1], strlen (meta_kv[i + 1])))
            return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                                  "metadata is not valid UTF-8");
          for (size_t j = 0; j < i; j += 2)
            if (strcmp (meta_kv[j], meta_kv[i]) == 0)
              return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                                    "duplicate metadata key \"%s\"", meta_kv[i]);
          if (i > 0)
            sb_str (b, ",");
          sb_json_string (b, meta_kv[i]);
          sb_str (b, ":");
          sb_json_string (b, meta_kv[i + 1]);
        }
      sb_str (b, "}");
      first = 0;
    }
  for (size_t i = 0; i < n; i++)
    {
      const struct mve_st_tensor *t = &tensors[i];
      uint64_t numel;

      if (t->name == NULL || t->name[0] == '\0' || strcmp (t->name, "__metadata__") == 0 ||
          !mve_json_utf8_valid (t->name, strlen (t->name)))
        return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                              "tensor %zu has an empty, reserved or non-UTF-8 name", i);
      if (t->ndim < 0 || t->ndim > MVE_ST_MAX_DIMS || numel_of (t->shape, t->ndim, &numel) < 0)
        return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                              "tensor \"%s\" has an invalid shape", t->name);
      if (numel > 0 && t->data == NULL)
        return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                              "tensor \"%s\" has no data", t->name);
      for (size_t j = 0; j < i; j++)
        if (strcmp (tensors[j].name, t->name) == 0)
          return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                                "duplicate tensor name \"%s\"", t->name);
      if (!first)
        sb_str (b, ",");
      first = 0;
      sb_json_string (b, t->name);
      sb_str (b, ":{\"dtype\":\"F32\",\"shape\":[");
      for (int32_t d = 0; d < t->ndim; d++)
        {
          if (d > 0)
            sb_str (b, ",");
          sb_u64 (b, (uint64_t) t->shape[d]);
        }
      sb_str (b, "],\"data_offsets\":[");
      sb_u64 (b, offset);
      sb_str (b, ",");
      offset += numel * 4;
      sb_u64 (b, offset);
      sb_str (b, "]}");
    }
  sb_str (b, "}");
  // pad to a multiple of 8 so the data section is 8-byte aligned
  while ((b->len + 8) % 8 != 0)
    sb_str (b, " ");
  if (b->oom)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory building the header");
  return MVE_STATUS_OK;
}

mve_status
mve_write_atomic (const char *path, const struct mve_chunk *chunks, size_t n, char *err,
                  unsigned long errn)
{
  char *tmp = NULL, *dir = NULL;
  int fd = -1;
  mve_status st = MVE_STATUS_OK;

  if (path == NULL || path[0] == '\0')
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no path");
  tmp = malloc (strlen (path) + 16);
  dir = strdup (path);
  if (tmp == NULL || dir == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto out;
    }
  // mkstemp template: six X, written in pairs
  sprintf (tmp, "%s.tmp-" "XX" "XX" "XX", path);
  fd = mkstemp (tmp);
  if (fd < 0)
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot create a file beside %s: %s",
                          path, strerror (errno));
      free (tmp);
      tmp = NULL;
      goto out;
    }
  (void) fchmod (fd, 0644);
  for (size_t i = 0; i < n && st == MVE_STATUS_OK; i++)
    if (chunks[i].len > 0)
      st = write_all (fd, chunks[i].data, chunks[i].len);
  if (st == MVE_STATUS_OK && fsync (fd) != 0)
    st = MVE_STATUS_IO_ERROR;
  if (st == MVE_STATUS_OK && close (fd) != 0)
    st = MVE_STATUS_IO_ERROR;
  else if (st != MVE_STATUS_OK)
    close (fd);
  fd = -1;
  if (st != MVE_STATUS_OK)
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot write %s: %s", path,
                          strerror (errno));
      goto out;
    }
  if (rename (tmp, path) != 0)
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot rename into %s: %s", path,
                          strerror (errno));
      goto out;
    }
  free (tmp);
  tmp = NULL;

  // make the rename durable
  {
    char *slash = strrchr (dir, '/');
    int dfd;
    if (slash == NULL)
      strcpy (dir, ".");
    else if (slash == dir)
      dir[1] = '\0';
    else
      *slash = '\0';
    dfd = open (dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0)
      {
        (void) fsync (dfd);
        close (dfd);
      }
  }

out:
  if (tmp != NULL)
    {
      unlink (tmp);
      free (tmp);
    }
  free (dir);
  return st;
}

mve_status
mve_safetensors_write (const char *path, const struct mve_st_tensor *tensors, size_t n,
                       const char *const *meta_kv, char *err, unsigned long errn)
{
  struct sbuf hdr = { 0 };
  struct mve_chunk *chunks = NULL;
  mve_status st;
  unsigned char lenbuf[8];
  uint64_t hlen;

  if (path == NULL || path[0] == '\0' || (n > 0 && tensors == NULL))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no path or tensors");
  st = build_header (&hdr, tensors, n, meta_kv, err, errn);
  if (st != MVE_STATUS_OK)
    goto out;
  chunks = calloc (n + 2, sizeof *chunks);
  if (chunks == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto out;
    }
  hlen = hdr.len;
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (unsigned char) (hlen >> (8 * i));
  chunks[0].data = lenbuf;
  chunks[0].len = 8;
  chunks[1].data = hdr.data;
  chunks[1].len = hdr.len;
  for (size_t i = 0; i < n; i++)
    {
      uint64_t numel = 0;
      numel_of (tensors[i].shape, tensors[i].ndim, &numel);
      chunks[i + 2].data = tensors[i].data;
      chunks[i + 2].len = (size_t) numel * 4;
    }
  st = mve_write_atomic (path, chunks, n + 2, err, errn);

out:
  free (chunks);
  free (hdr.data);
  return st;
}

// --- reading -------------------------------------------------------------------

static int
cmp_info (const void *a, const void *b)
{
  const struct mve_st_info *x = a, *y = b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  if (x->nbytes != y->nbytes)
    return x->nbytes < y->nbytes ? -1 : 1;
  return 0;
}

static int
dtype_of (const char *s, mve_st_dtype *dt, uint64_t *size)
{
  // standard safetensors dtypes we do not convert
  static const char *const known[] = { "BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64",
                                       "U64", "F64", "F8_E5M2", "F8_E4M3", NULL };
  if (strcmp (s, "F32") == 0) { *dt = MVE_ST_DTYPE_F32; *size = 4; return 1; }
  if (strcmp (s, "F16") == 0) { *dt = MVE_ST_DTYPE_F16; *size = 2; return 1; }
  if (strcmp (s, "BF16") == 0) { *dt = MVE_ST_DTYPE_BF16; *size = 2; return 1; }
  for (int i = 0; known[i]; i++)
    if (strcmp (s, known[i]) == 0)
      return 0;
  return -1;
}

// Parse and validate a header; on success fills f->header/infos/meta.
static mve_status
parse_header (struct mve_safetensors *f, const char *json, size_t len, uint64_t data_len,
              uint64_t data_start, char *err, unsigned long errn)
{
  char jerr[160];
  struct mve_json *root = NULL;
  const struct mve_json *meta = NULL;
  size_t nt = 0, k = 0;
  mve_status st;

  if (len == 0 || json[0] != '{')
    return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                          "not a safetensors file (header does not start with '{')");
  st = mve_json_parse (json, len, &root, jerr, sizeof jerr);
  if (st != MVE_STATUS_OK)
    return mve_error_set (err, errn, st, "safetensors header is not valid JSON (%s)", jerr);
  f->header = root;

  for (size_t i = 0; i < root->n; i++)
    {
      if (strcmp (root->items[i].key, "__metadata__") == 0)
        meta = &root->items[i];
      else
        nt++;
    }
  if (meta != NULL)
    {
      if (meta->type != MVE_JSON_OBJECT)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "__metadata__ is not an object");
      f->meta_keys = calloc (meta->n + 1, sizeof *f->meta_keys);
      f->meta_values = calloc (meta->n + 1, sizeof *f->meta_values);
      if (f->meta_keys == NULL || f->meta_values == NULL)
        return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      for (size_t i = 0; i < meta->n; i++)
        {
          const struct mve_json *v = &meta->items[i];
          if (v->type != MVE_JSON_STRING || strlen (v->str) != v->str_len ||
              strlen (v->key) != v->key_len)
            return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                  "__metadata__ value of \"%s\" is not a plain string", v->key);
          f->meta_keys[i] = v->key;
          f->meta_values[i] = v->str;
        }
      f->n_meta = meta->n;
    }

  f->infos = calloc (nt + 1, sizeof *f->infos);
  if (f->infos == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  for (size_t i = 0; i < root->n; i++)
    {
      const struct mve_json *t = &root->items[i];
      const struct mve_json *dtype, *shape, *offs;
      struct mve_st_info *info;
      uint64_t elsize = 0, numel = 1, begin, end;
      int known;

      if (t == meta)
        continue;
      info = &f->infos[k++];
      info->name = t->key;
      if (strlen (t->key) != t->key_len || t->key_len == 0)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "tensor with an invalid name");
      if (t->type != MVE_JSON_OBJECT)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "entry \"%s\" is not an object", t->key);
      dtype = mve_json_get (t, "dtype");
      shape = mve_json_get (t, "shape");
      offs = mve_json_get (t, "data_offsets");
      if (dtype == NULL || shape == NULL || offs == NULL || t->n != 3)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\" needs exactly dtype, shape and data_offsets", t->key);
      if (dtype->type != MVE_JSON_STRING)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\": dtype is not a string", t->key);
      known = dtype_of (dtype->str, &info->dtype, &elsize);
      if (known < 0)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\": unknown dtype \"%s\"", t->key, dtype->str);
      if (known == 0)
        return mve_error_set (err, errn, MVE_STATUS_UNSUPPORTED,
                              "tensor \"%s\" has dtype %s; only F32, F16 and BF16 are read",
                              t->key, dtype->str);
      if (shape->type != MVE_JSON_ARRAY || shape->n > MVE_ST_MAX_DIMS)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\": shape is not an array of at most %d sizes",
                              t->key, MVE_ST_MAX_DIMS);
      info->ndim = (int32_t) shape->n;
      for (size_t d = 0; d < shape->n; d++)
        {
          const struct mve_json *s = &shape->items[d];
          if (s->type != MVE_JSON_NUMBER || !s->is_int || s->integer < 0)
            return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                  "tensor \"%s\": shape holds a non-integer or negative size",
                                  t->key);
          info->shape[d] = s->integer;
          if (s->integer != 0 && numel > (UINT64_MAX / 8) / (uint64_t) s->integer)
            return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                  "tensor \"%s\": shape is too large", t->key);
          numel *= (uint64_t) s->integer;
        }
      if (offs->type != MVE_JSON_ARRAY || offs->n != 2 ||
          offs->items[0].type != MVE_JSON_NUMBER || !offs->items[0].is_int ||
          offs->items[1].type != MVE_JSON_NUMBER || !offs->items[1].is_int ||
          offs->items[0].integer < 0 || offs->items[1].integer < offs->items[0].integer)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\": data_offsets is not [begin, end] with begin <= end",
                              t->key);
      begin = (uint64_t) offs->items[0].integer;
      end = (uint64_t) offs->items[1].integer;
      if (end > data_len)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\" ends at byte %llu but the data section has %llu "
                              "bytes (truncated file?)", t->key, (unsigned long long) end,
                              (unsigned long long) data_len);
      if (end - begin != numel * elsize)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "tensor \"%s\": shape needs %llu bytes but data_offsets give %llu",
                              t->key, (unsigned long long) (numel * elsize),
                              (unsigned long long) (end - begin));
      info->numel = (int64_t) numel;
      info->offset = data_start + begin;
      info->nbytes = end - begin;
    }
  f->n = nt;
  qsort (f->infos, nt, sizeof *f->infos, cmp_info);
  {
    uint64_t expect = data_start;
    for (size_t i = 0; i < nt; i++)
      {
        if (f->infos[i].offset != expect)
          return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                "tensor \"%s\" %s the previous one", f->infos[i].name,
                                f->infos[i].offset < expect ? "overlaps" : "leaves a gap after");
        expect += f->infos[i].nbytes;
      }
    if (expect != data_start + data_len)
      return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                            "%llu bytes after the last tensor are not described by the header",
                            (unsigned long long) (data_start + data_len - expect));
  }
  return MVE_STATUS_OK;
}

static void
free_parsed (struct mve_safetensors *f)
{
  mve_json_free (f->header);
  free (f->infos);
  free (f->meta_keys);
  free (f->meta_values);
}

mve_status
mve_safetensors_check_header (const char *json, size_t len, uint64_t data_len,
                              char *err, unsigned long errn)
{
  struct mve_safetensors f = { 0 };
  mve_status st = parse_header (&f, json, len, data_len, 8 + len, err, errn);
  free_parsed (&f);
  return st;
}

mve_status
mve_safetensors_open (mve_safetensors **out, const char *path, char *err, unsigned long errn)
{
  struct mve_safetensors *f;
  struct stat sb;
  unsigned char lenbuf[8];
  uint64_t hlen = 0;
  char *json = NULL;
  mve_status st;

  if (out == NULL || path == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no path");
  *out = NULL;
  f = calloc (1, sizeof *f);
  if (f == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  f->fp = fopen (path, "rb");
  if (f->fp == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "cannot open %s: %s", path,
                          strerror (errno));
      goto fail;
    }
  if (fstat (fileno (f->fp), &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "%s is not a regular file", path);
      goto fail;
    }
  if (sb.st_size < 8 || fread (lenbuf, 1, 8, f->fp) != 8)
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                          "%s: too short to be a safetensors file (%lld bytes)", path,
                          (long long) sb.st_size);
      goto fail;
    }
  for (int i = 0; i < 8; i++)
    hlen |= (uint64_t) lenbuf[i] << (8 * i);
  if (hlen > (uint64_t) sb.st_size - 8 || hlen > MVE_ST_MAX_HEADER)
    {
      st = mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                          "%s: not a safetensors file or truncated (header length %llu, "
                          "file size %lld)", path, (unsigned long long) hlen,
                          (long long) sb.st_size);
      goto fail;
    }
  json = malloc (hlen + 1);
  if (json == NULL)
    {
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto fail;
    }
  if (fread (json, 1, hlen, f->fp) != hlen)
    {
      st = mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "%s: read error", path);
      goto fail;
    }
  {
    char perr[256];
    st = parse_header (f, json, hlen, (uint64_t) sb.st_size - 8 - hlen, 8 + hlen, perr,
                       sizeof perr);
    if (st != MVE_STATUS_OK)
      {
        mve_error_set (err, errn, st, "%s: %s", path, perr);
        goto fail;
      }
  }
  free (json);
  f->path = strdup (path);
  if (f->path == NULL)
    {
      json = NULL;
      st = mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      goto fail;
    }
  *out = f;
  return MVE_STATUS_OK;

fail:
  free (json);
  mve_safetensors_close (f);
  return st;
}

void
mve_safetensors_close (mve_safetensors *f)
{
  if (f == NULL)
    return;
  if (f->fp != NULL)
    fclose (f->fp);
  free_parsed (f);
  free (f->path);
  free (f);
}

size_t
mve_safetensors_count (const mve_safetensors *f)
{
  return f ? f->n : 0;
}

const struct mve_st_info *
mve_safetensors_info_at (const mve_safetensors *f, size_t i)
{
  return (f != NULL && i < f->n) ? &f->infos[i] : NULL;
}

const struct mve_st_info *
mve_safetensors_find (const mve_safetensors *f, const char *name)
{
  if (f == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < f->n; i++)
    if (strcmp (f->infos[i].name, name) == 0)
      return &f->infos[i];
  return NULL;
}

static float
half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t) (h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  float f;

  if (exp == 0)
    {
      if (mant == 0)
        bits = sign;
      else
        {
          // subnormal: normalise
          int e = -1;
          do
            {
              e++;
              mant <<= 1;
            }
          while ((mant & 0x400) == 0);
          mant &= 0x3FF;
          bits = sign | ((uint32_t) (127 - 15 - e) << 23) | (mant << 13);
        }
    }
  else if (exp == 31)
    bits = sign | 0x7F800000u | (mant << 13);
  else
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

mve_status
mve_safetensors_read_f32 (mve_safetensors *f, const char *name, float *dst, size_t count,
                          char *err, unsigned long errn)
{
  const struct mve_st_info *info = mve_safetensors_find (f, name);
  uint16_t *half = NULL;

  if (info == NULL)
    return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "%s has no tensor \"%s\"",
                          f ? f->path : "(null)", name ? name : "(null)");
  if ((uint64_t) count != (uint64_t) info->numel || (count > 0 && dst == NULL))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                          "tensor \"%s\" has %lld elements, caller expects %zu", name,
                          (long long) info->numel, count);
  if (count == 0)
    return MVE_STATUS_OK;
  if (fseeko (f->fp, (off_t) info->offset, SEEK_SET) != 0)
    return mve_error_set (err, errn, MVE_STATUS_IO_ERROR, "%s: seek failed", f->path);
  if (info->dtype == MVE_ST_DTYPE_F32)
    {
      if (fread (dst, 4, count, f->fp) != count)
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                              "%s: short read of \"%s\" (file changed?)", f->path, name);
      return MVE_STATUS_OK;
    }
  half = malloc (count * 2);
  if (half == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  if (fread (half, 2, count, f->fp) != count)
    {
      free (half);
      return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                            "%s: short read of \"%s\" (file changed?)", f->path, name);
    }
  for (size_t i = 0; i < count; i++)
    {
      if (info->dtype == MVE_ST_DTYPE_F16)
        dst[i] = half_to_float (half[i]);
      else
        {
          uint32_t bits = (uint32_t) half[i] << 16;
          memcpy (&dst[i], &bits, 4);
        }
    }
  free (half);
  return MVE_STATUS_OK;
}

const char *
mve_safetensors_get_meta (const mve_safetensors *f, const char *key)
{
  if (f == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < f->n_meta; i++)
    if (strcmp (f->meta_keys[i], key) == 0)
      return f->meta_values[i];
  return NULL;
}

size_t
mve_safetensors_meta_count (const mve_safetensors *f)
{
  return f ? f->n_meta : 0;
}

const char *
mve_safetensors_meta_at (const mve_safetensors *f, size_t i, const char **value)
{
  if (f == NULL || i >= f->n_meta)
    {
      if (value)
        *value = NULL;
      return NULL;
    }
  if (value)
    *value = f->meta_values[i];
  return f->meta_keys[i];
}
