/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-tiff.c: write a synthetic micrograph as FEI/Thermo SEMs do.
 *
 * 8-bit gray, uncompressed strips, the image area followed by the data bar
 * rows, and tag 34682 (FEI_HELIOS / FEI_SFEG) holding the INI text with CRLF
 * line ends: [User] [System] [Beam] [EBeam] [Scan] [EScan] [Stage] [Image]
 * [Vacuum] [Detectors] [<detector>] [PrivateFei], lengths in metres, HV in
 * volts, [Image] ResolutionY = rows above the data bar and
 * [PrivateFei] DatabarHeight = rows of the bar, as a Quanta/Teneo writes them.
 *
 * libtiff learns tag 34682 through a tag extender installed once (chained to
 * any extender installed before, e.g. by the image loader).
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <tiffio.h>

#include "mva-synth-private.h"

#define FEI_TAG 34682

static TIFFExtendProc parent_extender;

static void
fei_tag_extender (TIFF *tif)
{
  static const TIFFFieldInfo info[] = {
    { FEI_TAG, -1, -1, TIFF_ASCII, FIELD_CUSTOM, TRUE, FALSE, (char *) "FEI_HELIOS" },
  };

  TIFFMergeFieldInfo (tif, info, G_N_ELEMENTS (info));
  if (parent_extender != NULL)
    parent_extender (tif);
}

static void
ensure_extender (void)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      parent_extender = TIFFSetTagExtender (fei_tag_extender);
      g_once_init_leave (&once, 1);
    }
}

double
_mva_synth_magnification (double pixel_nm, int width)
{
  /* FEI quotes magnification against a 127 mm wide display (Quanta:
   * HFW 31.75 µm <-> 4 000 x). */
  return 127e6 / (pixel_nm * width);
}

char *
_mva_synth_format_length (double nm)
{
  if (nm < 1.0)
    return g_strdup_printf ("%.2f nm", nm);
  if (nm < 10.0)
    return g_strdup_printf ("%.1f nm", nm);
  if (nm < 1000.0)
    return g_strdup_printf ("%.0f nm", nm);
  if (nm < 10000.0)
    return g_strdup_printf ("%.2g µm", nm / 1000.0);
  if (nm < 1e6)
    return g_strdup_printf ("%.0f µm", nm / 1000.0);
  return g_strdup_printf ("%.2g mm", nm / 1e6);
}

