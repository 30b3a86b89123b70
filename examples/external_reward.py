#!/usr/bin/env python3
"""Example external reward program for r1kit's `command` rewarder.

r1kit starts this program once and keeps it running. For every sample it writes one JSON line to stdin:
    {"prompt": "...", "completion": "...", "record": {...}, "truncated": false, "completion_tokens": 57}
and reads one JSON line back from stdout:
    {"reward": 1.0}        (a number; null means "not applicable", skipped in the weighted sum)

Config:
    {"type": "command", "command": ["python3", "examples/external_reward.py"], "timeout_s": 10}

This example rewards a completion whose final answer line contains the record's "answer" field (a plain
substring test: a real rule would normalise both sides), and returns null when the record has no answer.
Print nothing else on stdout (use stderr for logs) and flush after every reply.
"""
import json
import sys


def reward(sample):
    answer = sample.get("record", {}).get("answer")
    if answer is None:
        return None
    text = sample.get("completion", "")
    if "</think>" in text:
        text = text.split("</think>", 1)[1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return 1.0 if lines and str(answer).strip() in lines[-1] else 0.0


def main():
    for line in sys.stdin:
        try:
            value = reward(json.loads(line))
        except Exception as e:  # a bad line must not kill the program: answer and keep going
            print(f"external_reward.py: {e!r}", file=sys.stderr)
            value = 0.0
        sys.stdout.write(json.dumps({"reward": value}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
