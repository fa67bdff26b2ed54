// SPDX-License-Identifier: GPL-3.0-or-later
// test-device-prepare.c: the host half of a device training step
// (_mve_device_prepare, mve-model-forward.c) gives the same integer arrays as
// the CPU forward with the same random-negative seed: token rows, lengths,
// packed row offsets of the four stacks, LM positions and targets, ITM
// images and labels. Runs without a GPU.
#include "mve-backend.h"
#include "mve-model-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void
same (const char *what, const int32_t *a, const int32_t *b, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    if (a[i] != b[i])
      {
        fprintf (stderr, "FAIL %s[%lld]: device %d, CPU %d\n", what, (long long) i, a[i], b[i]);
        failures++;
        return;
      }
}

static uint64_t rng = 12345;
static int
rnd (int n)
{
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (int) ((rng >> 33) % (uint64_t) n);
}

static void
run (int use_itc, int use_itm, uint64_t seed)
{
  struct mve_config cfg;
  mve_config_init_default (&cfg);
  cfg.image_size = 16, cfg.patch_size = 8, cfg.width = 8, cfg.heads = 2;
  cfg.vision_layers = cfg.text_layers = cfg.decoder_layers = 1;
  cfg.vocab_size = 32, cfg.max_question_len = 6, cfg.max_answer_len = 7, cfg.embed_dim = 6;
  cfg.use_itc = use_itc, cfg.use_itm = use_itm;
  char err[256];
  mve_model_t m;
  if (mve_model_init (&m, &cfg, 3, 1, err, sizeof err) != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL init: %s\n", err);
      exit (1);
    }
  enum { B = 7, TQ = 6, TA = 7 };
  static float images[B * 3 * 16 * 16];
  int32_t q[B * TQ], a[B * TA], ql[B], al[B];
  for (int i = 0; i < B * 3 * 16 * 16; i++)
    images[i] = (float) rnd (1000) / 500.0f - 1.0f;
  for (int i = 0; i < B; i++)
    {
      ql[i] = rnd (TQ + 1);
      al[i] = i == 3 ? al[1] : rnd (TA + 1); // row 3 repeats row 1's answer
      for (int t = 0; t < TQ; t++)
        q[i * TQ + t] = t < ql[i] ? 7 + rnd (25) : 0;
      for (int t = 0; t < TA; t++)
        a[i * TA + t] = i == 3 ? a[1 * TA + t] : t < al[i] ? 7 + rnd (25) : 0;
    }
  struct mve_batch b = { .B = B, .images = images, .question = q, .question_len = ql, .answer = a,
                         .answer_len = al, .Tq = TQ, .Ta = TA };
  struct mve_losses L;
  if (mve_model_forward_random_negatives (m, &b, seed, &L) != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL forward: %s\n", mve_model_last_error (m));
      exit (1);
    }
  // the CPU forward's arrays
  size_t n = m->ibuf_cap;
  int32_t *cpu = malloc (n * sizeof (int32_t));
  memcpy (cpu, m->ibuf, n * sizeof (int32_t));
  struct mve_dims d = m->dims;
#define CPU(field) (cpu + (m->field - m->ibuf))
  const int32_t *c_tok_t = CPU (tok_t), *c_len_t = CPU (len_t), *c_tok_i = CPU (tok_i);
  const int32_t *c_len_i = CPU (len_i), *c_img_i = CPU (img_i), *c_lab_i = CPU (lab_i);
  const int32_t *c_tok_d = CPU (tok_d), *c_len_d = CPU (len_d), *c_img_d = CPU (img_d);
  const int32_t *c_lm_pos = CPU (lm_pos), *c_lm_tgt = CPU (lm_tgt);
  const int32_t *c_off_v = CPU (vis.off), *c_off_t = CPU (txt.off), *c_off_i = CPU (itm.off);
  const int32_t *c_off_d = CPU (dec.off);
#undef CPU
  struct mve_step_desc s;
  if (_mve_device_prepare (m, &b, seed, &s) != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL prepare: %s\n", mve_model_last_error (m));
      exit (1);
    }
  if (s.B != d.B || s.Te != d.Te || s.Td != d.Td || s.Nt != d.Nt || s.Nitm != d.Nitm
      || s.Nd != d.Nd || s.Nlm != d.Nlm || s.images != images)
    {
      fprintf (stderr, "FAIL dims differ\n");
      failures++;
    }
  const int32_t *I = s.ints;
  same ("tok_t", I + s.tok_t, c_tok_t, (int64_t) d.Nt * d.Te);
  same ("len_t", I + s.len_t, c_len_t, d.Nt);
  same ("tok_i", I + s.tok_i, c_tok_i, (int64_t) d.Nitm * d.Te);
  same ("len_i", I + s.len_i, c_len_i, d.Nitm);
  same ("img_i", I + s.img_i, c_img_i, d.Nitm);
  same ("lab_i", I + s.lab_i, c_lab_i, d.Nitm);
  same ("tok_d", I + s.tok_d, c_tok_d, (int64_t) d.Nd * d.Td);
  same ("len_d", I + s.len_d, c_len_d, d.Nd);
  same ("img_d", I + s.img_d, c_img_d, d.Nd);
  same ("lm_pos", I + s.lm_pos, c_lm_pos, d.Nlm);
  same ("lm_tgt", I + s.lm_tgt, c_lm_tgt, d.Nlm);
  same ("vis.off", I + s.off_vis, c_off_v, d.B + 1);
  // a stack without sequences is never packed on the CPU: nothing to compare
  if (d.Nt > 0)
    same ("txt.off", I + s.off_txt, c_off_t, d.Nt + 1);
  if (d.Nitm > 0)
    same ("itm.off", I + s.off_itm, c_off_i, d.Nitm + 1);
  same ("dec.off", I + s.off_dec, c_off_d, d.Nd + 1);
  // a CPU forward after the device preparation still works (the arena is replanned)
  struct mve_losses L2;
  if (mve_model_forward_random_negatives (m, &b, seed, &L2) != MVE_STATUS_OK || L2.total != L.total)
    {
      fprintf (stderr, "FAIL CPU forward after prepare: %g vs %g\n", L2.total, L.total);
      failures++;
    }
  // a bad batch is refused with a message
  int32_t bad_al[B];
  memcpy (bad_al, al, sizeof bad_al);
  bad_al[2] = TA + 1;
  struct mve_batch bad = b;
  bad.answer_len = bad_al;
  if (_mve_device_prepare (m, &bad, seed, &s) == MVE_STATUS_OK || !*mve_model_last_error (m))
    {
      fprintf (stderr, "FAIL a bad batch was accepted\n");
      failures++;
    }
  printf ("itc %d itm %d seed %llu: %lld ints, Nitm %d, Nlm %lld\n", use_itc, use_itm,
          (unsigned long long) seed, (long long) s.n_ints, d.Nitm, (long long) d.Nlm);
  free (cpu);
  mve_model_free (m);
}

int
main (void)
{
  run (1, 1, 5);
  run (1, 1, 0);
  run (0, 1, 99);
  run (1, 0, 7);
  if (failures)
    return 1;
  printf ("device preparation matches the CPU forward\n");
  return 0;
}
