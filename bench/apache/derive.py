"""Requests that exercise every rule of a tree of .htaccess files.

For each RewriteRule (matched against the path below its directory, mod_rewrite's per-directory
context), each RewriteCond on REQUEST_URI, each RedirectMatch and Redirect (matched against the
whole path), a few paths that its pattern matches are made from the pattern itself (Python's
regex parser; PCRE's syntax is near enough for making examples), plus each directory with and
without its trailing slash and one path below it that no pattern names.
"""

import os
import re
import re._parser as sre  # Python 3.11+
from dataclasses import dataclass, field

MAX_PER_PATTERN = 6
SAFE = "abcdefghijklmnopqrstuvwxyz0123456789-_.~"


@dataclass
class Plan:
    files: list = field(default_factory=list)
    rules: int = 0
    rules_by_dir: dict = field(default_factory=dict)
    paths: list = field(default_factory=list)
    header_names: set = field(default_factory=set)


def directives(text):
    """(line number, name, arguments) of each directive, continuation lines joined."""
    pending, start = "", 0
    for no, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = no
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if not line or line.startswith("#") or line.startswith("<"):
            continue
        yield start, line.split(None, 1)[0].lower(), split_args(line)[1:]


def split_args(line):
    """Arguments as Apache's ap_getword_conf splits them (quotes, backslash escapes)."""
    out, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        if line[i] in "\"'":
            q, i, word = line[i], i + 1, ""
            while i < n and line[i] != q:
                if line[i] == "\\" and i + 1 < n and line[i + 1] == q:
                    i += 1
                word += line[i]
                i += 1
            i += 1
        else:
            word = ""
            while i < n and line[i] not in " \t":
                word += line[i]
                i += 1
        out.append(word)
    return out


def examples(pattern, limit=MAX_PER_PATTERN):
    """Up to `limit` strings that `pattern` matches (searched, as mod_rewrite does)."""
    negate = pattern.startswith("!")
    if negate:
        return []
    try:
        parsed = sre.parse(pattern)
        compiled = re.compile(pattern, re.I if False else 0)
    except (re.error, RecursionError, OverflowError):
        return []
    out = []
    for variant in range(limit * 2):
        try:
            text = gen(parsed, variant)
        except (RecursionError, ValueError):
            continue
        if text is not None and compiled.search(text) and text not in out:
            out.append(text)
        if len(out) >= limit:
            break
    return out


def gen(items, variant):
    s = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            s.append(chr(av))
        elif name == "NOT_LITERAL":
            s.append("x" if chr(av) != "x" else "y")
        elif name == "ANY":
            s.append("x")
        elif name == "AT":
            continue
        elif name == "IN":
            s.append(pick_in(av, variant))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            count = lo if variant % 3 == 0 else (lo + 1 if variant % 3 == 1 else lo + 2)
            if hi is not sre.MAXREPEAT:
                count = min(count, hi)
            count = max(count, lo)
            for k in range(count):
                s.append(gen(sub, variant // 3 + k) or "")
        elif name == "SUBPATTERN":
            s.append(gen(av[-1], variant) or "")
        elif name == "BRANCH":
            options = av[1]
            s.append(gen(options[variant % len(options)], variant // len(options)) or "")
        elif name == "CATEGORY":
            s.append(category(av))
        elif name == "GROUPREF":
            s.append("")
        elif name in ("ASSERT", "ASSERT_NOT", "GROUPREF_EXISTS", "ATOMIC_GROUP"):
            if name == "ATOMIC_GROUP":
                s.append(gen(av, variant) or "")
            continue
        else:
            raise ValueError(name)
    return "".join(s)


def category(av):
    name = str(av)
    if "DIGIT" in name and "NOT" not in name:
        return "1"
    if "WORD" in name and "NOT" not in name:
        return "a"
    if "SPACE" in name and "NOT" not in name:
        return "%20"
    return "x"


def pick_in(items, variant):
    negated = any(str(op) == "NEGATE" for op, _ in items)
    if negated:
        banned = set()
        for op, av in items:
            if str(op) == "LITERAL":
                banned.add(chr(av))
            elif str(op) == "RANGE":
                banned.update(chr(c) for c in range(av[0], av[1] + 1))
        for c in "xyzab1":
            if c not in banned:
                return c
        return "q"
    choices = []
    for op, av in items:
        if str(op) == "LITERAL":
            choices.append(chr(av))
        elif str(op) == "RANGE":
            choices.append(chr(av[0]))
            choices.append(chr(av[1]))
        elif str(op) == "CATEGORY":
            choices.append(category(av))
    safe = [c for c in choices if c in SAFE or c in "/"] or choices or ["x"]
    return safe[variant % len(safe)]


def url_safe(text):
    """The path as a client would send it: characters outside a path percent-encoded."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "-._~/!$&'()*+,;=:@%"):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode())
    return "".join(out)


def plan(tree, dirs=None):
    """The files of `tree`, their rules, and the request paths exercising them."""
    result = Plan()
    found = []
    for root, subdirs, names in os.walk(tree):
        subdirs.sort()
        if ".htaccess" in names:
            found.append(os.path.join(root, ".htaccess"))
    found.sort(key=lambda p: (p != os.path.join(tree, ".htaccess"), p))
    if dirs is not None:
        found = found[: dirs + 1]
    result.files = found
    paths = set()
    for path in found:
        rel = os.path.relpath(os.path.dirname(path), tree)
        base = "/" if rel == "." else "/" + rel.replace(os.sep, "/") + "/"
        if base != "/":
            paths.add(base)
            paths.add(base.rstrip("/"))
        paths.add(base + "zz-unknown")
        try:
            text = open(path, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        result.rules_by_dir[base] = sum(
            1 for _, name, args in directives(text)
            if name in ("rewriterule", "rewritecond", "redirectmatch", "redirect") and args)
        for _, name, args in directives(text):
            if name == "rewriterule" and args:
                result.rules += 1
                for e in examples(args[0]):
                    paths.add(base + e.lstrip("/") if not e.startswith("/") else base + e[1:])
            elif name == "rewritecond" and len(args) >= 2 and "REQUEST_URI" in args[0]:
                for e in examples(args[1]):
                    if e.startswith("/"):
                        paths.add(e)
            elif name == "redirectmatch" and args:
                result.rules += 1
                pat = args[1] if len(args) >= 3 or (len(args) == 2 and not args[0].startswith(
                    ("/", "^"))) else args[0]
                for e in examples(pat):
                    if e.startswith("/"):
                        paths.add(e)
            elif name == "redirect" and args:
                result.rules += 1
                p = args[1] if len(args) >= 2 and not args[0].startswith("/") else args[0]
                if p.startswith("/"):
                    paths.add(p)
                    paths.add(p.rstrip("/") + "/sub")
            elif name == "header" and args:
                words = [a for a in args if a.lower() not in ("always", "onsuccess")]
                if len(words) >= 2 and words[0].lower() in ("set", "append", "add", "merge"):
                    result.header_names.add(words[1].lower().rstrip(":"))
    result.paths = sorted(url_safe(p) for p in paths if len(p) < 2000)
    return result
