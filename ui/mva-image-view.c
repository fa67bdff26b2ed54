/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-view.c: snapshot-based, scrollable, zoomable micrograph view
 * with a scale bar (see mva-image-view.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-image-view"

#include <math.h>

#include <glib/gi18n.h>

#include "mva-image-view.h"
#include "mva-scale-bar.h"

struct _MvaImageView
{
  GtkWidget      parent_instance;

  GdkTexture    *texture;
  guint          full_width;     /* size of the file; the texture may be smaller */
  guint          full_height;
  double         pixel_size_nm;  /* nm per file pixel; <= 0 or NAN when unknown */
  guint          databar_height; /* file rows at the bottom holding the info strip */
  gboolean       show_scale_bar;
  double         scale_bar_nm;   /* length of the bar drawn last, 0 when none */

  double         zoom;           /* device pixels per file pixel */
  gboolean       zoom_to_fit;

  GtkAdjustment *hadjustment;
  GtkAdjustment *vadjustment;
  guint          hscroll_policy : 1;
  guint          vscroll_policy : 1;

  double         pointer_x;      /* last pointer position, for zooming around it */
  double         pointer_y;
  gboolean       pointer_inside;
  double         drag_start_h;
  double         drag_start_v;
  double         gesture_start_zoom;
};

enum {
  PROP_0,
  PROP_TEXTURE,
  PROP_ZOOM,
  PROP_ZOOM_TO_FIT,
  PROP_PIXEL_SIZE_NM,
  PROP_DATABAR_HEIGHT,
  PROP_SHOW_SCALE_BAR,
  N_PROPS,
  /* GtkScrollable */
  PROP_HADJUSTMENT = N_PROPS,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY,
};

static GParamSpec *properties[N_PROPS];

enum { POINTER_MOVED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE_WITH_CODE (MvaImageView, mva_image_view, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE, NULL))

static void emit_pointer (MvaImageView *self);

/* Zoom steps for +/-: round percentages so 100 % is always reachable. */
static const double zoom_levels[] = {
  0.01, 0.02, 0.03, 0.05, 0.0625, 0.0833, 0.1, 0.125, 0.167, 0.25, 0.333, 0.5, 0.667,
  1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0,
};

/* Logical (widget) pixels per file pixel. */
static double
effective_scale (MvaImageView *self)
{
  int scale_factor = gtk_widget_get_scale_factor (GTK_WIDGET (self));

  return self->zoom / MAX (scale_factor, 1);
}

static double
content_width (MvaImageView *self)
{
  return self->full_width * effective_scale (self);
}

static double
content_height (MvaImageView *self)
{
  return self->full_height * effective_scale (self);
}

/* Where the image's top-left corner is, in widget coordinates. */
static void
image_origin (MvaImageView *self,
              double       *x,
              double       *y)
{
  double view_w = gtk_widget_get_width (GTK_WIDGET (self));
  double view_h = gtk_widget_get_height (GTK_WIDGET (self));
  double cw = content_width (self);
  double ch = content_height (self);

  *x = cw < view_w ? floor ((view_w - cw) / 2.0) : -gtk_adjustment_get_value (self->hadjustment);
  *y = ch < view_h ? floor ((view_h - ch) / 2.0) : -gtk_adjustment_get_value (self->vadjustment);
}

static double
fit_zoom (MvaImageView *self)
{
  double view_w = gtk_widget_get_width (GTK_WIDGET (self));
  double view_h = gtk_widget_get_height (GTK_WIDGET (self));
  int scale_factor = MAX (gtk_widget_get_scale_factor (GTK_WIDGET (self)), 1);
  double z;

  if (self->full_width == 0 || self->full_height == 0 || view_w < 1 || view_h < 1)
    return 1.0;
  z = MIN (view_w / self->full_width, view_h / self->full_height) * scale_factor;
  return CLAMP (z, MVA_IMAGE_VIEW_ZOOM_MIN, MVA_IMAGE_VIEW_ZOOM_MAX);
}

static void
configure_adjustments (MvaImageView *self,
                       double        hvalue,
                       double        vvalue)
{
  double view_w = gtk_widget_get_width (GTK_WIDGET (self));
  double view_h = gtk_widget_get_height (GTK_WIDGET (self));
  double upper_w = MAX (content_width (self), view_w);
  double upper_h = MAX (content_height (self), view_h);

  hvalue = CLAMP (hvalue, 0.0, upper_w - view_w);
  vvalue = CLAMP (vvalue, 0.0, upper_h - view_h);
  gtk_adjustment_configure (self->hadjustment, hvalue, 0.0, upper_w,
                            view_w * 0.1, view_w * 0.9, view_w);
  gtk_adjustment_configure (self->vadjustment, vvalue, 0.0, upper_h,
                            view_h * 0.1, view_h * 0.9, view_h);
}

static void
update_cursor (MvaImageView *self)
{
  double view_w = gtk_widget_get_width (GTK_WIDGET (self));
  double view_h = gtk_widget_get_height (GTK_WIDGET (self));
  gboolean pannable = self->texture != NULL &&
                      (content_width (self) > view_w + 0.5 || content_height (self) > view_h + 0.5);

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), pannable ? "grab" : NULL);
}