char *
_mva_synth_fei_text (const MvaSynthInstrument *ins, int databar_h)
{
  const MvaSynthLook *lk = ins->look;
  GString *s = g_string_new (NULL);
  double pw = ins->pixel_nm * 1e-9;
  double hfw = pw * ins->width, vfw = pw * ins->height;
  double hv = lk->hv_kv * 1000.0, wd = lk->wd_mm * 1e-3;
  double dwell = lk->dwell_us * 1e-6;
  /* deterministic acquisition date derived from the look */
  int day = 1 + (int) fmod (lk->wd_mm * 997.0 + lk->hv_kv * 31.0, 28.0);
  int month = 1 + (int) fmod (lk->dwell_us * 7.0 + lk->spot * 3.0, 12.0);
  int hour = 8 + (int) fmod (lk->current_pa, 10.0);
  int minute = (int) fmod (lk->wd_mm * 4513.0, 60.0);
  const char *sys = lk->mode[0] == 'B' ? "Quanta FEG" : (lk->hv_kv < 3.0 ? "Teneo" : "Nova NanoSEM 450");

#define L(...) (g_string_append_printf (s, __VA_ARGS__), g_string_append (s, "\r\n"))
  L ("[User]");
  L ("Date=%02d/%02d/2024", month, day);
  L ("Time=%02d:%02d:00 %s", hour > 12 ? hour - 12 : hour, minute, hour >= 12 ? "PM" : "AM");
  L ("User=supervisor");
  L ("UserText=%s", ins->label ? ins->label : "");
  L ("%s", "");
  L ("[System]");
  L ("Type=SEM");
  L ("Dnumber=9920799");
  L ("Software=7.7.1.4284");
  L ("BuildNr=4284");
  L ("Source=FEG");
  L ("Column=FEG");
  L ("FinalLens=S4");
  L ("Chamber=xT-SDB");
  L ("Stage=110 x 110");
  L ("Pump=TMP");
  L ("ESEM=no");
  L ("Aperture=AVA");
  L ("Scan=PIA 3.0");
  L ("Acq=PIA 3.0");
  L ("EucWD=0.01");
  L ("SystemType=%s", sys);
  L ("DisplayWidth=0.518");
  L ("DisplayHeight=0.324");
  L ("%s", "");
  L ("[Beam]");
  L ("HV=%g", hv);
  L ("Spot=%g", lk->spot);
  L ("StigmatorX=0");
  L ("StigmatorY=0");
  L ("BeamShiftX=0");
  L ("BeamShiftY=0");
  L ("ScanRotation=0");
  L ("ImageMode=Normal");
  L ("Beam=EBeam");
  L ("Scan=EScan");
  L ("%s", "");
  L ("[EBeam]");
  L ("Source=FEG");
  L ("ColumnType=FEG");
  L ("FinalLens=S4");
  L ("Acq=PIA 3.0");
  L ("Aperture=AVA");
  L ("ApertureDiameter=3.2e-005");
  L ("HV=%g", hv);
  L ("HFW=%g", hfw);
  L ("VFW=%g", vfw);
  L ("WD=%g", wd);
  L ("BeamCurrent=%g", lk->current_pa * 1e-12);
  L ("TiltCorrectionIsOn=no");
  L ("DynamicFocusIsOn=no");
  L ("ScanRotation=0");
  L ("LensMode=%s", lk->hv_kv < 3.0 ? "Immersion" : "Field-Free");
  L ("ImageMode=Normal");
  L ("StageX=0.0012");
  L ("StageY=-0.0034");
  L ("StageZ=%g", wd);
  L ("StageR=0");
  L ("StageTa=%g", lk->tilt_deg * G_PI / 180.0);
  L ("StageTb=0");
  L ("EucWD=0.01");
  L ("PreTilt=0");
  L ("%s", "");
  L ("[GIS]");
  L ("Number=0");
  L ("%s", "");
  L ("[Scan]");
  L ("InternalScan=true");
  L ("Dwelltime=%g", dwell);
  L ("PixelWidth=%g", pw);
  L ("PixelHeight=%g", pw);
  L ("HorFieldsize=%g", hfw);
  L ("VerFieldsize=%g", vfw);
  L ("Average=0");
  L ("Integrate=1");
  L ("FrameTime=%g", dwell * ins->width * ins->height);
  L ("%s", "");
  L ("[EScan]");
  L ("Scan=PIA 3.0");
  L ("InternalScan=true");
  L ("Dwell=%g", dwell);
  L ("PixelWidth=%g", pw);
  L ("PixelHeight=%g", pw);
  L ("HorFieldsize=%g", hfw);
  L ("VerFieldsize=%g", vfw);
  L ("FrameTime=%g", dwell * ins->width * ins->height);
  L ("LineTime=%g", dwell * ins->width);
  L ("Mainslock=On");
  L ("LineIntegration=1");
  L ("ScanInterlacing=1");
  L ("%s", "");
  L ("[Stage]");
  L ("StageX=0.0012");
  L ("StageY=-0.0034");
  L ("StageZ=%g", wd);
  L ("StageR=0");
  L ("StageT=%g", lk->tilt_deg * G_PI / 180.0);
  L ("StageTb=0");
  L ("SpecTilt=0");
  L ("WorkingDistance=%g", wd);
  L ("%s", "");
  L ("[Image]");
  L ("DigitalContrast=1");
  L ("DigitalBrightness=0");
  L ("DigitalGamma=1");
  L ("Average=0");
  L ("Integrate=1");
  L ("ResolutionX=%d", ins->width);
  L ("ResolutionY=%d", ins->height);
  L ("DriftCorrected=Off");
  L ("ZoomFactor=1.0");
  L ("ZoomPanX=0.5");
  L ("ZoomPanY=0.5");
  L ("MagCanvasRealWidth=0.127");
  L ("MagnificationMode=2");
  L ("ScreenMagCanvasRealWidth=0.127");
  L ("ScreenMagnificationMode=2");
  L ("PostProcessing=None");
  L ("Transformation=None");
  L ("%s", "");
  L ("[Vacuum]");
  L ("ChPressure=%g", lk->pressure_pa);
  L ("Gas=");
  L ("UserMode=High vacuum");
  L ("%s", "");
  L ("[Specimen]");
  L ("Temperature=");
  L ("%s", "");
  L ("[Detectors]");
  L ("Number=1");
  L ("Name=%s", lk->detector);
  L ("Mode=%s", lk->mode);
  L ("%s", "");
  L ("[%s]", lk->detector);
  L ("Contrast=%g", 60.0 + 30.0 * lk->contrast);
  L ("Brightness=%g", 30.0 + 30.0 * lk->brightness);
  L ("Mix=100");
  L ("Signal=%s", lk->mode);
  L ("Grid=250");
  L ("Setting=250");
  L ("MinimumDwellTime=1e-007");
  L ("%s", "");
  L ("[Accessories]");
  L ("Number=0");
  L ("%s", "");
  L ("[PrivateFei]");
  L ("BitShift=0");
  L ("DataBarSelected=HV det WD mag HFW spot Label MicronBar");
  L ("DataBarAvailable=srot frame dwell WD mag HFW x y tilt pressure VacMode filter det DateTime mode driftCorr zoom spot HV imRatio bias Label MicronBar");
  L ("TimeOfCreation=%02d.%02d.2024 %02d:%02d:00", day, month, hour, minute);
  L ("DatabarHeight=%d", databar_h);
  L ("%s", "");
#undef L
  return g_string_free (s, FALSE);
}

