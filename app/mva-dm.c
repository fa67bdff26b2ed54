/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-dm.c: Gatan DigitalMicrograph DM3 and DM4 files.
 *
 * Layout (both versions): a big-endian header (version 3 or 4, the root
 * length: 4 bytes in DM3, 8 in DM4, and a byte-order flag for the data:
 * 1 = little endian), then a tree of tag groups and data tags. Structural
 * integers are big endian and 4 bytes wide in DM3, 8 in DM4; DM4 also puts
 * an 8-byte size before each tag's body. A data tag is "%%%%", the length of
 * its type description, the description, then the data in the file's byte
 * order: a simple value, a string, a struct, or an array of simple values or
 * structs.
 *
 * We walk the whole tree once (bounded depth and tag count, every read
 * bounds-checked), record every tag under a "/"-joined path (unnamed entries
 * of a list get their index), and then pick from ImageList the largest
 * image: ImageData/Data (any stored type), ImageData/Dimensions,
 * ImageData/Calibrations/Dimension/N/{Scale,Units,Origin}, and from
 * ImageTags/Microscope Info the voltage, magnification, microscope and
 * imaging mode. A 1-D entry (a spectrum) is reported as found with ndims 1:
 * the loader refuses it as "not an image" while info still shows its tags.
 *
 * Input is the whole file in memory (mapped by the loader), so the parser is
 * also the fuzz entry point.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <string.h>

#define DM_MAX_DEPTH 48
#define DM_MAX_TAGS  (1u << 20)

enum
{
  DM_SHORT = 2, DM_LONG = 3, DM_USHORT = 4, DM_ULONG = 5, DM_FLOAT = 6,
  DM_DOUBLE = 7, DM_BOOL = 8, DM_CHAR = 9, DM_OCTET = 10, DM_INT64 = 11,
  DM_UINT64 = 12, DM_STRUCT = 15, DM_STRING = 18, DM_ARRAY = 20,
};

typedef struct
{
  int      type;       /* simple type, DM_STRUCT, DM_STRING, DM_ARRAY; 0 for a group */
  int      elem_type;  /* arrays: element type (DM_STRUCT for arrays of structs) */
  guint64  offset;     /* start of the data */
  guint64  count;      /* arrays: elements; strings: characters */
  guint64  elem_size;  /* bytes per element (arrays) or of the value */
  guint64  first_field_type; /* structs: type of the first field */
} DmTag;

typedef struct
{
  const guint8 *buf;
  gsize         len;
  gsize         pos;
  int           version;
  gboolean      little;
  guint         ntags;
  GHashTable   *tags; /* path -> DmTag */
  GString      *path;
  const char   *error;
} DmParser;

static gsize
simple_size (guint64 t)
{
  switch (t)
    {
    case DM_SHORT: case DM_USHORT: return 2;
    case DM_LONG: case DM_ULONG: case DM_FLOAT: return 4;
    case DM_DOUBLE: case DM_INT64: case DM_UINT64: return 8;
    case DM_BOOL: case DM_CHAR: case DM_OCTET: return 1;
    default: return 0;
    }
}