/* Set the zoom so that the image point under (anchor_x, anchor_y) stays put. */
static void
zoom_at (MvaImageView *self,
         double        zoom,
         double        anchor_x,
         double        anchor_y)
{
  double ox, oy, ix, iy, eff, new_ox, new_oy;
  double view_w = gtk_widget_get_width (GTK_WIDGET (self));
  double view_h = gtk_widget_get_height (GTK_WIDGET (self));

  zoom = CLAMP (zoom, MVA_IMAGE_VIEW_ZOOM_MIN, MVA_IMAGE_VIEW_ZOOM_MAX);

  image_origin (self, &ox, &oy);
  eff = effective_scale (self);
  ix = (anchor_x - ox) / eff;
  iy = (anchor_y - oy) / eff;

  if (self->zoom_to_fit)
    {
      self->zoom_to_fit = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM_TO_FIT]);
    }
  if (zoom == self->zoom)
    return;
  self->zoom = zoom;

  eff = effective_scale (self);
  new_ox = content_width (self) < view_w ? (view_w - content_width (self)) / 2.0 : 0.0;
  new_oy = content_height (self) < view_h ? (view_h - content_height (self)) / 2.0 : 0.0;
  /* screen_x = new_ox + ix * eff - hvalue  =>  hvalue = new_ox + ix * eff - anchor_x */
  configure_adjustments (self, new_ox + ix * eff - anchor_x, new_oy + iy * eff - anchor_y);

  update_cursor (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
zoom_at_center (MvaImageView *self,
                double        zoom)
{
  zoom_at (self, zoom,
           gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

static void
zoom_at_pointer (MvaImageView *self,
                 double        zoom)
{
  if (self->pointer_inside)
    zoom_at (self, zoom, self->pointer_x, self->pointer_y);
  else
    zoom_at_center (self, zoom);
}

static void
adjustment_value_changed_cb (MvaImageView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->pointer_inside)
    emit_pointer (self);
}

static void
set_adjustment (MvaImageView   *self,
                GtkAdjustment **slot,
                GtkAdjustment  *adjustment)
{
  if (adjustment != NULL && *slot == adjustment)
    return;
  if (*slot != NULL)
    {
      g_signal_handlers_disconnect_by_func (*slot, adjustment_value_changed_cb, self);
      g_clear_object (slot);
    }
  if (adjustment == NULL)
    adjustment = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  *slot = g_object_ref_sink (adjustment);
  g_signal_connect_swapped (adjustment, "value-changed",
                            G_CALLBACK (adjustment_value_changed_cb), self);
  gtk_widget_queue_allocate (GTK_WIDGET (self));
}

/* --- GtkWidget ------------------------------------------------------------ */

static void
mva_image_view_size_allocate (GtkWidget *widget,
                              int        width,
                              int        height,
                              int        baseline)
{
  MvaImageView *self = MVA_IMAGE_VIEW (widget);

  if (self->zoom_to_fit && self->texture != NULL)
    {
      double z = fit_zoom (self);

      if (z != self->zoom)
        {
          self->zoom = z;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
        }
    }
  configure_adjustments (self,
                         gtk_adjustment_get_value (self->hadjustment),
                         gtk_adjustment_get_value (self->vadjustment));
  update_cursor (self);
}

static void
mva_image_view_measure (GtkWidget      *widget,
                        GtkOrientation  orientation,
                        int             for_size,
                        int            *minimum,
                        int            *natural,
                        int            *minimum_baseline,
                        int            *natural_baseline)
{
  /* Any size will do: the view scrolls. Natural size is a comfortable window. */
  *minimum = 64;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 800 : 600;
}

static void
append_scale_bar (MvaImageView *self,
                  GtkSnapshot  *snapshot,
                  double        ox,
                  double        oy)
{
  GtkWidget *widget = GTK_WIDGET (self);
  double view_w = gtk_widget_get_width (widget);
  double view_h = gtk_widget_get_height (widget);
  double eff = effective_scale (self);
  double vis_left = MAX (ox, 0.0);
  double vis_right = MIN (ox + content_width (self), view_w);
  double vis_top = MAX (oy, 0.0);
  double specimen_bottom = oy + (self->full_height - MIN (self->databar_height, self->full_height)) * eff;
  double vis_bottom = MIN (specimen_bottom, view_h);
  double max_px, pad = 8.0, margin = 12.0, bar_h = 4.0, tick_h = 10.0;
  double box_x, box_y, box_w, box_h, bar_x, bar_y;
  int text_w, text_h;
  g_auto(MvaScaleBar) bar = { 0 };
  g_autoptr(PangoLayout) layout = NULL;
  GskRoundedRect clip;
  const GdkRGBA shade = { 0.0, 0.0, 0.0, 0.62 };
  const GdkRGBA white = { 1.0, 1.0, 1.0, 1.0 };

  self->scale_bar_nm = 0.0;
  if (!self->show_scale_bar || !(self->pixel_size_nm > 0.0) || !isfinite (self->pixel_size_nm))
    return;
  if (vis_right - vis_left < 80.0 || vis_bottom - vis_top < 48.0)
    return;

  /* About a fifth of the visible specimen, like the bars instruments burn in. */
  max_px = CLAMP ((vis_right - vis_left) * 0.22, 60.0, 260.0);
  if (!mva_scale_bar_choose (self->pixel_size_nm / eff, max_px, &bar))
    return;

  layout = gtk_widget_create_pango_layout (widget, bar.label);
  {
    g_autoptr(PangoAttrList) attrs = pango_attr_list_new ();

    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
    pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
    pango_layout_set_attributes (layout, attrs);
  }
  pango_layout_get_pixel_size (layout, &text_w, &text_h);

  box_w = MAX (bar.length_px, text_w) + 2 * pad;
  box_h = text_h + 4.0 + tick_h + 2 * pad;
  box_x = round (vis_left + margin);
  box_y = round (vis_bottom - margin - box_h);

  gsk_rounded_rect_init_from_rect (&clip, &GRAPHENE_RECT_INIT (box_x, box_y, box_w, box_h), 6.0);
  gtk_snapshot_push_rounded_clip (snapshot, &clip);
  gtk_snapshot_append_color (snapshot, &shade, &GRAPHENE_RECT_INIT (box_x, box_y, box_w, box_h));
  gtk_snapshot_pop (snapshot);

  bar_x = box_x + pad + round ((box_w - 2 * pad - bar.length_px) / 2.0);
  bar_y = box_y + pad + text_h + 4.0;
  /* The bar, with end ticks so its exact length is readable. */
  gtk_snapshot_append_color (snapshot, &white,
                             &GRAPHENE_RECT_INIT (bar_x, bar_y + (tick_h - bar_h) / 2.0,
                                                  bar.length_px, bar_h));
  gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (bar_x, bar_y, 2.0, tick_h));
  gtk_snapshot_append_color (snapshot, &white,
                             &GRAPHENE_RECT_INIT (bar_x + bar.length_px - 2.0, bar_y, 2.0, tick_h));

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot,
                          &GRAPHENE_POINT_INIT (round (box_x + (box_w - text_w) / 2.0), box_y + pad));
  gtk_snapshot_append_layout (snapshot, layout, &white);
  gtk_snapshot_restore (snapshot);

  self->scale_bar_nm = bar.length_nm;
}

