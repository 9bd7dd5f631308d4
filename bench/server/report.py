"""Printing the results: one line per run while the benchmark goes, a Markdown section at
the end (also written into docs/benchmarks.md with --write-doc)."""

import re
import statistics

ORDER = ["seeother", "nginx", "axum"]
NAMES = {
    "seeother": "seeother serve",
    "nginx": "nginx `map` + `return 303`",
    "axum": "axum `HashMap` + `Redirect::to`",
}


def ms(us):
    return f"{us / 1000:.2f} ms"


def wrk_line(r):
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return (f"{r['rps']:>10,.0f} req/s  p50 {ms(r['p50_us'])}  p99 {ms(r['p99_us'])}  "
            f"404s {r['status']}  socket errors {errors}")


def admin_line(a):
    return (f"create median {a['create']['median_ms']:.1f} ms (max {a['create']['max_ms']:.1f}), "
            f"update median {a['update']['median_ms']:.1f} ms (max {a['update']['max_ms']:.1f}), "
            f"{a['count']} each")


def h2_line(h):
    return (f"{h['method']} {h['connections']} connections × {h['streams']} streams: "
            f"{h['rps']:,.0f} req/s, mean {h['mean']}, max {h['max']}, "
            f"{h['status_4xx']} 404s, {h['errored']} errors")


def _contestants(result):
    present = result["rounds"][0].keys() if result["rounds"] else []
    return [c for c in ORDER if c in present]


def _med(rounds, name, key):
    return statistics.median(r[name][key] for r in rounds)


def _rss(result, name):
    rss = result["rss"].get(name, {})
    mib = lambda v: f"{v:,.0f} MiB" if v is not None else "?"  # noqa: E731
    text = mib(rss.get("serving"))
    if rss.get("at_start") is not None:
        text += f" ({mib(rss['at_start'])} at first 303)"
    if name == "nginx" and rss.get("master") is not None:
        text += f"; master {mib(rss['master'])}"
    return text


def _start(result, name):
    t = result["start"][name]
    if name == "seeother":
        return (f"{t['restart from store']:.2f} s from the store; "
                f"{t['import into empty store']:.2f} s importing the CSV into an empty store; "
                f"{t['restart with --rules, unchanged']:.2f} s restarting with the CSV")
    return f"{t['start']:.2f} s"


