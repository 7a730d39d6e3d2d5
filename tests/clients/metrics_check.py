"""Reads Docent's /metrics with Prometheus' own Python parser and prints what it parsed as JSON.

Usage: metrics_check.py <url> <bearer key>. Output: {"families": {name: type}, "samples":
[{"name", "labels", "value"}]}. A body the parser refuses makes this exit non-zero with its error.
"""

import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    url, key = sys.argv[1], sys.argv[2]
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        content_type = response.headers.get("content-type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("text/plain"):
        sys.exit(f"/metrics answered {content_type!r}, not the text format")
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    json.dump({"families": families, "samples": samples, "text": text}, sys.stdout)


if __name__ == "__main__":
    main()
