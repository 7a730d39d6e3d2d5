"""Drives Docent's OpenAI-compatible API with the official `openai` package, unmodified, and prints a
JSON report for the end-to-end test to check.

    python openai_client.py <base url> <question>
"""
import json
import sys

import openai


def main():
    base, question = sys.argv[1], sys.argv[2]
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="any-key", max_retries=0)
    report = {"models": [m.id for m in client.models.list()]}

    completion = client.chat.completions.create(
        model="docent",
        messages=[{"role": "system", "content": "Answer from the docs."}, {"role": "user", "content": question}],
    )
    choice = completion.choices[0]
    report["text"] = choice.message.content
    report["finish_reason"] = choice.finish_reason
    report["usage_total"] = completion.usage.total_tokens
    report["first_source"] = (completion.model_extra or {}).get("sources", [{}])[0].get("url")

    stream = client.chat.completions.create(model="docent", messages=[{"role": "user", "content": question}], stream=True)
    pieces, finishes = [], []
    for chunk in stream:
        delta = chunk.choices[0].delta.content
        if delta:
            pieces.append(delta)
        if chunk.choices[0].finish_reason:
            finishes.append(chunk.choices[0].finish_reason)
    report["streamed_text"] = "".join(pieces)
    report["streamed_pieces"] = len(pieces)
    report["stream_finishes"] = finishes

    try:
        client.chat.completions.create(model="gpt-unknown", messages=[{"role": "user", "content": question}])
        report["unknown_model_error"] = None
    except openai.NotFoundError as error:
        report["unknown_model_error"] = error.status_code
    try:
        client.chat.completions.create(model="docent", messages=[])
        report["empty_messages_error"] = None
    except openai.BadRequestError as error:
        report["empty_messages_error"] = error.status_code
    print(json.dumps(report))


if __name__ == "__main__":
    main()