static gboolean
need (DmParser *p, guint64 n)
{
  if (n > p->len || p->pos > p->len - n)
    {
      p->error = "truncated tag data";
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_be (DmParser *p, guint width, guint64 *out)
{
  guint64 v = 0;

  if (!need (p, width))
    return FALSE;
  for (guint i = 0; i < width; i++)
    v = (v << 8) | p->buf[p->pos + i];
  p->pos += width;
  *out = v;
  return TRUE;
}

static gboolean
read_word (DmParser *p, guint64 *out)
{
  return read_be (p, p->version == 4 ? 8 : 4, out);
}

static gboolean
skip (DmParser *p, guint64 n)
{
  if (!need (p, n))
    return FALSE;
  p->pos += n;
  return TRUE;
}

static gboolean parse_group (DmParser *p, guint depth);

static gboolean
parse_data (DmParser *p)
{
  guint64 ninfo, t;
  g_autofree guint64 *info = NULL;
  DmTag tag = { 0 };
  guint64 bytes = 0;

  if (!need (p, 4) || memcmp (p->buf + p->pos, "%%%%", 4) != 0)
    {
      p->error = "data tag without its %%%% marker";
      return FALSE;
    }
  p->pos += 4;
  if (!read_word (p, &ninfo))
    return FALSE;
  if (ninfo == 0 || ninfo > 4096)
    {
      p->error = "bad tag type description";
      return FALSE;
    }
  info = g_new (guint64, ninfo);
  for (guint64 i = 0; i < ninfo; i++)
    if (!read_word (p, &info[i]))
      return FALSE;

  t = info[0];
  tag.type = (int) MIN (t, 1000);
  tag.offset = p->pos;
  if (simple_size (t) > 0)
    {
      tag.elem_size = simple_size (t);
      tag.count = 1;
      bytes = tag.elem_size;
    }
  else if (t == DM_STRING && ninfo >= 2)
    {
      tag.count = info[1];
      tag.elem_size = 2;
      if (tag.count > G_MAXUINT32)
        goto bad;
      bytes = tag.count * 2;
    }
  else if (t == DM_STRUCT && ninfo >= 3)
    {
      guint64 nf = info[2];

      if (nf > 1024 || ninfo < 3 + 2 * nf)
        goto bad;
      for (guint64 f = 0; f < nf; f++)
        {
          gsize s = simple_size (info[3 + 2 * f + 1]);

          if (s == 0)
            goto bad;
          if (f == 0)
            tag.first_field_type = info[4];
          bytes += s;
        }
      tag.elem_size = bytes;
      tag.count = 1;
    }
  else if (t == DM_ARRAY && ninfo >= 3)
    {
      guint64 et = info[1];

      tag.elem_type = (int) MIN (et, 1000);
      if (simple_size (et) > 0)
        {
          tag.elem_size = simple_size (et);
          tag.count = info[2];
        }
      else if (et == DM_STRUCT && ninfo >= 5)
        {
          guint64 nf = info[3];

          if (nf > 1024 || ninfo < 5 + 2 * nf)
            goto bad;
          for (guint64 f = 0; f < nf; f++)
            {
              gsize s = simple_size (info[4 + 2 * f + 1]);

              if (s == 0)
                goto bad;
              if (f == 0)
                tag.first_field_type = info[5];
              tag.elem_size += s;
            }
          tag.count = info[4 + 2 * nf];
        }
      else
        goto bad;
      if (tag.elem_size == 0 || tag.count > G_MAXUINT64 / tag.elem_size)
        goto bad;
      bytes = tag.count * tag.elem_size;
    }
  else
    goto bad;

  if (!skip (p, bytes))
    return FALSE;
  g_hash_table_replace (p->tags, g_strdup (p->path->str), g_memdup2 (&tag, sizeof tag));
  return TRUE;

bad:
  p->error = "unsupported or malformed tag type";
  return FALSE;
}

static gboolean
parse_entry (DmParser *p, guint depth, guint64 index)
{
  guint64 kind, namelen, size = 0;
  gsize saved_len = p->path->len;
  gsize body_start;
  gboolean ok;

  if (++p->ntags > DM_MAX_TAGS)
    {
      p->error = "too many tags";
      return FALSE;
    }
  if (!read_be (p, 1, &kind))
    return FALSE;
  if (kind == 0)
    return TRUE; /* end marker some writers leave */
  if (!read_be (p, 2, &namelen) || !need (p, namelen))
    return FALSE;
  if (p->path->len > 0)
    g_string_append_c (p->path, '/');
  if (namelen == 0)
    g_string_append_printf (p->path, "%" G_GUINT64_FORMAT, index);
  else
    g_string_append_len (p->path, (const char *) p->buf + p->pos, (gssize) namelen);
  p->pos += namelen;
  if (p->version == 4 && !read_be (p, 8, &size))
    return FALSE;
  body_start = p->pos;

  if (kind == 20)
    {
      DmTag tag = { 0 };

      g_hash_table_replace (p->tags, g_strdup (p->path->str), g_memdup2 (&tag, sizeof tag));
      ok = parse_group (p, depth + 1);
    }
  else if (kind == 21)
    ok = parse_data (p);
  else
    {
      p->error = "unknown tag kind";
      ok = FALSE;
    }
  if (ok && p->version == 4 && size > 0 && p->pos != body_start + size)
    {
      /* Trust the declared size when it stays inside the file. */
      if (size <= p->len && body_start <= p->len - size)
        p->pos = body_start + size;
    }
  g_string_truncate (p->path, saved_len);
  return ok;
}

static gboolean
parse_group (DmParser *p, guint depth)
{
  guint64 sorted, open, n;

  if (depth > DM_MAX_DEPTH)
    {
      p->error = "tag groups nested too deeply";
      return FALSE;
    }
  if (!read_be (p, 1, &sorted) || !read_be (p, 1, &open) || !read_word (p, &n))
    return FALSE;
  /* Every entry needs at least 3 bytes: refuse counts the file cannot hold. */
  if (n > (p->len - p->pos) / 3 + 1)
    {
      p->error = "tag group claims more entries than the file holds";
      return FALSE;
    }
  for (guint64 i = 0; i < n; i++)
    if (!parse_entry (p, depth, i))
      return FALSE;
  return TRUE;
}

// --- values -------------------------------------------------------------------------

static double
value_at (const DmParser *p, int type, guint64 offset)
{
  const guint8 *b = p->buf + offset;
  guint8 tmp[8];
  gsize n = simple_size (type);

  if (n == 0 || offset > p->len || p->len - offset < n)
    return NAN;
  for (gsize i = 0; i < n; i++)
    tmp[i] = p->little == (G_BYTE_ORDER == G_LITTLE_ENDIAN) ? b[i] : b[n - 1 - i];
  switch (type)
    {
    case DM_SHORT: { gint16 v; memcpy (&v, tmp, 2); return v; }
    case DM_USHORT: { guint16 v; memcpy (&v, tmp, 2); return v; }
    case DM_LONG: { gint32 v; memcpy (&v, tmp, 4); return v; }
    case DM_ULONG: { guint32 v; memcpy (&v, tmp, 4); return v; }
    case DM_FLOAT: { float v; memcpy (&v, tmp, 4); return v; }
    case DM_DOUBLE: { double v; memcpy (&v, tmp, 8); return v; }
    case DM_INT64: { gint64 v; memcpy (&v, tmp, 8); return (double) v; }
    case DM_UINT64: { guint64 v; memcpy (&v, tmp, 8); return (double) v; }
    case DM_CHAR: return (gint8) tmp[0];
    default: return tmp[0];
    }
}

static const DmTag *
lookup (const DmParser *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static const DmTag *
lookup (const DmParser *p, const char *fmt, ...)
{
  g_autofree char *key = NULL;
  va_list ap;

  va_start (ap, fmt);
  key = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return g_hash_table_lookup (p->tags, key);
}

static double
number (const DmParser *p, const DmTag *t)
{
  if (t == NULL || t->count != 1 || t->type == DM_ARRAY || t->type == DM_STRING)
    return NAN;
  if (t->type == DM_STRUCT)
    return NAN;
  return value_at (p, t->type, t->offset);
}

/* Text tags: arrays of ushort (UTF-16) or of char/octet, or DM strings. */
static char *
text (const DmParser *p, const DmTag *t)
{
  g_autofree gunichar2 *u = NULL;
  guint64 n;
  char *s;

  if (t == NULL)
    return NULL;
  if (t->type == DM_ARRAY && (t->elem_type == DM_CHAR || t->elem_type == DM_OCTET))
    {
      n = MIN (t->count, 4096);
      s = g_strndup ((const char *) p->buf + t->offset, n);
      if (!g_utf8_validate (s, -1, NULL))
        {
          char *v = g_utf8_make_valid (s, -1);

          g_free (s);
          s = v;
        }
      return s;
    }
  if (!((t->type == DM_ARRAY && (t->elem_type == DM_USHORT || t->elem_type == DM_SHORT))
        || t->type == DM_STRING))
    return NULL;
  n = MIN (t->count, 4096);
  u = g_new0 (gunichar2, n + 1);
  for (guint64 i = 0; i < n; i++)
    u[i] = (gunichar2) value_at (p, DM_USHORT, t->offset + 2 * i);
  s = g_utf16_to_utf8 (u, (glong) n, NULL, NULL, NULL);
  if (s == NULL)
    {
      s = g_malloc (n + 1);
      for (guint64 i = 0; i < n; i++)
        s[i] = u[i] < 128 && u[i] >= 32 ? (char) u[i] : '?';
      s[n] = '\0';
    }
  return s;
}

static void
read_image_meta (const DmParser *p, guint index, MvaImageMeta *meta)
{
  double v;
  g_autofree char *scope = NULL, *mode = NULL;

  v = number (p, lookup (p, "ImageList/%u/ImageTags/Microscope Info/%s", index, "Voltage"));
  if (isfinite (v) && v > 0)
    meta->hv_kv = v / 1000.0;
  v = number (p, lookup (p, "ImageList/%u/ImageTags/Microscope Info/%s", index, "Indicated Magnification"));
  if (!(isfinite (v) && v > 0))
    v = number (p, lookup (p, "ImageList/%u/ImageTags/Microscope Info/%s", index, "Actual Magnification"));
  if (isfinite (v) && v > 0)
    meta->magnification = v;
  scope = text (p, lookup (p, "ImageList/%u/ImageTags/Microscope Info/%s", index, "Microscope"));
  if (scope == NULL || scope[0] == '\0' || g_ascii_strcasecmp (scope, "Unknown") == 0)
    {
      g_free (scope);
      scope = text (p, lookup (p, "ImageList/%u/ImageTags/Microscope Info/%s", index, "Name"));
    }
  if (scope != NULL && scope[0] != '\0' && g_ascii_strcasecmp (scope, "Unknown") != 0)
    meta->instrument = g_steal_pointer (&scope);
  /* The camera or scan device that recorded the data. */
  mode = text (p, lookup (p, "ImageList/%u/ImageTags/%s", index, "Acquisition/Device/Name"));
  if (mode == NULL || mode[0] == '\0')
    {
      g_free (mode);
      mode = text (p, lookup (p, "ImageList/%u/ImageTags/%s", index, "DataBar/Device Name"));
    }
  if (mode != NULL && mode[0] != '\0')
    meta->detector = g_steal_pointer (&mode);
}

gboolean
_mva_dm_parse (const guint8 *data,
               gsize         length,
               MvaDmInfo    *info,
               GError      **error)
{
  DmParser p = { 0 };
  guint64 version, rootlen, order;
  gboolean ok;
  guint best = G_MAXUINT;
  guint64 best_pixels = 0;
  guint best_dims = 0;

  memset (info, 0, sizeof *info);
  _mva_image_meta_init (&info->meta);
  info->scale[0] = info->scale[1] = NAN;
  p.buf = data;
  p.len = length;
  if (!read_be (&p, 4, &version) || (version != 3 && version != 4))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "not a DM3/DM4 file");
      return FALSE;
    }
  p.version = (int) version;
  info->version = p.version;
  if (!read_be (&p, version == 4 ? 8 : 4, &rootlen) || !read_be (&p, 4, &order))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "bad DM%d file: truncated header", p.version);
      return FALSE;
    }
  p.little = order == 1;
  info->little_endian = p.little;
  p.tags = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  p.path = g_string_new (NULL);

  ok = parse_group (&p, 0);
  if (!ok)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT, "bad DM%d file: %s at byte %"
                   G_GSIZE_FORMAT, p.version, p.error ? p.error : "unreadable", p.pos);
      goto out;
    }

  /* The largest image in ImageList, preferring 2-D (and more) over 1-D. */
  for (guint i = 0; i < 4096 && lookup (&p, "ImageList/%u", i) != NULL; i++)
    {
      const DmTag *d = lookup (&p, "ImageList/%u/ImageData/Data", i);
      guint64 dims[4] = { 1, 1, 1, 1 };
      guint nd = 0;
      guint64 pixels = 1;

      gboolean thumbnail = FALSE;

      if (d == NULL || d->type != DM_ARRAY)
        continue;
      /* Skip the display thumbnails that Thumbnails/N/ImageIndex point at. */
      for (guint t = 0; t < 64; t++)
        {
          double ti = number (&p, lookup (&p, "Thumbnails/%u/ImageIndex", t));

          if (!isfinite (ti))
            break;
          thumbnail |= ti == i;
        }
      if (thumbnail && lookup (&p, "ImageList/%u", i + 1) != NULL)
        continue;
      for (guint k = 0; k < 8; k++)
        {
          double v = number (&p, lookup (&p, "ImageList/%u/ImageData/Dimensions/%u", i, k));

          if (!isfinite (v))
            break;
          if (v < 1 || v > MVA_IMAGE_MAX_SIDE || k >= 4)
            {
              nd = 0;
              break;
            }
          dims[k] = (guint64) v;
          nd = k + 1;
        }
      while (nd > 1 && dims[nd - 1] == 1)
        nd--;
      if (nd == 0)
        continue;
      for (guint k = 0; k < nd; k++)
        pixels *= dims[k];
      if ((nd >= 2) > (best_dims >= 2) || ((nd >= 2) == (best_dims >= 2) && pixels > best_pixels))
        {
          best = i;
          best_pixels = pixels;
          best_dims = nd;
          info->ndims = nd;
          memcpy (info->dims, dims, sizeof dims);
          info->elem_type = d->elem_type;
          info->data_offset = d->offset;
          info->data_count = d->count;
          {
            /* Any double may sit there: only small integers are data types. */
            double dt = number (&p, lookup (&p, "ImageList/%u/ImageData/DataType", i));

            info->data_type = isfinite (dt) && dt >= 0 && dt <= 1000 ? (int) dt : -1;
          }
        }
    }
  if (best != G_MAXUINT)
    {
      info->found = TRUE;
      for (guint k = 0; k < 2; k++)
        {
          g_autofree char *units = text (&p, lookup (&p, "ImageList/%u/ImageData/Calibrations/Dimension/%u/%s", best, k, "Units"));

          info->scale[k] = number (&p, lookup (&p, "ImageList/%u/ImageData/Calibrations/Dimension/%u/%s", best, k, "Scale"));
          if (units != NULL)
            g_strlcpy (info->units[k], units, sizeof info->units[k]);
        }
      read_image_meta (&p, best, &info->meta);
      if (info->ndims >= 2 && isfinite (info->scale[0]) && info->scale[0] > 0)
        {
          g_autofree char *probe = g_strdup_printf ("1 %s", info->units[0]);
          double unit_nm = _mva_parse_length_nm (probe);

          if (isfinite (unit_nm) && unit_nm > 0)
            {
              info->meta.pixel_size_nm = info->scale[0] * unit_nm;
              info->meta.pixel_size_y_nm = info->meta.pixel_size_nm;
              if (isfinite (info->scale[1]) && info->scale[1] > 0)
                {
                  g_autofree char *probe_y = g_strdup_printf ("1 %s", info->units[1]);
                  double unit_y = _mva_parse_length_nm (probe_y);

                  if (isfinite (unit_y) && unit_y > 0)
                    info->meta.pixel_size_y_nm = info->scale[1] * unit_y;
                }
            }
        }
      info->meta.vendor_format = g_strdup (p.version == 4 ? "dm4" : "dm3");
    }

