#!/usr/bin/env python3
"""llguidance on the MaskBench cases, measured the way `rein mask-bench` measures.

Run it on the same machine and case files as `rein mask-bench` and compare
the two summaries as ratios; absolute numbers from other machines (or from
the MaskBench README) are not comparable.

Setup (any Python >= 3.9):

    python3 -m venv /tmp/llg-venv
    /tmp/llg-venv/bin/pip install llguidance==1.9.1 tokenizers
    /tmp/llg-venv/bin/python benches/llguidance_compare.py \
        --tokenizer llama3 --out /tmp/llg-llama3.jsonl /path/to/maskbench-dev

What is measured, per case file (a JSON object with "schema" and "tests"),
following crates/cli/src/mask_bench.rs (`run_case`, `feed`,
`compile_schema`, `python_dumps`, `Summary`):

* TTFM: time to compile the schema for the tokenizer. In llguidance that is
  `LLMatcher.grammar_from_json_schema` (which only wraps the schema text)
  plus the `LLMatcher` constructor, which compiles the JSON schema, the
  grammar and the lexer. As in rein, the first mask is NOT part of TTFM; it
  is the first TBM sample. The schema is serialized to JSON text before the
  clock starts (rein starts from an already parsed value; llguidance's
  Python API takes text or a dict, and text is the cheaper of the two).
  `ttfm_first_mask_us` in the JSONL adds the first mask of the first
  instance, for readers who define TTFM that way.
* TBM: every test instance of the case, valid and invalid, is serialized
  like Python's `json.dumps(data, ensure_ascii=False, separators=(", ",
  ": "))` (keys in file order, floats as `repr`), tokenized with the
  tokenizer.json through the `tokenizers` package without special tokens,
  and fed token by token into a matcher in its initial state. One TBM
  sample per token = fill the mask + check the token's bit + consume the
  token (consumed only when allowed). After the last token one more sample:
  fill the mask + check that an EOS token is allowed. A valid instance must
  be accepted whole with EOS allowed at the end; an invalid one must be
  rejected (a token not allowed, or no EOS at the end). Feeding stops at
  the first refused token, whose sample still counts.
* Statuses as in rein: passing, compile_error (the schema did not compile,
  or the case file could not be read: no TTFM, no TBM), validation_error (a
  valid instance rejected), invalidation_error (an invalid one accepted;
  it outranks validation_error), timeout (compile plus instances over
  --timeout-s, default 60 s, checked between tokens like rein; a native
  call cannot be interrupted), panic (an exception out of llguidance).
* Percentiles as rein: sort all samples, take index int(n * p / 100).
  TBM percentiles pool the samples of all cases; TTFM ones take one sample
  per compiled case.
* Single thread, one case after another, files sorted by path
  (--every K takes every K-th of them, --limit N the first N of those).

--compare-with REIN_JSONL reads the --out file of `rein mask-bench` over
the same cases and prints both engines side by side on the cases both
pass: TTFM percentiles, and TBM from the per-case avg and max (all that
rein's lines hold) on the cases fed the same number of tokens (an invalid
instance may be refused at different tokens). --compare-only LLG_JSONL
does that from an earlier run of this script without running again.

How it matches rein's setup:

* The EOS set is rein's: the tokenizer_config.json `eos_token` next to the
  tokenizer.json, plus the special added tokens among rein's well-known
  end-of-sequence names; it is given to `LLTokenizer(eos_token=[...])`.
* Between the instances of one case rein builds a fresh matcher on the
  shared compiled grammar, whose lexer cache stays warm. Here the case's
  one matcher is `reset()` (rolled back to its initial state, keeping its
  lexer cache); only when that fails (a matcher in the error state cannot
  be reset) is a new `LLMatcher` built, untimed.
* The mask is filled by `LLMatcher.unsafe_compute_mask_ptr` into a
  preallocated bytearray: the call under `llguidance.numpy
  .fill_next_token_bitmask` without its per-call numpy checks and slicing.
  A filled mask in the error state allows EOS only, so a final EOS counts
  as acceptance only when the matcher is not in the error state (checked
  after the timed region).
* A throw-away schema is compiled and masked once before the first case so
  that one-time initialization is not charged to it (rein's first case
  pays its own; that changes at most the max).
* Python's garbage collector is off during the run (collected between
  cases) so that its pauses do not land in timed regions.

Known differences that remain (report them with the numbers):

* Python overhead: each TBM sample includes two `perf_counter_ns` calls,
  two calls into the extension (fill, consume) and a bytearray bit test;
  each TTFM two calls. The script measures the harness overhead (a timed
  region with two trivial extension calls and the bit test) before the run
  and prints it; rein's timer overhead is a few tens of nanoseconds.
* Grammars differ, not only engines. With their defaults both allow
  flexible JSON whitespace and additional properties (a missing
  `additionalProperties` means true), but llguidance requires declared
  properties in the order of `properties` (additional ones after them),
  while rein's mask-bench default (--key-order any) accepts any order; and
  llguidance rejects integers written with a fraction (`1.0`) and fails to
  compile unknown `format`s, where rein accepts and ignores. With its
  defaults llguidance also refuses `not`, `oneOf` (unless coerce_one_of),
  `dependencies`, `uniqueItems`, `if`/`then`, `contains`, `propertyNames`
  (compile_error); --llg-options changes its options. Compare pass/fail
  counts accordingly and timings on cases both pass (--compare-with).
* llguidance counts every added token of a tokenizer.json as special and
  never allows one in text, also those marked `"special": false` (gemma3's
  `<h1>`, `</iframe>`, ...), which the tokenizer does produce from text:
  instances holding such text are validation errors there.
* Tokenization uses the `tokenizers` package of this venv, rein the
  `tokenizers` crate; the same tokenizer.json gives the same ids.
* rein reads the cases with serde_json (no arbitrary precision): integers
  beyond 64 bits become floats; that is mirrored. NaN/Infinity literals,
  which serde_json refuses, are refused here too (compile_error).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

try:
    import llguidance
    from tokenizers import Tokenizer
except ImportError as e:  # pragma: no cover - setup problem
    sys.exit(f"{e}: install llguidance==1.9.1 and tokenizers (see the top of this file)")

# rein's WELL_KNOWN_EOS (crates/vocab/src/vocabulary.rs): special tokens with
# these names end a sequence.
WELL_KNOWN_EOS = (
    "</s>",
    "<eos>",
    "<end_of_turn>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|end|>",
    "<|return|>",
)

# Status names, in rein's order of severity (a later one replaces an
# earlier one as the case's status).
PASSING = "passing"
COMPILE_ERROR = "compile_error"
VALIDATION_ERROR = "validation_error"
INVALIDATION_ERROR = "invalidation_error"
TIMEOUT = "timeout"
PANIC = "panic"
SEVERITY = [PASSING, COMPILE_ERROR, VALIDATION_ERROR, INVALIDATION_ERROR, TIMEOUT, PANIC]
# The order of the count rows in rein's table.
TABLE_STATUSES = [PASSING, COMPILE_ERROR, TIMEOUT, VALIDATION_ERROR, INVALIDATION_ERROR, PANIC]

PERCENTILES = [
    ("p25", 25.0),
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p100", 100.0),
]

now_ns = time.perf_counter_ns


# ---------------------------------------------------------------- inputs


def collect_files(paths: list[str]) -> list[Path]:
    """`.json` files under `paths` (folders walked recursively), sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(f for f in p.rglob("*.json") if f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            sys.exit(f"{p} does not exist")
    return sorted(out)


def resolve_tokenizer(name_or_path: str, explicit: str | None) -> Path:
    """The tokenizer.json: --tokenizer-json, a path, or a cached name."""
    if explicit:
        return Path(explicit)
    p = Path(name_or_path)
    if p.is_file():
        return p
    roots = [os.environ.get(v) for v in ("REIN_HOME", "REIN_CACHE")]
    roots = [Path(r) for r in roots if r] + [Path.home() / ".cache" / "rein"]
    for root in roots:
        candidate = root / name_or_path / "tokenizer.json"
        if candidate.is_file():
            return candidate
    sys.exit(f"no tokenizer.json for {name_or_path!r} under {', '.join(map(str, roots))}")


def eos_ids(tokenizer_json: dict, path: Path) -> list[int]:
    """rein's EOS set for this tokenizer.json (see WELL_KNOWN_EOS)."""
    added = tokenizer_json.get("added_tokens") or []
    by_text = {a["content"]: a["id"] for a in added}
    vocab = (tokenizer_json.get("model") or {}).get("vocab") or {}
    ids = set()
    config = path.with_name("tokenizer_config.json")
    if config.is_file():
        eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
        if isinstance(eos, dict):
            eos = eos.get("content")
        if isinstance(eos, str):
            tid = by_text.get(eos)
            if tid is None and isinstance(vocab, dict):
                tid = vocab.get(eos)
            if tid is not None:
                ids.add(tid)
    for a in added:
        if a.get("special") and a["content"] in WELL_KNOWN_EOS:
            ids.add(a["id"])
    return sorted(ids)


def parse_int_like_serde(text: str):
    """serde_json without arbitrary precision: integers beyond 64 bits are
    parsed as floats (and then written as Python float reprs)."""
    v = int(text)
    if -(2**63) <= v < 2**64:
        return v
    return float(text)


def refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_case(path: Path) -> dict:
    case = json.loads(
        path.read_text(encoding="utf-8"),
        parse_int=parse_int_like_serde,
        parse_constant=refuse_constant,
    )
    if not isinstance(case, dict) or "schema" not in case:
        raise ValueError('no "schema" in the case')
    if not isinstance(case.get("tests"), list):
        raise ValueError('no "tests" array in the case')
    return case


def python_dumps(value) -> str:
    """What rein feeds: json.dumps with ", " and ": " separators."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# ---------------------------------------------------------------- the engine


class Engine:
    """An llguidance tokenizer plus a preallocated mask buffer."""

    def __init__(self, tokenizer_path: Path, json_options: dict | None = None):
        # llguidance's JsonCompileOptions (None: its defaults).
        self.json_options = json_options or None
        text = tokenizer_path.read_text(encoding="utf-8")
        self.eos = eos_ids(json.loads(text), tokenizer_path)
        t0 = time.perf_counter()
        # A tokenizer.json text is accepted directly; no transformers needed.
        self.tok = llguidance.LLTokenizer(text, eos_token=self.eos or None)
        self.build_s = time.perf_counter() - t0
        self.eos = list(self.tok.eos_tokens)
        self.hf = Tokenizer.from_str(text)
        self.hf.encode("{}", add_special_tokens=False)
        words = (self.tok.vocab_size + 31) // 32
        self.mask = bytearray(words * 4)
        self.mask_len = len(self.mask)
        self._mask_c = (ctypes.c_ubyte * self.mask_len).from_buffer(self.mask)
        self.mask_ptr = ctypes.addressof(self._mask_c)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def new_matcher(self, grammar: str):
        return llguidance.LLMatcher(self.tok, grammar, log_level=0)

    def warm_up(self) -> None:
        g = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
        )
        m = self.new_matcher(g)
        for t in self.encode(python_dumps({"a": "warm"})):
            m.unsafe_compute_mask_ptr(self.mask_ptr, self.mask_len)
            m.consume_token(t)
        m.unsafe_compute_mask_ptr(self.mask_ptr, self.mask_len)


# ---------------------------------------------------------------- one case


def feed(engine: Engine, m, tokens: list[int], times: list[int], deadline: int):
    """Feeds `tokens` (mask, check, consume), then checks EOS. Appends one
    sample (ns) per mask to `times`. Returns (accepted, reason, timed_out)."""
    fill = m.unsafe_compute_mask_ptr
    consume = m.consume_token
    ptr, size, mask = engine.mask_ptr, engine.mask_len, engine.mask
    for i, t in enumerate(tokens):
        start = now_ns()
        fill(ptr, size)
        allowed = (mask[t >> 3] >> (t & 7)) & 1
        ok = bool(allowed) and consume(t)
        times.append(now_ns() - start)
        if not ok:
            piece = engine.hf.id_to_token(t)
            if m.is_error():
                why = f"error: {m.get_error()[:200]}"
            elif allowed:
                why = "allowed by the mask but refused by consume_token"
            else:
                why = "not allowed"
            return False, f"token #{i} {piece!r}: {why}", False
        if now_ns() > deadline:
            return False, "timeout", True
    start = now_ns()
    fill(ptr, size)
    eos = any((mask[e >> 3] >> (e & 7)) & 1 for e in engine.eos)
    times.append(now_ns() - start)
    if not eos or m.is_error():
        reason = m.get_error()[:200] if m.is_error() else "EOS not allowed at the end"
        return False, reason, False
    return True, "", False


def run_case(engine: Engine, path: Path, timeout_ns: int) -> dict:
    r = {
        "file": path.name,
        "status": PASSING,
        "ttfm_ns": None,
        "first_mask_ns": None,
        "tbm": [],
        "message": "",
    }
    try:
        case = read_case(path)
    except Exception as e:  # rein: "cannot read the case" is a compile error
        r.update(status=COMPILE_ERROR, message=f"cannot read the case: {e}")
        return r
    try:
        schema_text = json.dumps(case["schema"], ensure_ascii=False)
    except Exception as e:
        r.update(status=COMPILE_ERROR, message=f"cannot serialize the schema: {e}")
        return r
    # The instances' tokens are prepared before the clock starts, like
    # rein's (untimed) encode calls.
    instances = []
    for t in case["tests"]:
        valid = t.get("valid") is True if isinstance(t, dict) else False
        data = t.get("data") if isinstance(t, dict) else None
        text = python_dumps(data)
        instances.append((valid, text, engine.encode(text)))

    started = now_ns()
    deadline = started + timeout_ns
    try:
        t0 = now_ns()
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            schema_text, defaults=engine.json_options
        )
        m = engine.new_matcher(grammar)
        ttfm = now_ns() - t0
        error = m.get_error() if m.is_error() else ""
    except BaseException as e:  # a ValueError, or a Rust panic from pyo3
        if isinstance(e, KeyboardInterrupt):
            raise
        error, ttfm = f"{type(e).__name__}: {e}", now_ns() - t0
    if error:
        r.update(status=TIMEOUT if ttfm > timeout_ns else COMPILE_ERROR, message=error[:500])
        return r
    r["ttfm_ns"] = ttfm

    status, message = PASSING, ""
    timed_out = ttfm > timeout_ns
    fresh = True
    try:
        for i, (valid, text, tokens) in enumerate(instances):
            if timed_out:
                break
            if not fresh and not m.reset():
                m = engine.new_matcher(grammar)
            fresh = False
            before = len(r["tbm"])
            accepted, reason, timed_out = feed(engine, m, tokens, r["tbm"], deadline)
            if r["first_mask_ns"] is None and len(r["tbm"]) > before:
                r["first_mask_ns"] = r["tbm"][before]
            if timed_out:
                break
            bad = None
            if valid and not accepted:
                bad = VALIDATION_ERROR
            elif not valid and accepted:
                bad = INVALIDATION_ERROR
            if bad and SEVERITY.index(bad) > SEVERITY.index(status):
                status = bad
                if valid:
                    message = f"valid instance #{i} rejected: {reason}"
                else:
                    message = f"invalid instance #{i} accepted: {text[:300]}"
        if r["first_mask_ns"] is None and not timed_out:
            # A case without instances: time one mask anyway, only for
            # ttfm_first_mask_us (not a TBM sample).
            start = now_ns()
            m.unsafe_compute_mask_ptr(engine.mask_ptr, engine.mask_len)
            r["first_mask_ns"] = now_ns() - start
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        r.update(status=PANIC, message=f"{type(e).__name__}: {e}"[:500])
        return r
    if timed_out:
        status, message = TIMEOUT, f"over {timeout_ns // 10**9} s"
    r.update(status=status, message=message)
    return r


def case_line(r: dict) -> dict:
    """The JSONL record of a case (times in µs, rounded to 0.1 as rein)."""

    def us(ns):
        return None if ns is None else round(ns / 100.0) / 10.0

    tbm = r["tbm"]
    first = None
    if r["ttfm_ns"] is not None and r["first_mask_ns"] is not None:
        first = us(r["ttfm_ns"] + r["first_mask_ns"])
    return {
            "file": r["file"],
            "status": r["status"],
            "ttfm_us": us(r["ttfm_ns"]),
            "tbm_max_us": us(max(tbm)) if tbm else None,
            "tokens": len(tbm),
            "tbm_avg_us": us(sum(tbm) / len(tbm)) if tbm else None,
            "ttfm_first_mask_us": first,
            "message": r["message"],
    }


# ---------------------------------------------------------------- overhead


def measure_overhead(engine: Engine, n: int) -> dict:
    """The harness's own cost per TBM sample, in ns: an empty timed region,
    and one with what surrounds the real work (two trivial calls into the
    extension and the bit test)."""
    m = engine.new_matcher(llguidance.LLMatcher.grammar_from_json_schema('{"type": "string"}'))
    mask = engine.mask
    trivial = m.is_error
    t = engine.tok.vocab_size - 1
    empty, calls = [], []
    for _ in range(n):
        start = now_ns()
        empty.append(now_ns() - start)
    for _ in range(n):
        start = now_ns()
        trivial()
        allowed = (mask[t >> 3] >> (t & 7)) & 1
        _ = bool(allowed) and trivial()
        calls.append(now_ns() - start)
    empty.sort()
    calls.sort()
    return {
        "timer_p50_ns": empty[n // 2],
        "harness_p50_ns": calls[n // 2],
        "harness_p99_ns": calls[int(n * 0.99)],
        "harness_mean_ns": round(statistics.fmean(calls)),
    }


# ---------------------------------------------------------------- summary


def at_percentile(xs: list, p: float):
    if not xs:
        return None
    return xs[min(int(len(xs) * p / 100.0), len(xs) - 1)]


def fmt_us(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f} µs" if x >= 100.0 else f"{x:.1f} µs"


def summarize(results: list[dict]) -> dict:
    tbm = sorted(t for r in results for t in r["tbm"])
    ttfm = sorted(r["ttfm_ns"] for r in results if r["ttfm_ns"] is not None)
    first = sorted(
        r["ttfm_ns"] + r["first_mask_ns"]
        for r in results
        if r["ttfm_ns"] is not None and r["first_mask_ns"] is not None
    )
    counts = {s: 0 for s in SEVERITY}
    for r in results:
        counts[r["status"]] += 1

    def stats(xs):
        out = {"avg": (sum(xs) / len(xs) / 1e3) if xs else None}
        for label, p in PERCENTILES:
            v = at_percentile(xs, p)
            out[label] = None if v is None else v / 1e3
        return out

    return {
        "tbm_us": stats(tbm),
        "ttfm_us": stats(ttfm),
        "ttfm_first_mask_us": stats(first),
        "tokens": len(tbm),
        "schemas": len(results),
        "counts": counts,
    }


def table(s: dict) -> str:
    rows = []
    for name, key in (("TBM", "tbm_us"), ("TTFM", "ttfm_us")):
        rows.append((f"{name} avg", fmt_us(s[key]["avg"])))
        for label, _ in PERCENTILES:
            rows.append((f"{name} {label}", fmt_us(s[key][label])))
    rows.append(("tokens", str(s["tokens"])))
    rows.append(("schemas", str(s["schemas"])))
    for st in TABLE_STATUSES:
        rows.append((st.replace("_", " "), str(s["counts"][st])))
    w = max(len(a) for a, _ in rows)
    v = max(len(b) for _, b in rows)
    lines = [f"| {'':{w}} | {'value':>{v}} |", f"|{'-' * (w + 2)}|{'-' * (v + 1)}:|"]
    lines += [f"| {a:{w}} | {b:>{v}} |" for a, b in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- comparison


def read_jsonl(path: str) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {d["file"]: d for d in map(json.loads, filter(str.strip, f))}


def compare(rein: dict[str, dict], llg: dict[str, dict]) -> str:
    """rein's and llguidance's per-case lines side by side, on the cases
    both pass. TTFM on all of them; TBM (from per-case avg and max, which is
    all rein's JSONL holds) on those fed the same number of tokens, i.e.
    where both refused every invalid instance at the same token."""
    common = [
        f
        for f in sorted(rein.keys() & llg.keys())
        if rein[f]["status"] == PASSING and llg[f]["status"] == PASSING
    ]
    same = [f for f in common if rein[f]["tokens"] == llg[f]["tokens"] and rein[f]["tokens"]]
    rows = [("cases passing in both", str(len(common)), "", "")]
    rows.append(("  of which fed the same tokens", str(len(same)), "", ""))

    def add(label, fn, files):
        a, b = fn(rein, files), fn(llg, files)
        ratio = f"{b / a:.2f}x" if a and b is not None else "-"
        rows.append((label, fmt_us(a), fmt_us(b), ratio))

    def pct(key, p):
        return lambda src, files: at_percentile(sorted(src[f][key] for f in files), p)

    for label, p in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)):
        add(f"TTFM {label}", pct("ttfm_us", p), common)
    add("TTFM avg", lambda src, fs: statistics.fmean(src[f]["ttfm_us"] for f in fs) if fs else None, common)

    def tbm_mean(src, files):
        n = sum(src[f]["tokens"] for f in files)
        return sum(src[f]["tbm_avg_us"] * src[f]["tokens"] for f in files) / n if n else None

    add("TBM mean (same tokens)", tbm_mean, same)
    for key, name in (("tbm_avg_us", "avg"), ("tbm_max_us", "max")):
        for label, p in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0)):
            add(f"per-case TBM {name} {label}", pct(key, p), same)
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("", "rein", "llguidance", "llg/rein")
    w = [max(w[i], len(head[i])) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w[0]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head)) + " |"]
    lines.append("|" + "|".join("-" * (w[0] + 2) if i == 0 else "-" * (w[i] + 1) + ":" for i in range(4)) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(
        description="llguidance on MaskBench cases, measured like `rein mask-bench`."
    )
    ap.add_argument("paths", nargs="*", help="MaskBench case files, or folders of them")
    ap.add_argument(
        "--tokenizer",
        default="llama3",
        help="a name cached under $REIN_HOME, $REIN_CACHE or ~/.cache/rein "
        "(llama3, qwen3, gemma3), or a path to a tokenizer.json",
    )
    ap.add_argument("--tokenizer-json", help="the tokenizer.json to use (overrides --tokenizer)")
    ap.add_argument("--out", help="write one JSON line per case here")
    ap.add_argument("--limit", type=int, help="run at most N cases (after --every)")
    ap.add_argument("--every", type=int, default=1, help="take every K-th file")
    ap.add_argument("--timeout-s", type=int, default=60, help="per-case limit, as rein")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--no-warmup", action="store_true", help="skip the warm-up compile")
    ap.add_argument(
        "--llg-options",
        type=json.loads,
        help='llguidance JSON compile options as JSON, e.g. \'{"coerce_one_of": true}\' '
        "(default: llguidance's defaults)",
    )
    ap.add_argument(
        "--compare-with",
        metavar="REIN_JSONL",
        help="after the run, compare with the --out file of `rein mask-bench` on the same cases",
    )
    ap.add_argument(
        "--compare-only",
        metavar="LLG_JSONL",
        help="do not run: compare this script's earlier --out file with --compare-with",
    )
    ap.add_argument(
        "--overhead-samples", type=int, default=200_000, help="iterations of the overhead loop"
    )
    args = ap.parse_args()

    if args.compare_only:
        if not args.compare_with:
            sys.exit("--compare-only needs --compare-with")
        print(compare(read_jsonl(args.compare_with), read_jsonl(args.compare_only)), end="")
        return 0
    if not args.paths:
        sys.exit("no case files or folders given")
    files = collect_files(args.paths)[:: max(args.every, 1)]
    if args.limit is not None:
        files = files[: args.limit]
    if not files:
        sys.exit("no .json files found in the given paths")

    tok_path = resolve_tokenizer(args.tokenizer, args.tokenizer_json)
    engine = Engine(tok_path, args.llg_options)
    if not args.no_warmup:
        engine.warm_up()
    overhead = measure_overhead(engine, args.overhead_samples)
    info = {
        "llguidance": llguidance.get_version(),
        "python": platform.python_version(),
        "tokenizer": str(tok_path),
        "vocab_size": engine.tok.vocab_size,
        "eos": engine.eos,
        "tokenizer_build_s": round(engine.build_s, 3),
        "json_options": engine.json_options,
        "cases": len(files),
        "load_avg_start": os.getloadavg(),
        "overhead": overhead,
    }
    print(json.dumps(info), file=sys.stderr)

    out = open(args.out, "w", encoding="utf-8") if args.out else None
    results = []
    timeout_ns = args.timeout_s * 10**9
    t_start = time.perf_counter()
    gc.collect()
    gc.disable()
    try:
        for i, f in enumerate(files, 1):
            r = run_case(engine, f, timeout_ns)
            results.append(r)
            if out:
                out.write(json.dumps(case_line(r), ensure_ascii=False) + "\n")
                out.flush()
            if i % 64 == 0:
                gc.collect()
            if i % 250 == 0 or i == len(files):
                el = time.perf_counter() - t_start
                eta = el / i * (len(files) - i)
                print(f"{i}/{len(files)} {el:.0f} s, eta {eta:.0f} s", file=sys.stderr)
    finally:
        gc.enable()
        if out:
            out.close()
    wall = time.perf_counter() - t_start

    s = summarize(results)
    s["run"] = dict(info, wall_s=round(wall, 1), load_avg_end=os.getloadavg())
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print(table(s), end="")
        f = s["ttfm_first_mask_us"]
        print(
            f"TTFM including the first mask: p50 {fmt_us(f['p50'])}, "
            f"p99 {fmt_us(f['p99'])}, avg {fmt_us(f['avg'])}"
        )
        print(
            f"harness overhead per TBM sample: p50 {overhead['harness_p50_ns']} ns "
            f"(timer pair alone {overhead['timer_p50_ns']} ns), "
            f"p99 {overhead['harness_p99_ns']} ns"
        )
        print(f"wall time {wall:.1f} s for {len(files)} cases ({info['llguidance']})")
    if args.compare_with:
        mine = {r["file"]: case_line(r) for r in results}
        print()
        print(compare(read_jsonl(args.compare_with), mine), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
