"""The validation runs behind the sequence models' defaults (docs/sequential.md). JSON lines.

    python benchmarks/sequential_validation.py sasrec '{}' '{"epochs": 60}' 10
    python benchmarks/sequential_validation.py gru4rec '{"loss": "bpr_max", "num_negatives": 128}'

Arguments: the model, its config and fit settings (JSON), and every how many epochs to
evaluate (default: only at the end). The split never reads the ranking protocol's test rows:
the protocol's training part of MovieLens-100k (k-core > 5, each user's last 10% by time
held out) is cut again the same way, each user's last 10% of it held out as the validation
set; full-ranking NDCG@10 / Recall@10 on that set, training items masked; seed 0.
"""

from __future__ import annotations

import json
import sys
import time

import keras

from embedzoo import datasets, training, zoo
from embedzoo.training.evaluation import ranking_protocol, ranking_report


def inner_split():
    train, _ = ranking_protocol(datasets.load_ml100k())
    return datasets.temporal_holdout(train, 0.1)


def main(argv) -> int:
    name = argv[0]
    config = json.loads(argv[1]) if len(argv) > 1 else {}
    fit = json.loads(argv[2]) if len(argv) > 2 else {}
    every = int(argv[3]) if len(argv) > 3 else 0
    inner, validation = inner_split()
    model = zoo.build(name, inner, seed=0, **config)
    marks, start = [], time.perf_counter()

    def evaluate(epoch):
        row = ranking_report({name: model}, inner, validation, seed=0).to_dict()["models"][name]
        marks.append({"epoch": epoch, "seconds": round(time.perf_counter() - start, 1),
                      "ndcg@10": round(row["ndcg@10"], 4), "recall@10": round(row["recall@10"], 4)})  # fmt: skip

    class Every(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if every and (epoch + 1) % every == 0:
                evaluate(epoch + 1)

    history = training.fit(model, inner, seed=0, verbose=0, callbacks=[Every()], **fit)
    if not marks or marks[-1]["epoch"] != len(history.history["loss"]):
        evaluate(len(history.history["loss"]))
    best = max(marks, key=lambda m: m["ndcg@10"])
    print(json.dumps({"model": name, "config": config, "fit": fit, "final": marks[-1],
                      "best": best, "marks": marks}), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