def size_section(result):
    rounds = result["rounds"]
    names = _contestants(result)
    n = result["rules"]
    s = result["summary"]
    out = [
        f"#### {n:,} rules",
        "",
        f"{s['exact']:,} exact identifiers and {s['prefix']:,} prefix rules; wrk cycles over "
        f"{s['requests']:,} request paths (90 % exact hits, 9 % prefix hits, 1 % misses "
        f"answered 404). Median of {len(rounds)} rounds.",
        "",
        "| server | requests/s | p50 | p99 | peak RSS (VmHWM) after the run | start → first 303 |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in names:
        out.append(
            f"| {NAMES[name]} | {_med(rounds, name, 'rps'):,.0f} | "
            f"{ms(_med(rounds, name, 'p50_us'))} | {ms(_med(rounds, name, 'p99_us'))} | "
            f"{_rss(result, name)} | {_start(result, name)} |"
        )
    if "ceiling" in result:
        c = result["ceiling"]
        out += ["", f"Ceiling of this set-up (nginx answering one fixed 303 with no table, "
                f"same pinning and load, one run): {c['rps']:,.0f} requests/s, p99 "
                f"{ms(c['p99_us'])}. No contestant can be measured above it here."]
    others = [c for c in names if c != "seeother"]
    if others:
        out += ["", "| round | " + " | ".join(f"seeother/{c}" for c in others) + " |",
                "| --- |" + " ---: |" * len(others)]
        ratios = {c: [r["seeother"]["rps"] / r[c]["rps"] for r in rounds] for c in others}
        for i in range(len(rounds)):
            out.append(f"| {i + 1} | " + " | ".join(f"{ratios[c][i]:.2f}×" for c in others) + " |")
        out.append("| **median** | "
                   + " | ".join(f"**{statistics.median(ratios[c]):.2f}×**" for c in others) + " |")
    if result["mixes"]:
        out += ["", "Other HTTP/1.1 loads (wrk, one run each): POST carries a 37-byte form body "
                "(a POST answered 303 is followed by a GET, RFC 9110 §15.4.4); pipelined runs "
                "send that many requests per write, so the kernel's per-request cost is "
                "shared and the server's own cost shows.", "",
                "| load | " + " | ".join(f"{c} req/s, p99" for c in names) + " |",
                "| --- |" + " ---: |" * len(names)]
        for m in result["mixes"]:
            cells = [f"{m[c]['rps']:,.0f}, {ms(m[c]['p99_us'])}" for c in names]
            out.append(f"| {m['mix']} | " + " | ".join(cells) + " |")
    if "admin" in result:
        out += ["", f"Rule change through the admin API until a GET on another connection "
                f"sees it: {admin_line(result['admin'])}."]
    if "h2" in result:
        h2 = result["h2"]
        out += ["", "HTTP/2 with prior knowledge (h2c), h2load on the load core, "
                f"{h2[0]['connections']} connections, mean latency:", "",
                "| server | method | streams per connection | requests/s | mean |",
                "| --- | --- | ---: | ---: | ---: |"]
        for h in h2:
            out.append(f"| {h['server']} | {h['method']} | {h['streams']} | {h['rps']:,.0f} | "
                       f"{h['mean']} |")
    return "\n".join(out)


def markdown(env, results):
    lb, la = env["load_before"], env["load_after"]
    head = [
        "### Results",
        "",
        "`seeother serve` against nginx (`map $uri $target` + `return 303 $target`) and a "
        "minimal axum server (`HashMap` + `Redirect::to`, no note body), on one table, one "
        "machine, loopback, in one run. Each server is pinned to one core and the load "
        "generator to the other (`taskset`); rounds alternate the servers (A/B/C, A/B/C, …) "
        "after a 2 s warm-up of each. wrk: one thread, "
        f"{env['connections']} keep-alive connections, {env['duration']} s per run.",
        "",
        "```sh",
        env["command"].strip(),
        "```",
        "",
        f"Machine: {env['cores']} cores, Linux {env['kernel']}; {env['date']}; load average "
        f"{lb[0]:.2f} before the run and {la[0]:.2f} after (other builds were sharing the "
        f"machine). {env['nginx']}; {env['wrk']}; {env['h2load']}. Servers on CPU "
        f"{env['server_cpu']}, wrk and h2load on CPU {env['load_cpu']}. seeother: release "
        f"build at commit {env.get('commit', '?')}, store on local disk. Peak RSS is the serving process's VmHWM after the "
        "run (nginx: its worker). Start → first 303 is the time from launching the process "
        "until a 303 is answered on its socket.",
    ]
    body = [size_section(r) for r in results]
    return "\n".join(head) + "\n\n" + "\n\n".join(body) + "\n"


BEGIN = "<!-- server results: written by bench/server/bench.py --write-doc -->"
END = "<!-- end of server results -->"


def write_doc(path, results_md):
    """Put `results_md` between the BEGIN and END markers inside the `## Server` section of
    `path`; without markers, append a `## Server` section holding them. Text outside the
    markers (other sections, the hand-written analysis) is left as it is."""
    with open(path) as f:
        text = f.read()
    block = f"{BEGIN}\n{results_md.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        start = text.index(BEGIN)
        end = text.index(END, start) + len(END)
        text = text[:start] + block + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n## Server\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    # Print (or, with --write-doc, record) the results a run saved in WORKDIR/results.json.
    import argparse
    import json
    import os

    ap = argparse.ArgumentParser(description="Render a saved benchmark run as Markdown.")
    ap.add_argument("results", help="results.json from a bench.py run")
    ap.add_argument("--write-doc", action="store_true",
                    help="write it into the Server section of docs/benchmarks.md")
    a = ap.parse_args()
    with open(a.results) as f:
        saved = json.load(f)
    md = markdown(saved["env"], saved["results"])
    print(md)
    if a.write_doc:
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        write_doc(os.path.join(repo, "docs", "benchmarks.md"), md)