static void
mva_image_view_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  MvaImageView *self = MVA_IMAGE_VIEW (widget);
  double ox, oy;

  if (self->texture == NULL)
    return;

  image_origin (self, &ox, &oy);
  gtk_snapshot_push_clip (snapshot,
                          &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                               gtk_widget_get_height (widget)));
  gtk_snapshot_append_texture (snapshot, self->texture,
                               &GRAPHENE_RECT_INIT (ox, oy, content_width (self),
                                                    content_height (self)));
  append_scale_bar (self, snapshot, ox, oy);
  gtk_snapshot_pop (snapshot);
}

/* --- input ------------------------------------------------------------------ */

/* Tell listeners which pixel of the file is under the pointer (or none). */
static void
emit_pointer (MvaImageView *self)
{
  double ox, oy, eff, fx, fy;
  gboolean over;

  if (self->texture == NULL || !self->pointer_inside)
    {
      g_signal_emit (self, signals[POINTER_MOVED], 0, -1.0, -1.0, FALSE);
      return;
    }
  image_origin (self, &ox, &oy);
  eff = effective_scale (self);
  fx = (self->pointer_x - ox) / eff;
  fy = (self->pointer_y - oy) / eff;
  over = fx >= 0.0 && fy >= 0.0 && fx < self->full_width && fy < self->full_height;
  g_signal_emit (self, signals[POINTER_MOVED], 0, fx, fy, over);
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           MvaImageView             *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  emit_pointer (self);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          MvaImageView             *self)
{
  self->pointer_inside = FALSE;
  emit_pointer (self);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           MvaImageView             *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if ((state & GDK_CONTROL_MASK) == 0 || self->texture == NULL || dy == 0.0)
    return GDK_EVENT_PROPAGATE;
  /* One wheel notch is about 20 %; touchpads send fractions of a notch. */
  zoom_at_pointer (self, self->zoom * exp (-CLAMP (dy, -5.0, 5.0) * 0.18));
  return GDK_EVENT_STOP;
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               MvaImageView   *self)
{
  self->drag_start_h = gtk_adjustment_get_value (self->hadjustment);
  self->drag_start_v = gtk_adjustment_get_value (self->vadjustment);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (self->texture != NULL)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                MvaImageView   *self)
{
  gtk_adjustment_set_value (self->hadjustment, self->drag_start_h - offset_x);
  gtk_adjustment_set_value (self->vadjustment, self->drag_start_v - offset_y);
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          offset_x,
             double          offset_y,
             MvaImageView   *self)
{
  update_cursor (self);
}

