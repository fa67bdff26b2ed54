// SPDX-License-Identifier: GPL-3.0-or-later
// mve-json.c: strict recursive-descent JSON reader (see mve-json-impl.h).
// Plain C11, no GLib. Never reads past len; depth is bounded, so hostile
// input cannot overflow the stack.
#include "mve-json-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser
{
  const unsigned char *s;
  size_t len;
  size_t pos;
  char *err;
  unsigned long errn;
};

static mve_status
fail (struct parser *p, const char *what)
{
  return mve_error_set (p->err, p->errn, MVE_STATUS_BAD_FORMAT, "offset %zu: %s", p->pos, what);
}

static void
skip_ws (struct parser *p)
{
  while (p->pos < p->len)
    {
      unsigned char c = p->s[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

static void
free_node (struct mve_json *v)
{
  free (v->str);
  free (v->key);
  for (size_t i = 0; i < v->n; i++)
    free_node (&v->items[i]);
  free (v->items);
}

void
mve_json_free (struct mve_json *root)
{
  if (root == NULL)
    return;
  free_node (root);
  free (root);
}

// --- strings -----------------------------------------------------------------

struct buf
{
  char *data;
  size_t len;
  size_t cap;
};

static int
buf_put (struct buf *b, const void *src, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 32;
      char *d;
      while (cap < b->len + n + 1)
        cap *= 2;
      d = realloc (b->data, cap);
      if (d == NULL)
        return -1;
      b->data = d;
      b->cap = cap;
    }
  memcpy (b->data + b->len, src, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static int
hex4 (const unsigned char *s, uint32_t *out)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    {
      unsigned char c = s[i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= (uint32_t) (c - '0');
      else if (c >= 'a' && c <= 'f') v |= (uint32_t) (c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= (uint32_t) (c - 'A' + 10);
      else return -1;
    }
  *out = v;
  return 0;
}

static size_t
utf8_encode (uint32_t cp, unsigned char out[4])
{
  if (cp < 0x80) { out[0] = (unsigned char) cp; return 1; }
  if (cp < 0x800)
    {
      out[0] = (unsigned char) (0xC0 | (cp >> 6));
      out[1] = (unsigned char) (0x80 | (cp & 0x3F));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (unsigned char) (0xE0 | (cp >> 12));
      out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
      out[2] = (unsigned char) (0x80 | (cp & 0x3F));
      return 3;
    }
  out[0] = (unsigned char) (0xF0 | (cp >> 18));
  out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char) (0x80 | (cp & 0x3F));
  return 4;
}

// Length of the valid UTF-8 sequence at s (at most avail bytes), 0 if invalid.
static size_t
utf8_valid_len (const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n;
  uint32_t cp, min;

  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (n > avail) return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((s[i] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i] & 0x3F);
    }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// p->pos is at the opening quote. On success *out/*out_len own a new string.
static mve_status
parse_string (struct parser *p, char **out, size_t *out_len)
{
  struct buf b = { 0 };
  mve_status st;

  p->pos++; // opening quote
  if (buf_put (&b, "", 0) < 0)
    return mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  for (;;)
    {
      unsigned char c;
      size_t n;
      if (p->pos >= p->len)
        { st = fail (p, "unterminated string"); goto error; }
      c = p->s[p->pos];
      if (c == '"')
        {
          p->pos++;
          break;
        }
      if (c < 0x20)
        { st = fail (p, "control character in string"); goto error; }
      if (c == '\\')
        {
          char ch = 0;
          if (p->pos + 1 >= p->len)
            { st = fail (p, "unterminated escape"); goto error; }
          switch (p->s[p->pos + 1])
            {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u':
              {
                uint32_t cp, lo;
                unsigned char enc[4];
                if (p->pos + 6 > p->len || hex4 (p->s + p->pos + 2, &cp) < 0)
                  { st = fail (p, "bad \\u escape"); goto error; }
                p->pos += 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                  { st = fail (p, "lone low surrogate"); goto error; }
                if (cp >= 0xD800 && cp <= 0xDBFF)
                  {
                    if (p->pos + 6 > p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
                        hex4 (p->s + p->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                      { st = fail (p, "unpaired surrogate"); goto error; }
                    p->pos += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                  }
                if (buf_put (&b, enc, utf8_encode (cp, enc)) < 0)
                  { st = mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory"); goto error; }
                continue;
              }
            default:
              st = fail (p, "bad escape");
              goto error;
            }
          if (buf_put (&b, &ch, 1) < 0)
            { st = mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory"); goto error; }
          p->pos += 2;
          continue;
        }
      n = utf8_valid_len (p->s + p->pos, p->len - p->pos);
      if (n == 0)
        { st = fail (p, "invalid UTF-8 in string"); goto error; }
      if (buf_put (&b, p->s + p->pos, n) < 0)
        { st = mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory"); goto error; }
      p->pos += n;
    }
  *out = b.data;
  *out_len = b.len;
  return MVE_STATUS_OK;
error:
  free (b.data);
  return st;
}

// --- numbers -----------------------------------------------------------------

static mve_status
parse_number (struct parser *p, struct mve_json *v)
{
  size_t start = p->pos;
  int neg = 0, is_int = 1, overflow = 0;
  uint64_t mag = 0;
  double d = 0.0;

  if (p->s[p->pos] == '-')
    {
      neg = 1;
      p->pos++;
    }
  if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
    return fail (p, "bad number");
  if (p->s[p->pos] == '0')
    {
      p->pos++;
      if (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        return fail (p, "leading zero in number");
    }
  else
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
      {
        unsigned dig = (unsigned) (p->s[p->pos] - '0');
        if (mag > (UINT64_MAX - dig) / 10)
          overflow = 1;
        else
          mag = mag * 10 + dig;
        d = d * 10.0 + dig;
        p->pos++;
      }
  if (p->pos < p->len && p->s[p->pos] == '.')
    {
      double scale = 0.1;
      is_int = 0;
      p->pos++;
      if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return fail (p, "bad fraction");
      while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        {
          d += (p->s[p->pos] - '0') * scale;
          scale *= 0.1;
          p->pos++;
        }
    }
  if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
    {
      int eneg = 0, e = 0;
      is_int = 0;
      p->pos++;
      if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
        eneg = p->s[p->pos++] == '-';
      if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return fail (p, "bad exponent");
      while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        {
          if (e < 10000)
            e = e * 10 + (p->s[p->pos] - '0');
          p->pos++;
        }
      for (int i = 0; i < e && d != 0.0 && d < 1e308 && d > 1e-308; i++)
        d = eneg ? d / 10.0 : d * 10.0;
    }
  (void) start;
  v->type = MVE_JSON_NUMBER;
  v->number = neg ? -d : d;
  if (is_int && !overflow && mag <= (uint64_t) INT64_MAX)
    {
      v->is_int = 1;
      v->integer = neg ? -(int64_t) mag : (int64_t) mag;
    }
  return MVE_STATUS_OK;
}

// --- values ------------------------------------------------------------------

static int
cmp_keys (const void *a, const void *b)
{
  const struct mve_json *x = *(const struct mve_json *const *) a;
  const struct mve_json *y = *(const struct mve_json *const *) b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp (x->key, y->key, n);
  if (c != 0)
    return c;
  return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static mve_status parse_value (struct parser *p, struct mve_json *v, int depth);

static mve_status
push_item (struct parser *p, struct mve_json *v, size_t *cap)
{
  if (v->n == *cap)
    {
      size_t nc = *cap ? *cap * 2 : 4;
      struct mve_json *items = realloc (v->items, nc * sizeof *items);
      if (items == NULL)
        return mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      v->items = items;
      *cap = nc;
    }
  memset (&v->items[v->n], 0, sizeof v->items[v->n]);
  v->n++;
  return MVE_STATUS_OK;
}

static mve_status
parse_container (struct parser *p, struct mve_json *v, int depth, int is_object)
{
  size_t cap = 0;
  mve_status st;
  char close = is_object ? '}' : ']';

  v->type = is_object ? MVE_JSON_OBJECT : MVE_JSON_ARRAY;
  p->pos++;
  skip_ws (p);
  if (p->pos < p->len && p->s[p->pos] == close)
    {
      p->pos++;
      return MVE_STATUS_OK;
    }
  for (;;)
    {
      struct mve_json *item;
      if ((st = push_item (p, v, &cap)) != MVE_STATUS_OK)
        return st;
      item = &v->items[v->n - 1];
      skip_ws (p);
      if (is_object)
        {
          if (p->pos >= p->len || p->s[p->pos] != '"')
            return fail (p, "expected a member name");
          if ((st = parse_string (p, &item->key, &item->key_len)) != MVE_STATUS_OK)
            return st;
          skip_ws (p);
          if (p->pos >= p->len || p->s[p->pos] != ':')
            return fail (p, "expected ':'");
          p->pos++;
        }
      if ((st = parse_value (p, item, depth + 1)) != MVE_STATUS_OK)
        return st;
      skip_ws (p);
      if (p->pos >= p->len)
        return fail (p, "unterminated array or object");
      if (p->s[p->pos] == ',')
        {
          p->pos++;
          continue;
        }
      if (p->s[p->pos] == close)
        {
          p->pos++;
          break;
        }
      return fail (p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  if (is_object && v->n > 1)
    {
      struct mve_json **sorted = malloc (v->n * sizeof *sorted);
      int dup = 0;
      if (sorted == NULL)
        return mve_error_set (p->err, p->errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
      for (size_t i = 0; i < v->n; i++)
        sorted[i] = &v->items[i];
      qsort (sorted, v->n, sizeof *sorted, cmp_keys);
      for (size_t i = 1; i < v->n && !dup; i++)
        dup = cmp_keys (&sorted[i - 1], &sorted[i]) == 0;
      free (sorted);
      if (dup)
        return fail (p, "duplicate key in object");
    }
  return MVE_STATUS_OK;
}

static int
match (struct parser *p, const char *word)
{
  size_t n = strlen (word);
  if (p->len - p->pos < n || memcmp (p->s + p->pos, word, n) != 0)
    return 0;
  p->pos += n;
  return 1;
}

static mve_status
parse_value (struct parser *p, struct mve_json *v, int depth)
{
  if (depth > MVE_JSON_MAX_DEPTH)
    return fail (p, "nesting too deep");
  skip_ws (p);
  if (p->pos >= p->len)
    return fail (p, "unexpected end of input");
  switch (p->s[p->pos])
    {
    case '{': return parse_container (p, v, depth, 1);
    case '[': return parse_container (p, v, depth, 0);
    case '"':
      v->type = MVE_JSON_STRING;
      return parse_string (p, &v->str, &v->str_len);
    case 't':
      if (!match (p, "true")) return fail (p, "bad literal");
      v->type = MVE_JSON_BOOL;
      v->boolean = 1;
      return MVE_STATUS_OK;
    case 'f':
      if (!match (p, "false")) return fail (p, "bad literal");
      v->type = MVE_JSON_BOOL;
      return MVE_STATUS_OK;
    case 'n':
      if (!match (p, "null")) return fail (p, "bad literal");
      v->type = MVE_JSON_NULL;
      return MVE_STATUS_OK;
    default:
      if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
        return parse_number (p, v);
      return fail (p, "unexpected character");
    }
}

mve_status
mve_json_parse (const char *text, size_t len, struct mve_json **out, char *err, unsigned long errn)
{
  struct parser p = { (const unsigned char *) text, len, 0, err, errn };
  struct mve_json *root;
  mve_status st;

  if (out == NULL || (text == NULL && len > 0))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no input");
  *out = NULL;
  root = calloc (1, sizeof *root);
  if (root == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  st = parse_value (&p, root, 0);
  if (st == MVE_STATUS_OK)
    {
      skip_ws (&p);
      if (p.pos != p.len)
        st = fail (&p, "trailing characters after the JSON value");
    }
  if (st != MVE_STATUS_OK)
    {
      mve_json_free (root);
      return st;
    }
  *out = root;
  return MVE_STATUS_OK;
}

const struct mve_json *
mve_json_get (const struct mve_json *v, const char *key)
{
  size_t kl;

  if (v == NULL || v->type != MVE_JSON_OBJECT || key == NULL)
    return NULL;
  kl = strlen (key);
  for (size_t i = 0; i < v->n; i++)
    if (v->items[i].key_len == kl && memcmp (v->items[i].key, key, kl) == 0)
      return &v->items[i];
  return NULL;
}

int
mve_json_utf8_valid (const char *s, size_t len)
{
  const unsigned char *u = (const unsigned char *) s;
  size_t i = 0;

  while (i < len)
    {
      size_t n = utf8_valid_len (u + i, len - i);
      if (n == 0)
        return 0;
      i += n;
    }
  return 1;
}
