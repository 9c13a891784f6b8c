#!/usr/bin/env python3
"""The demo's view of the incident-bot side: watch the event exchange, then report against expectations.

  demo_events.py watch AMQP_PORT OUT_JSONL EXPECTED_TERMINAL EXPECTED_EVIDENCE TIMEOUT_S READY_FILE
      Binds an exclusive queue to breakglass.events (#), touches READY_FILE once bound, appends every event
      (one JSON object per line) to OUT_JSONL, prints progress, and exits 0 once EXPECTED_TERMINAL terminal
      events (outcome or halted) and EXPECTED_EVIDENCE evidence-ready events arrived, 1 on timeout.

  demo_events.py report SPEC_JSON MANIFEST_TSV EVENTS_JSONL GRANTS_JSON
      Prints the table (case, tenant, result, reasons, confirmation or takeover id, evidence bundle), checks
      every item against its expectation and the simulator's grant counts (no key granted twice), and exits
      non-zero on any mismatch.
"""
import json
import sys
import time


def watch(port, out_path, expected_terminal, expected_evidence, timeout_s, ready_file):
    import pika

    params = pika.ConnectionParameters(host="127.0.0.1", port=int(port), heartbeat=30,
                                       credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.exchange_declare("breakglass.events", exchange_type="topic", durable=True, passive=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "breakglass.events", routing_key="#")
    open(ready_file, "w").close()
    terminal = evidence = 0
    seen_ids = {}
    deadline = time.time() + float(timeout_s)
    with open(out_path, "a") as out:
        while time.time() < deadline:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                connection.sleep(0.1)
                continue
            event = json.loads(body)
            out.write(json.dumps(event) + "\n")
            out.flush()
            seen_ids[event["id"]] = seen_ids.get(event["id"], 0) + 1
            if seen_ids[event["id"]] > 1:
                continue  # a republished copy: same id, dropped like a consumer would
            kind = event["type"].rsplit(".", 1)[-1]
            data = event["data"]
            if kind in ("outcome", "halted"):
                terminal += 1
                what = data.get("result") or "halted"
                print(f"  [{terminal}/{expected_terminal}] {event['subject']:<28} {what:<9} "
                      f"{','.join(data.get('reasons') or [])}", flush=True)
            elif kind == "evidence-ready":
                evidence += 1
            if terminal >= int(expected_terminal) and evidence >= int(expected_evidence):
                connection.close()
                return 0
    print(f"timed out: {terminal}/{expected_terminal} terminal events, {evidence}/{expected_evidence} evidence-ready",
          flush=True)
    connection.close()
    return 1


def report(spec_path, manifest_path, events_path, grants_path):
    spec = json.load(open(spec_path))["items"]
    manifest = [line.rstrip("\n").split("\t") for line in open(manifest_path) if line.strip()]
    events = [json.loads(line) for line in open(events_path) if line.strip()]
    grants = json.load(open(grants_path))
    by_subject = {}
    rejected = []
    duplicate_ids = 0
    ids = set()
    for event in events:
        if event["id"] in ids:
            duplicate_ids += 1
            continue
        ids.add(event["id"])
        kind = event["type"].rsplit(".", 1)[-1]
        data = event["data"]
        if kind == "outcome" and data.get("result") == "rejected":
            rejected.append(data)
            continue
        by_subject.setdefault(event["subject"], {})[kind] = data
    counts = {}
    for row in grants.get("counts", []):
        counts[(row.get("tenant_id"), row.get("external_reference"))] = row.get("count", 0)
    failures = []
    rows = []
    used_rejections = set()
    for (name, _path, _mode), item in zip(manifest, spec):
        expect = item["expect"]
        body = item.get("body") or {}
        case_id = body.get("case_id", "-")
        tenant_id = (body.get("tenant") or {}).get("id", "-")
        subject = f"{case_id}/{tenant_id}"
        result, reasons, ref, bundle = "?", [], "", ""
        if expect["result"] == "rejected":
            for index, data in enumerate(rejected):
                if index not in used_rejections and data.get("reasons") == expect["reasons"]:
                    used_rejections.add(index)
                    result, reasons = "rejected", data["reasons"]
                    break
            if result != "rejected":
                failures.append(f"{name}: no rejected outcome with {expect['reasons']}")
        else:
            found = by_subject.get(subject, {})
            outcome, halted, ready = found.get("outcome"), found.get("halted"), found.get("evidence-ready")
            if outcome and outcome.get("result") == "granted":
                result, ref = "granted", outcome.get("confirmation_id", "")
            elif halted:
                result, reasons, ref = "halted", halted.get("reasons", []), halted.get("takeover_id", "")
                if halted.get("escalate"):
                    result = "halted!"
            bundle = (ready or {}).get("bundle_id", "")
            want = "granted" if expect["result"] in ("granted", "duplicate") else "halted"
            if not result.startswith(want):
                failures.append(f"{name}: expected {want}, got {result}")
            for code in expect.get("reasons", []):
                if code not in reasons:
                    failures.append(f"{name}: expected reason {code}, got {reasons}")
            if "escalate" in expect and (result == "halted!") != expect["escalate"]:
                failures.append(f"{name}: expected escalate={expect['escalate']}")
            if not ready:
                failures.append(f"{name}: no evidence-ready event")
            if expect["result"] == "duplicate":
                result = "duplicate"
        grant_count = counts.get((tenant_id, subject), 0)
        rows.append((name, case_id, tenant_id, result, ",".join(reasons) or "-", ref or "-", bundle or "-", grant_count))
    print()
    header = ("request", "case", "tenant", "result", "reasons", "confirmation / takeover", "evidence bundle", "grants")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    widths[6] = min(widths[6], 48)
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        cells = [str(c) if i != 6 else (str(c)[:45] + "...") if len(str(c)) > 48 else str(c) for i, c in enumerate(r)]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    twice = {key: n for key, n in counts.items() if n > 1}
    total_grants = sum(counts.values())
    granted_keys = len([k for k, n in counts.items() if n >= 1])
    print()
    print(f"requests enqueued: {len(manifest)}   events: {len(events)} ({duplicate_ids} republished copies dropped)")
    print(f"grants in the console: {total_grants} over {granted_keys} keys; keys granted twice: {len(twice)}")
    if twice:
        failures.append(f"keys granted more than once: {twice}")
    if failures:
        print("\nMISMATCHES:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("every request ended as expected; no key was granted twice.")
    return 0


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "watch":
        sys.exit(watch(*sys.argv[2:8]))
    if command == "report":
        sys.exit(report(*sys.argv[2:6]))
    sys.exit(__doc__)