static void
zoom_begin_cb (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               MvaImageView     *self)
{
  self->gesture_start_zoom = self->zoom;
}

static void
zoom_scale_changed_cb (GtkGestureZoom *gesture,
                       double          scale,
                       MvaImageView   *self)
{
  double x, y;

  if (self->texture == NULL)
    return;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_at (self, self->gesture_start_zoom * scale, x, y);
}

static void
click_pressed_cb (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  MvaImageView    *self)
{
  /* Double-click toggles between fitting the window and 1:1 at the pointer. */
  if (n_press != 2 || self->texture == NULL)
    return;
  if (self->zoom_to_fit || self->zoom != 1.0)
    zoom_at (self, 1.0, x, y);
  else
    mva_image_view_set_zoom_to_fit (self, TRUE);
}

/* Arrow keys pan by a tenth of the view, Page Up/Down by most of it. */
static gboolean
pan_key_cb (GtkWidget *widget,
            GVariant  *args,
            gpointer   user_data)
{
  MvaImageView *self = MVA_IMAGE_VIEW (widget);
  double dx, dy, h, v;

  if (self->texture == NULL)
    return FALSE;
  g_variant_get (args, "(dd)", &dx, &dy);
  h = gtk_adjustment_get_value (self->hadjustment);
  v = gtk_adjustment_get_value (self->vadjustment);
  gtk_adjustment_set_value (self->hadjustment, h + dx * gtk_adjustment_get_page_size (self->hadjustment));
  gtk_adjustment_set_value (self->vadjustment, v + dy * gtk_adjustment_get_page_size (self->vadjustment));
  /* Handled only if something moved, so keys still reach the window otherwise. */
  return gtk_adjustment_get_value (self->hadjustment) != h ||
         gtk_adjustment_get_value (self->vadjustment) != v;
}

