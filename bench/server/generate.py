"""Rule tables for the server benchmark, written three ways from one seed.

- ``rules.csv``: seeother's CSV rule format (``path,prefix,to``); the axum baseline reads it
  too.
- ``exact.map`` and ``prefix.map``: the same rules as nginx ``map`` entries (included by
  ``nginx.conf.in``).
- ``requests.tsv``: the request paths wrk and h2load send, each with the status and
  ``Location`` every contestant must answer (the harness checks a sample before timing).

Exact rules are identifiers such as ``/id/work/k3x9…`` with catalogue targets of realistic
length (50 to 120 bytes); a share of the rules are prefix rules ``/c/KEY/`` whose remainder is
appended to the target. Requests: mostly exact hits, some prefix hits with a remainder, a few
misses (404).
"""

import os
import random

KINDS = ["work", "person", "place", "concept", "item", "event"]
HOSTS = [
    "https://catalogue.example.org",
    "https://data.example.org",
    "https://collections.example.museum",
    "https://www.example.edu",
]
ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
PREFIX_SHARE = 0.02
REQUEST_SHARES = (0.90, 0.09, 0.01)  # exact hits, prefix hits, misses
MAX_REQUESTS = 100_000


def _ident(rng, n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def _exact_target(rng, kind, ident):
    host = rng.choice(HOSTS)
    shape = rng.random()
    if shape < 0.5:
        return f"{host}/{kind}s/{ident}"
    if shape < 0.8:
        return f"{host}/records/{kind}/{ident}/view?lang=en"
    year = rng.randrange(1990, 2025)
    return f"{host}/archive/{year}/{kind}/{ident}/overview/full-record.html"


def generate(workdir, n, seed=303):
    """Write the tables for ``n`` rules into ``workdir``; return a summary dict."""
    rng = random.Random(seed)
    os.makedirs(workdir, exist_ok=True)
    n_prefix = max(1, int(n * PREFIX_SHARE))
    n_exact = n - n_prefix
    exact = []  # (path, target)
    seen = set()
    while len(exact) < n_exact:
        kind = rng.choice(KINDS)
        ident = _ident(rng, 12)
        path = f"/id/{kind}/{ident}"
        if path in seen:
            continue
        seen.add(path)
        exact.append((path, _exact_target(rng, kind, ident)))
    prefixes = []  # (prefix, target)
    for i in range(n_prefix):
        key = f"{_ident(rng, 6)}{i}"
        prefixes.append((f"/c/{key}/", f"{rng.choice(HOSTS)}/collections/{key}/"))

    with open(os.path.join(workdir, "rules.csv"), "w") as csv, open(
        os.path.join(workdir, "exact.map"), "w"
    ) as emap, open(os.path.join(workdir, "prefix.map"), "w") as pmap:
        csv.write("path,prefix,to\n")
        for path, to in exact:
            csv.write(f"{path},,{to}\n")
            emap.write(f"{path} {to};\n")
        for prefix, to in prefixes:
            csv.write(f",{prefix},{to}\n")
            pmap.write(f"{prefix} {to};\n")

    n_req = min(MAX_REQUESTS, max(1000, n))
    lines = []
    for _ in range(n_req):
        r = rng.random()
        if r < REQUEST_SHARES[0]:
            path, to = rng.choice(exact)
            lines.append((path, 303, to))
        elif r < REQUEST_SHARES[0] + REQUEST_SHARES[1]:
            prefix, to = rng.choice(prefixes)
            rest = f"{_ident(rng, 4)}/{_ident(rng, 8)}.html"
            lines.append((prefix + rest, 303, to + rest))
        else:
            lines.append((f"/id/missing/{_ident(rng, 12)}", 404, ""))
    with open(os.path.join(workdir, "requests.tsv"), "w") as f:
        for path, status, to in lines:
            f.write(f"{path}\t{status}\t{to}\n")
    with open(os.path.join(workdir, "paths.txt"), "w") as f:
        for path, _, _ in lines:
            f.write(path + "\n")
    return {
        "rules": n,
        "exact": n_exact,
        "prefix": n_prefix,
        "requests": n_req,
        "max_key": max(len(p) for p, _ in exact),
    }


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=10_000, help="number of rules")
    ap.add_argument("--out", required=True, help="directory to write into")
    ap.add_argument("--seed", type=int, default=303)
    a = ap.parse_args()
    print(generate(a.out, a.rules, a.seed))
