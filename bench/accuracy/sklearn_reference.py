"""Reference numbers: TF-IDF (word 1-3-grams) + L2 logistic regression, on the exact splits
that `npx tsx bench/accuracy/run.ts` writes to bench/results/datasets/.

Optional tooling only (Debian: apt-get install python3-sklearn). run.ts starts this script itself
when it finds a python3 with scikit-learn ($SKLEARN_PYTHON, python3, the Debian one) and prints its
numbers next to its own; by hand:

    /usr/bin/python3 bench/accuracy/sklearn_reference.py
"""
import glob
import json
import os
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.multiclass import OneVsRestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "..", "results")


def evaluate(d, train):
    texts = d["texts"]
    test = d["test"]
    started = time.perf_counter()
    # (?u)\b\w+\b keeps one-letter tokens, like the ONNX tokenizer; sublinear tf and C=10 were the
    # best of C in {1, 10} × sublinear {no, yes} on these sets, so the reference is not a straw man.
    vectorizer = TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    x_test = vectorizer.transform([texts[i] for i in test])
    sizes = {"trainSize": len(train), "testSize": len(test)}
    if d["mode"] == "single":
        y = np.array(d["targets"])
        model = LogisticRegression(C=10, max_iter=2000).fit(x_train, y[train])
        elapsed = (time.perf_counter() - started) * 1000
        predicted = model.predict(x_test)
        classes = list(range(len(d["labels"])))
        return {
            "accuracy": accuracy_score(y[test], predicted),
            "macroF1": f1_score(y[test], predicted, average="macro"),
            "recall": recall_score(y[test], predicted, labels=classes, average=None, zero_division=0).tolist(),
            "trainMs": elapsed,
            **sizes,
        }
    classes = len(d["labels"])
    y = np.zeros((len(texts), classes), dtype=int)
    for i, labels in enumerate(d["targets"]):
        y[i, labels] = 1
    model = OneVsRestClassifier(LogisticRegression(C=10, max_iter=2000)).fit(x_train, y[train])
    elapsed = (time.perf_counter() - started) * 1000
    predicted = (model.predict_proba(x_test) >= 0.5).astype(int)
    return {
        "accuracy": accuracy_score(y[test], predicted),
        "macroF1": f1_score(y[test], predicted, average="macro", zero_division=0),
        "microF1": f1_score(y[test], predicted, average="micro", zero_division=0),
        "trainMs": elapsed,
        **sizes,
    }


def main():
    out = {}
    for path in sorted(glob.glob(os.path.join(RESULTS, "datasets", "*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        runs = [(d["name"], d["train"])]
        runs += [(f'{d["name"]} / train n={n}', d["train"][:n]) for n in d.get("curve", []) if n < len(d["train"])]
        for name, train in runs:
            out[name] = evaluate(d, train)
            print(name, {k: round(v, 4) for k, v in out[name].items() if isinstance(v, float)}, flush=True)
    with open(os.path.join(RESULTS, "sklearn-reference.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