/* --- GObject --------------------------------------------------------------- */

static void
mva_image_view_dispose (GObject *object)
{
  MvaImageView *self = MVA_IMAGE_VIEW (object);

  g_clear_object (&self->texture);
  if (self->hadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->hadjustment, adjustment_value_changed_cb, self);
  if (self->vadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->vadjustment, adjustment_value_changed_cb, self);
  g_clear_object (&self->hadjustment);
  g_clear_object (&self->vadjustment);

  G_OBJECT_CLASS (mva_image_view_parent_class)->dispose (object);
}

static void
mva_image_view_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MvaImageView *self = MVA_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_TEXTURE:
      g_value_set_object (value, self->texture);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_ZOOM_TO_FIT:
      g_value_set_boolean (value, self->zoom_to_fit);
      break;
    case PROP_PIXEL_SIZE_NM:
      g_value_set_double (value, self->pixel_size_nm);
      break;
    case PROP_DATABAR_HEIGHT:
      g_value_set_uint (value, self->databar_height);
      break;
    case PROP_SHOW_SCALE_BAR:
      g_value_set_boolean (value, self->show_scale_bar);
      break;
    case PROP_HADJUSTMENT:
      g_value_set_object (value, self->hadjustment);
      break;
    case PROP_VADJUSTMENT:
      g_value_set_object (value, self->vadjustment);
      break;
    case PROP_HSCROLL_POLICY:
      g_value_set_enum (value, self->hscroll_policy);
      break;
    case PROP_VSCROLL_POLICY:
      g_value_set_enum (value, self->vscroll_policy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mva_image_view_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  MvaImageView *self = MVA_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      mva_image_view_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_ZOOM_TO_FIT:
      mva_image_view_set_zoom_to_fit (self, g_value_get_boolean (value));
      break;
    case PROP_PIXEL_SIZE_NM:
      mva_image_view_set_pixel_size_nm (self, g_value_get_double (value));
      break;
    case PROP_DATABAR_HEIGHT:
      mva_image_view_set_databar_height (self, g_value_get_uint (value));
      break;
    case PROP_SHOW_SCALE_BAR:
      mva_image_view_set_show_scale_bar (self, g_value_get_boolean (value));
      break;
    case PROP_HADJUSTMENT:
      set_adjustment (self, &self->hadjustment, g_value_get_object (value));
      break;
    case PROP_VADJUSTMENT:
      set_adjustment (self, &self->vadjustment, g_value_get_object (value));
      break;
    case PROP_HSCROLL_POLICY:
      self->hscroll_policy = g_value_get_enum (value);
      gtk_widget_queue_resize (GTK_WIDGET (self));
      break;
    case PROP_VSCROLL_POLICY:
      self->vscroll_policy = g_value_get_enum (value);
      gtk_widget_queue_resize (GTK_WIDGET (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mva_image_view_class_init (MvaImageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mva_image_view_dispose;
  object_class->get_property = mva_image_view_get_property;
  object_class->set_property = mva_image_view_set_property;

  widget_class->measure = mva_image_view_measure;
  widget_class->size_allocate = mva_image_view_size_allocate;
  widget_class->snapshot = mva_image_view_snapshot;

  properties[PROP_TEXTURE] =
    g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_TEXTURE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL,
                         MVA_IMAGE_VIEW_ZOOM_MIN, MVA_IMAGE_VIEW_ZOOM_MAX, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM_TO_FIT] =
    g_param_spec_boolean ("zoom-to-fit", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PIXEL_SIZE_NM] =
    g_param_spec_double ("pixel-size-nm", NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATABAR_HEIGHT] =
    g_param_spec_uint ("databar-height", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_SCALE_BAR] =
    g_param_spec_boolean ("show-scale-bar", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_object_class_override_property (object_class, PROP_HADJUSTMENT, "hadjustment");
  g_object_class_override_property (object_class, PROP_VADJUSTMENT, "vadjustment");
  g_object_class_override_property (object_class, PROP_HSCROLL_POLICY, "hscroll-policy");
  g_object_class_override_property (object_class, PROP_VSCROLL_POLICY, "vscroll-policy");

  /**
   * MvaImageView::pointer-moved:
   * @x: column of the file under the pointer (fractional), -1 when none
   * @y: row of the file under the pointer (fractional), -1 when none
   * @over_image: whether the pointer is over the image
   */
  signals[POINTER_MOVED] =
    g_signal_new ("pointer-moved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_BOOLEAN);

  gtk_widget_class_add_binding (widget_class, GDK_KEY_Left, 0, pan_key_cb, "(dd)", -0.1, 0.0);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Right, 0, pan_key_cb, "(dd)", 0.1, 0.0);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Up, 0, pan_key_cb, "(dd)", 0.0, -0.1);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Down, 0, pan_key_cb, "(dd)", 0.0, 0.1);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Page_Up, 0, pan_key_cb, "(dd)", 0.0, -0.9);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Page_Down, 0, pan_key_cb, "(dd)", 0.0, 0.9);

  gtk_widget_class_set_css_name (widget_class, "mva-image-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
mva_image_view_init (MvaImageView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->zoom = 1.0;
  self->zoom_to_fit = TRUE;
  self->show_scale_bar = TRUE;
  self->pixel_size_nm = 0.0;
  set_adjustment (self, &self->hadjustment, NULL);
  set_adjustment (self, &self->vadjustment, NULL);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), 0);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (zoom_begin_cb), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (zoom_scale_changed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "pressed", G_CALLBACK (click_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
}

/* --- public API -------------------------------------------------------------- */

GtkWidget *
mva_image_view_new (void)
{
  return g_object_new (MVA_TYPE_IMAGE_VIEW, NULL);
}

/**
 * mva_image_view_set_image:
 * @texture: (nullable): what to draw, at any size
 * @full_width: width of the file in pixels (the texture may be a preview)
 * @full_height: height of the file in pixels
 *
 * Shows @texture and zooms to fit. Passing %NULL clears the view.
 */
void
mva_image_view_set_image (MvaImageView *self,
                          GdkTexture   *texture,
                          guint         full_width,
                          guint         full_height)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));
  g_return_if_fail (texture == NULL || GDK_IS_TEXTURE (texture));

  if (!g_set_object (&self->texture, texture) &&
      full_width == self->full_width && full_height == self->full_height)
    return;

  if (texture != NULL)
    {
      self->full_width = full_width > 0 ? full_width : (guint) gdk_texture_get_width (texture);
      self->full_height = full_height > 0 ? full_height : (guint) gdk_texture_get_height (texture);
    }
  else
    {
      self->full_width = 0;
      self->full_height = 0;
    }
  self->scale_bar_nm = 0.0;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXTURE]);
  gtk_adjustment_set_value (self->hadjustment, 0.0);
  gtk_adjustment_set_value (self->vadjustment, 0.0);
  mva_image_view_set_zoom_to_fit (self, TRUE);
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GdkTexture *
mva_image_view_get_texture (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), NULL);
  return self->texture;
}

