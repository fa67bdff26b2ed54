/* Replaced by the formats work (issue 6). Minimal loader through GdkPixbuf. */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"
#include "mva-image.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
G_DEFINE_QUARK (mva-image-error-quark, mva_image_error)
void mva_image_free (MvaImage *image) { if (!image) return; g_free (image->data); g_free (image->format); g_free (image->path); g_free (image); }
MvaImage *mva_image_load (const char *path, guint max_side, GError **error)
{
  g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED, "not built yet: %s", path);
  return NULL;
}