gboolean
_mva_synth_tiff_write (const char   *path,
                       const guint8 *pixels,
                       int           width,
                       int           height,
                       const char   *fei_text,
                       double        pixel_nm,
                       GError      **error)
{
  g_autofree char *tmp_path = g_strdup_printf ("%s.part", path);
  TIFF *tif;
  gboolean ok = TRUE;
  int rows_per_strip = MAX (1, 8192 / width);
  /* pixels per inch, as FEI writes a nominal resolution */
  double dpi = 0.0254 / (pixel_nm * 1e-9);

  ensure_extender ();
  tif = TIFFOpen (tmp_path, "w");
  if (tif == NULL)
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO,
                   "cannot create %s", tmp_path);
      return FALSE;
    }
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, (uint32_t) width);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, (uint32_t) height);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, (uint32_t) rows_per_strip);
  TIFFSetField (tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
  TIFFSetField (tif, TIFFTAG_XRESOLUTION, (float) dpi);
  TIFFSetField (tif, TIFFTAG_YRESOLUTION, (float) dpi);
  TIFFSetField (tif, TIFFTAG_SOFTWARE, "MVaEMa Workbench synth");
  if (fei_text != NULL)
    TIFFSetField (tif, FEI_TAG, fei_text);
  for (int y = 0; y < height && ok; y++)
    if (TIFFWriteScanline (tif, (void *) (pixels + (gsize) y * width), (uint32_t) y, 0) < 0)
      ok = FALSE;
  if (ok && !TIFFWriteDirectory (tif))
    ok = FALSE;
  TIFFClose (tif);
  if (!ok)
    {
      g_unlink (tmp_path);
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO,
                   "cannot write %s (disk full?)", path);
      return FALSE;
    }
  if (g_rename (tmp_path, path) != 0)
    {
      int e = errno;
      g_unlink (tmp_path);
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO,
                   "cannot rename %s: %s", tmp_path, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