/**
 * mva_image_view_set_pixel_size_nm:
 * @nm_per_pixel: nanometres per pixel of the file along x; 0 or NAN when the
 *   file does not say (then no scale bar is drawn)
 */
void
mva_image_view_set_pixel_size_nm (MvaImageView *self,
                                  double        nm_per_pixel)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  if (!isfinite (nm_per_pixel) || nm_per_pixel < 0.0)
    nm_per_pixel = 0.0;
  if (nm_per_pixel == self->pixel_size_nm)
    return;
  self->pixel_size_nm = nm_per_pixel;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PIXEL_SIZE_NM]);
}

double
mva_image_view_get_pixel_size_nm (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), 0.0);
  return self->pixel_size_nm;
}

/**
 * mva_image_view_set_databar_height:
 * @rows: rows of the file, at the bottom, that hold the instrument's data
 *   bar. The bar is drawn like the rest of the image; the scale bar is placed
 *   above it so both stay readable.
 */
void
mva_image_view_set_databar_height (MvaImageView *self,
                                   guint         rows)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  if (rows == self->databar_height)
    return;
  self->databar_height = rows;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATABAR_HEIGHT]);
}

guint
mva_image_view_get_databar_height (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), 0);
  return self->databar_height;
}

void
mva_image_view_set_show_scale_bar (MvaImageView *self,
                                   gboolean      show)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  show = !!show;
  if (show == self->show_scale_bar)
    return;
  self->show_scale_bar = show;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_SCALE_BAR]);
}

