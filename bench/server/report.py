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


def us(v):
    return f"{v:.1f} µs"


def pct(v):
    return f"{v * 100:.0f} %"


def cpu_line(c):
    """Server and load-generator CPU of one run, for the progress lines."""
    if not c:
        return ""
    return (f"  server CPU {us(c['us_per_request'])}/req = {c['requests_per_cpu_s']:,.0f} "
            f"req/CPU-s (busy {pct(c['server_busy'])}, core {pct(c['server_core_busy'])})  "
            f"load {us(c['load_us_per_request'])}/req (busy {pct(c['load_busy'])})")


def wrk_line(r):
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return (f"{r['rps']:>10,.0f} req/s  p50 {ms(r['p50_us'])}  p99 {ms(r['p99_us'])}  "
            f"404s {r['status']}  socket errors {errors}" + cpu_line(r.get("cpu")))


def admin_line(a):
    return (f"create median {a['create']['median_ms']:.1f} ms (max {a['create']['max_ms']:.1f}), "
            f"update median {a['update']['median_ms']:.1f} ms (max {a['update']['max_ms']:.1f}), "
            f"{a['count']} each")


def h2_line(h):
    return (f"{h['method']} {h['connections']} connections × {h['streams']} streams: "
            f"{h['rps']:,.0f} req/s, mean {h['mean']}, max {h['max']}, "
            f"{h['status_4xx']} 404s, {h['errored']} errors" + cpu_line(h.get("cpu")))


def _contestants(result):
    present = result["rounds"][0].keys() if result["rounds"] else []
    return [c for c in ORDER if c in present]


def _med(rounds, name, key):
    return statistics.median(r[name][key] for r in rounds)


def _cpu_med(rounds, name, key):
    return statistics.median(r[name]["cpu"][key] for r in rounds)


def _has_cpu(rounds):
    return bool(rounds) and all("cpu" in run for r in rounds for run in r.values())


def _cpu_cell(run):
    c = run.get("cpu")
    return f", {us(c['us_per_request'])}" if c else ""


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


def ratio_table(rounds, others):
    """seeother against each other contestant per round, on requests/s and (when measured)
    on requests per server-CPU-second; the median and the spread (lowest to highest)."""
    measures = [("rps", "requests/s", lambda run: run["rps"])]
    if _has_cpu(rounds):
        measures.append(("cpu", "per server-CPU-second",
                         lambda run: run["cpu"]["requests_per_cpu_s"]))
    cols = [(c, label, get) for _, label, get in measures for c in others]
    ratios = [[get(r["seeother"]) / get(r[c]) for r in rounds] for c, _, get in cols]
    out = ["| round | " + " | ".join(f"seeother/{c}, {label}" for c, label, _ in cols) + " |",
           "| --- |" + " ---: |" * len(cols)]
    for i in range(len(rounds)):
        out.append(f"| {i + 1} | " + " | ".join(f"{x[i]:.2f}×" for x in ratios) + " |")
    out.append("| **median** | "
               + " | ".join(f"**{statistics.median(x):.2f}×**" for x in ratios) + " |")
    if len(rounds) > 1:
        out.append("| spread | " + " | ".join(f"{min(x):.2f} to {max(x):.2f}" for x in ratios)
                   + " |")
    return out


