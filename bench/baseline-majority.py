#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/baseline-majority.py: the baseline the default model must beat
# (issue 10): for every held-out question, answer with the most common answer
# of the asked question family in the training pairs, and score those answers
# with `mvaema-cli metrics --json` (the paper's BLEU-2/4, ROUGE, METEOR).
#
#   bench/baseline-majority.py --cli build/app/mvaema-cli \
#       --train TRAIN/qa.jsonl --heldout HELDOUT/qa.jsonl [--pairs OUT.jsonl]
#
# Ties (synthetic answers are mostly unique sentences) go to the answer that
# comes first in the training file. A held-out family absent from training
# gets the most common answer overall. Prints one JSON object: the answer
# chosen per family, the corpus line of `mvaema-cli metrics` and the means.
# Standard library only.
import argparse
import collections
import json
import subprocess
import sys


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit("baseline-majority: %s line %d: %s" % (path, n, e))
    return rows


def most_common(answers):
    counts = collections.Counter(answers)
    first = {}
    for i, a in enumerate(answers):
        first.setdefault(a, i)
    return max(counts, key=lambda a: (counts[a], -first[a]))


def main():
    ap = argparse.ArgumentParser(description="Score the most-common-answer-per-family baseline.")
    ap.add_argument("--cli", required=True, help="path of mvaema-cli")
    ap.add_argument("--train", required=True, help="training qa.jsonl")
    ap.add_argument("--heldout", required=True, help="held-out qa.jsonl")
    ap.add_argument("--pairs", help="also write the scored pairs here")
    a = ap.parse_args()

    train = read_jsonl(a.train)
    held = read_jsonl(a.heldout)
    if not train or not held:
        sys.exit("baseline-majority: no question/answer pairs")
    by_family = collections.defaultdict(list)
    for r in train:
        by_family[r.get("family")].append(r["answer"])
    choice = {f: most_common(v) for f, v in by_family.items()}
    overall = most_common([r["answer"] for r in train])

    lines = []
    for i, r in enumerate(held):
        cand = choice.get(r.get("family"), overall)
        lines.append(json.dumps({"id": i, "candidate": cand, "references": [r["answer"]]},
                                ensure_ascii=False))
    text = "\n".join(lines) + "\n"
    if a.pairs:
        with open(a.pairs, "w", encoding="utf-8") as f:
            f.write(text)
    res = subprocess.run([a.cli, "metrics", "--json"], input=text, capture_output=True,
                         text=True)
    if res.returncode != 0:
        sys.exit("baseline-majority: mvaema-cli metrics failed: " + res.stderr.strip())
    corpus = None
    for line in res.stdout.splitlines():
        o = json.loads(line)
        if o.get("id") == "corpus":
            corpus = o
    if corpus is None:
        sys.exit("baseline-majority: mvaema-cli metrics printed no corpus line")
    print(json.dumps({
        "baseline": "most common answer of the asked family (training pairs)",
        "train_pairs": len(train),
        "heldout_pairs": len(held),
        "answers": {str(f): choice[f] for f in sorted(choice, key=lambda x: (x is None, x))},
        "corpus": corpus,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