gboolean
mva_image_view_get_show_scale_bar (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), FALSE);
  return self->show_scale_bar;
}

/**
 * mva_image_view_get_scale_bar_length_nm:
 *
 * Returns: the length of the scale bar drawn in the last frame, or 0 when no
 * bar was drawn (unknown pixel size, bar hidden, view too small).
 */
double
mva_image_view_get_scale_bar_length_nm (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), 0.0);
  return self->scale_bar_nm;
}

double
mva_image_view_get_zoom (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), 1.0);
  return self->zoom;
}

/* Sets the zoom around the centre of the view and leaves fit mode. */
void
mva_image_view_set_zoom (MvaImageView *self,
                         double        zoom)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));
  g_return_if_fail (isfinite (zoom) && zoom > 0.0);

  zoom_at_center (self, zoom);
}

gboolean
mva_image_view_get_zoom_to_fit (MvaImageView *self)
{
  g_return_val_if_fail (MVA_IS_IMAGE_VIEW (self), FALSE);
  return self->zoom_to_fit;
}

void
mva_image_view_set_zoom_to_fit (MvaImageView *self,
                                gboolean      fit)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  fit = !!fit;
  if (fit != self->zoom_to_fit)
    {
      self->zoom_to_fit = fit;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM_TO_FIT]);
    }
  if (fit && self->texture != NULL && gtk_widget_get_width (GTK_WIDGET (self)) > 0)
    {
      double z = fit_zoom (self);

      if (z != self->zoom)
        {
          self->zoom = z;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
        }
      configure_adjustments (self, 0.0, 0.0);
      update_cursor (self);
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  else if (fit)
    gtk_widget_queue_allocate (GTK_WIDGET (self));
}

void
mva_image_view_zoom_in (MvaImageView *self)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  for (guint i = 0; i < G_N_ELEMENTS (zoom_levels); i++)
    if (zoom_levels[i] > self->zoom * 1.001)
      {
        zoom_at_pointer (self, zoom_levels[i]);
        return;
      }
  zoom_at_pointer (self, MVA_IMAGE_VIEW_ZOOM_MAX);
}

void
mva_image_view_zoom_out (MvaImageView *self)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  for (guint i = G_N_ELEMENTS (zoom_levels); i > 0; i--)
    if (zoom_levels[i - 1] < self->zoom / 1.001)
      {
        zoom_at_pointer (self, zoom_levels[i - 1]);
        return;
      }
  zoom_at_pointer (self, MVA_IMAGE_VIEW_ZOOM_MIN);
}

/* One pixel of the file on one pixel of the screen. */
void
mva_image_view_zoom_actual (MvaImageView *self)
{
  g_return_if_fail (MVA_IS_IMAGE_VIEW (self));

  zoom_at_center (self, 1.0);
}