def cpu_note(env):
    """What the server-CPU figures count, in one paragraph."""
    irq = env.get("irq_time_accounting")
    if irq is False:
        softirq = ("this kernel does not account interrupt time apart "
                   "(`CONFIG_IRQ_TIME_ACCOUNTING` is off), so the loopback softirq work that "
                   "runs on the server's core inside the server's own send calls (delivering "
                   "each response into wrk's socket) is counted as the server's, and softirq "
                   "work done while that core idles is in no process's figure")
    elif irq is True:
        softirq = ("this kernel accounts interrupt time apart (`CONFIG_IRQ_TIME_ACCOUNTING`), "
                   "so softirq work on the server's core (the loopback delivery of its "
                   "responses) is not in the server's figure; it shows in the core's")
    else:
        softirq = ("whether softirq work on the server's core (the loopback delivery of its "
                   "responses) is counted as the server's depends on "
                   "`CONFIG_IRQ_TIME_ACCOUNTING`, which could not be read on this machine")
    tick = env.get("clk_tck", 100)
    return (
        "Server CPU per request is the CPU time of the serving process (utime + stime of all "
        "its threads in `/proc/PID/stat`; nginx: its worker) from just before to just after "
        "each run, divided by the requests completed; requests per server-CPU-second is "
        "its inverse, the rate the server would reach if its own core were the only limit. "
        "It is the kernel's accounting, not a profile: time is charged to the task running "
        f"on a core, in 1/{tick} s ticks; {softirq}. Server busy is that CPU time over the "
        "run's wall time (near 100 %: the server's core was the limit); core busy is the "
        "whole server core from `/proc/stat` (every task, softirq included), and core busy "
        "well above server busy means other work shared the server's core. The cost per "
        "request depends on how many requests each wake-up finds: fewer when the server "
        "waits for the load generator, more when other work holds the core, so it moves "
        "with the machine too, but every contestant of a round meets about the same "
        "conditions, and the per-round ratios on this measure are far steadier than on "
        "requests/s, which the shared ceiling squeezes toward 1. wrk's CPU comes from "
        "`wait4`."
    )


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
    if _has_cpu(rounds):
        out += ["", f"Server CPU, median of {len(rounds)} rounds (see above for what it counts):",
                "", "| server | server CPU per request | requests per server-CPU-second | "
                "server busy (CPU s / wall s) | server core busy (all tasks) | "
                "wrk CPU per request |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name in names:
            med = lambda k: _cpu_med(rounds, name, k)  # noqa: E731
            out.append(
                f"| {NAMES[name]} | {us(med('us_per_request'))} | "
                f"{med('requests_per_cpu_s'):,.0f} | {pct(med('server_busy'))} | "
                f"{pct(med('server_core_busy'))} | {us(med('load_us_per_request'))} |"
            )
    if "ceiling" in result:
        c = result["ceiling"]
        cpu = ""
        if "cpu" in c:
            cpu = (f", server CPU {us(c['cpu']['us_per_request'])} per request "
                   f"({c['cpu']['requests_per_cpu_s']:,.0f} requests per server-CPU-second, "
                   f"busy {pct(c['cpu']['server_busy'])})")
        out += ["", f"Ceiling of this set-up (nginx answering one fixed 303 with no table, "
                f"same pinning and load, one run): {c['rps']:,.0f} requests/s, p99 "
                f"{ms(c['p99_us'])}{cpu}. No contestant can be measured above it here in "
                "requests/s; requests per server-CPU-second are not bounded by it."]
    others = [c for c in names if c != "seeother"]
    if others and "seeother" in names:
        out += ["", *ratio_table(rounds, others)]
    if "direct" in result:
        d = result["direct"]
        out += ["", f"seeother's direct HTTP/1.1 path (`seeother_http1_direct_total`) answered "
                f"{d['answered']:,} requests during the timed rounds, for {d['completed']:,} "
                "that wrk completed (it does not count those still in flight when a run ends)."]
    if result["mixes"]:
        out += ["", "Other HTTP/1.1 loads (wrk, one run each): POST carries a 37-byte form body "
                "(a POST answered 303 is followed by a GET, RFC 9110 §15.4.4); pipelined runs "
                "send that many requests per write, so the kernel's per-request cost is "
                "shared and the server's own cost shows.", "",
                "| load | " + " | ".join(
                    f"{c} req/s, p99" + (", CPU/request" if "cpu" in result["mixes"][0][c]
                                         else "") for c in names) + " |",
                "| --- |" + " ---: |" * len(names)]
        for m in result["mixes"]:
            cells = [f"{m[c]['rps']:,.0f}, {ms(m[c]['p99_us'])}{_cpu_cell(m[c])}" for c in names]
            out.append(f"| {m['mix']} | " + " | ".join(cells) + " |")
    if "admin" in result:
        out += ["", f"Rule change through the admin API until a GET on another connection "
                f"sees it: {admin_line(result['admin'])}."]
    if "h2" in result:
        h2 = result["h2"]
        out += ["", "HTTP/2 with prior knowledge (h2c), h2load on the load core, "
                f"{h2[0]['connections']} connections, mean latency:", "",
                "| server | method | streams per connection | requests/s | mean | "
                "server CPU per request |",
                "| --- | --- | ---: | ---: | ---: | ---: |"]
        for h in h2:
            cpu = us(h["cpu"]["us_per_request"]) if "cpu" in h else "?"
            out.append(f"| {h['server']} | {h['method']} | {h['streams']} | {h['rps']:,.0f} | "
                       f"{h['mean']} | {cpu} |")
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
        f"{lb[0]:.2f} before the run and {la[0]:.2f} after (a virtual machine whose speed "
        f"varies: compare contestants within a round). {env['nginx']}; {env['wrk']}; {env['h2load']}. Servers on CPU "
        f"{env['server_cpu']}, wrk and h2load on CPU {env['load_cpu']}. seeother: release "
        f"build at commit {env.get('commit', '?')}, store on local disk. Peak RSS is the serving process's VmHWM after the "
        "run (nginx: its worker). Start → first 303 is the time from launching the process "
        "until a 303 is answered on its socket.",
        "",
        cpu_note(env),
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
