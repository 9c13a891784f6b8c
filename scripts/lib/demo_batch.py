#!/usr/bin/env python3
"""Writes the demo batch: one body file per item of config/demo/requests.json, with times filled in.

usage: demo_batch.py REQUESTS_JSON OUT_DIR
Prints one line per item: NN-name<TAB>file<TAB>signature-mode (sign|forged|none).
Bodies are written compactly (the signature covers the exact bytes the tool writes).
"""
import datetime
import json
import pathlib
import sys

spec = json.load(open(sys.argv[1]))
out = pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
enqueued = now.strftime("%Y-%m-%dT%H:%M:%SZ")
not_after = (now + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
for index, item in enumerate(spec["items"], start=1):
    name = f"{index:02d}-{item['name']}"
    if "raw" in item:
        text = item["raw"]
    else:
        text = json.dumps(item["body"], separators=(",", ":"))
    text = text.replace("$ENQUEUED_AT", enqueued).replace("$NOT_AFTER", not_after)
    path = out / f"{name}.json"
    path.write_text(text)
    print(f"{name}\t{path}\t{item.get('signature', 'sign')}")