out:
  g_hash_table_unref (p.tags);
  g_string_free (p.path, TRUE);
  return ok;
}

void
_mva_dm_info_clear (MvaDmInfo *info)
{
  _mva_image_meta_clear (&info->meta);
}

// --- loader ---------------------------------------------------------------------------

MvaImage *
_mva_image_load_dm (const char *path,
                    guint       max_side,
                    gboolean    header_only,
                    GError    **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, &local);
  g_autoptr(MvaImage) image = NULL;
  MvaDmInfo info;
  const guint8 *buf;
  gsize len;
  guint w, h;
  gboolean rgba, complex_data;
  gsize esize;
  MvaRowSink sink = { 0 };
  g_autofree void *row = NULL;
  gboolean ok = FALSE;

  if (map == NULL)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_OPEN, "%s: cannot read: %s", path,
                   local->message);
      return NULL;
    }
  buf = (const guint8 *) g_mapped_file_get_contents (map);
  len = g_mapped_file_get_length (map);
  if (!_mva_dm_parse (buf, len, &info, &local))
    {
      g_set_error (error, MVA_IMAGE_ERROR, local->code, "%s: %s", path, local->message);
      _mva_dm_info_clear (&info);
      return NULL;
    }
  image = _mva_image_new (path, info.version == 4 ? "DM4" : "DM3");
  image->meta = info.meta;
  _mva_image_meta_init (&info.meta);

  if (!info.found)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: DM%d file holds no image data", path, info.version);
      return NULL;
    }
  if (info.ndims < 2)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: not an image: the DM%d file holds a 1-D spectrum of %" G_GUINT64_FORMAT
                   " channels (%s)", path, info.version, info.dims[0],
                   info.units[0][0] ? info.units[0] : "no unit");
      return NULL;
    }
  w = (guint) info.dims[0];
  h = (guint) info.dims[1];
  rgba = info.data_type == 23 || (info.data_type == 8 && info.elem_type == DM_ULONG);
  esize = simple_size (info.elem_type);
  complex_data = (info.data_type == 3 || info.data_type == 13)
                 && (info.elem_type == DM_FLOAT || info.elem_type == DM_DOUBLE);
  if (esize == 0)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: DM image data of an unsupported element type %d", path, info.elem_type);
      return NULL;
    }
  if (info.data_count < (guint64) w * h * (complex_data ? 2 : 1))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: DM image claims %u x %u pixels but holds %" G_GUINT64_FORMAT " values",
                   path, w, h, info.data_count);
      return NULL;
    }

  if (rgba)
    {
      image->channels = 3;
      image->bit_depth = 8;
      image->sample_format = MVA_SAMPLE_UINT;
    }
  else
    switch (info.elem_type)
      {
      case DM_CHAR:
        image->bit_depth = 8;
        image->sample_format = MVA_SAMPLE_INT;
        break;
      case DM_OCTET:
      case DM_BOOL:
        image->bit_depth = 8;
        image->sample_format = MVA_SAMPLE_UINT;
        break;
      case DM_SHORT:
        image->bit_depth = 16;
        image->sample_format = MVA_SAMPLE_INT;
        break;
      case DM_USHORT:
        image->bit_depth = 16;
        image->sample_format = MVA_SAMPLE_UINT;
        break;
      case DM_LONG:
        image->bit_depth = 32;
        image->sample_format = MVA_SAMPLE_INT;
        break;
      case DM_ULONG:
        image->bit_depth = 32;
        image->sample_format = MVA_SAMPLE_UINT;
        break;
      default: /* float, double, 64-bit integers, complex */
        image->bit_depth = 32;
        image->sample_format = MVA_SAMPLE_FLOAT;
        break;
      }
  image->full_width = w;
  image->full_height = h;
  if (header_only)
    {
      image->width = w;
      image->height = h;
      return g_steal_pointer (&image);
    }
  if (!_mva_row_sink_init (&sink, image, w, h, max_side, error))
    goto out;
  row = g_malloc ((gsize) w * image->channels * (image->bit_depth / 8));
  {
    DmParser p = { buf, len, 0, info.version, info.little_endian, 0, NULL, NULL, NULL };
    guint64 stride = (guint64) w * esize * (complex_data ? 2 : 1);

    for (guint y = 0; y < h; y++)
      {
        guint64 base = info.data_offset + y * stride;

        for (guint x = 0; x < w; x++)
          {
            if (rgba)
              {
                guint32 px = (guint32) value_at (&p, DM_ULONG, base + (guint64) x * 4);

                ((guint8 *) row)[x * 3 + 0] = px & 0xff;
                ((guint8 *) row)[x * 3 + 1] = (px >> 8) & 0xff;
                ((guint8 *) row)[x * 3 + 2] = (px >> 16) & 0xff;
              }
            else if (complex_data)
              {
                double re = value_at (&p, info.elem_type, base + (guint64) x * 2 * esize);
                double im = value_at (&p, info.elem_type, base + ((guint64) x * 2 + 1) * esize);

                ((float *) row)[x] = _mva_to_float (hypot (re, im));
              }
            else
              {
                double v = value_at (&p, info.elem_type, base + (guint64) x * esize);

                switch (image->bit_depth)
                  {
                  case 8:
                    if (image->sample_format == MVA_SAMPLE_INT)
                      ((gint8 *) row)[x] = (gint8) v;
                    else
                      ((guint8 *) row)[x] = (guint8) v;
                    break;
                  case 16:
                    if (image->sample_format == MVA_SAMPLE_INT)
                      ((gint16 *) row)[x] = (gint16) v;
                    else
                      ((guint16 *) row)[x] = (guint16) v;
                    break;
                  default:
                    if (image->sample_format == MVA_SAMPLE_FLOAT)
                      ((float *) row)[x] = _mva_to_float (v);
                    else if (image->sample_format == MVA_SAMPLE_INT)
                      ((gint32 *) row)[x] = (gint32) v;
                    else
                      ((guint32 *) row)[x] = (guint32) v;
                    break;
                  }
              }
          }
        _mva_row_sink_push (&sink, row);
      }
  }
  ok = _mva_row_sink_finish (&sink, error);

out:
  _mva_row_sink_clear (&sink);
  return ok ? g_steal_pointer (&image) : NULL;
}

gboolean
_mva_dm_read_meta (const char   *path,
                   MvaImageMeta *meta,
                   char        **format)
{
  g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, NULL);
  MvaDmInfo info;
  gboolean ok;

  if (map == NULL)
    return FALSE;
  ok = _mva_dm_parse ((const guint8 *) g_mapped_file_get_contents (map),
                      g_mapped_file_get_length (map), &info, NULL);
  if (ok && info.found)
    {
      *meta = info.meta;
      _mva_image_meta_init (&info.meta);
      *format = g_strdup (info.version == 4 ? "DM4" : "DM3");
    }
  _mva_dm_info_clear (&info);
  return ok && info.found;
}
