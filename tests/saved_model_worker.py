"""One long-lived process that loads SavedModels and calls their signatures (as TF Serving would).

The contract suite sends it one JSON request per line on stdin and reads one JSON answer per line:
``{"path": ..., "calls": [{"signature": ..., "inputs": {name: [values, dtype]}}]}`` →
``{"outputs": [{name: values}]}`` or ``{"error": ...}``. Starting TensorFlow once for every export
check instead of once per model class saves most of the suite's subprocess time.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402


def tensor(values, dtype):
    return tf.constant(values, getattr(tf, dtype))


def plain(value):
    value = value.numpy()
    if value.dtype.kind in "OSU":
        return [
            [v.decode("utf-8") for v in row] if value.ndim == 2 else row.decode("utf-8")
            for row in value
        ]
    return value.tolist()


def main():
    for line in sys.stdin:
        try:
            request = json.loads(line)
            model = tf.saved_model.load(request["path"])
            outputs = []
            for call in request["calls"]:
                fn = model.signatures[call["signature"]]
                result = fn(**{k: tensor(v, d) for k, (v, d) in call["inputs"].items()})
                outputs.append({k: plain(v) for k, v in result.items()})
            answer = {"outputs": outputs, "signatures": sorted(model.signatures)}
        except Exception as e:  # reported to the test, which fails with it
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
