#!/usr/bin/env python3
"""Runs ddpm4j's benchmark workloads in Java (JMH), C++ (LibTorch) and Python
(PyTorch) interleaved, and prints one table of median times and ratios.

Each round runs every contender once per workload, rotating their order
(A B C, B C A, C A B, ...), so slow drifts of the machine hit all of them
alike. A ratio is computed within each round and the table reports the median
of those per-round ratios next to the median times. Needs only the Python
standard library; the Python contender itself runs on /usr/bin/python3
(Debian's python3-torch).

With --libtorch-spec (bench/run --libtorch debian,2.13.0 writes them) every
contender runs once per LibTorch in the same rounds: Java on that LibTorch's
shim, C++ linked against it, Python on a torch of the same version. The output
then has a table per LibTorch and one of the ratios between them.

With --counts-spec (bench/run writes them unless --no-counts) a second table
follows: per-op counts that the machine's speed cannot move (downcalls, Java
bytes, native allocations, instructions), from OpCounts on a shim built with
DDPM4J_COUNT_CALLS and from bench/cpp's op_overhead, under callgrind for the
instructions.
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
JAVA_HOME = os.environ.get("JAVA_HOME", "")
JAVA = os.path.join(JAVA_HOME, "bin", "java") if JAVA_HOME else "java"
JMH_JAR = os.path.join(HERE, "jmh", "target", "benchmarks.jar")
CPP = os.path.join(HERE, "cpp", "build", "ddpm_bench")
PYTHON = [os.environ.get("DDPM4J_BENCH_PYTHON", "/usr/bin/python3"), os.path.join(HERE, "python", "ddpm_bench.py")]

# (name, baseline arguments, JMH benchmark regex, JMH parameters, repetition multiplier);
# the multiplier gives short workloads more repetitions (and warm-ups), so that a run
# lasts long enough for its median to outlast this machine's momentary stalls
WORKLOADS = [
    ("add16", ["--workload", "add16"], r"DowncallBenchmark\.add16$", {}, 1),
    # the same op with the result owned by an open Scope (no garbage-collector backstop);
    # the baselines free their result at once either way, so they run the same program
    ("add16 scoped", ["--workload", "add16"], r"DowncallBenchmark\.add16Scoped$", {}, 1),
    ("forward cpu-default b1", ["--workload", "forward", "--config", "cpu-default", "--batch", "1"],
     r"UNetBenchmark\.forward$", {"config": "cpu-default", "batch": "1"}, 10),
    ("forward cpu-default b16", ["--workload", "forward", "--config", "cpu-default", "--batch", "16"],
     r"UNetBenchmark\.forward$", {"config": "cpu-default", "batch": "16"}, 1),
    ("forward seed b1", ["--workload", "forward", "--config", "seed", "--batch", "1"],
     r"UNetBenchmark\.forward$", {"config": "seed", "batch": "1"}, 4),
    ("forward seed b16", ["--workload", "forward", "--config", "seed", "--batch", "16"],
     r"UNetBenchmark\.forward$", {"config": "seed", "batch": "16"}, 1),
    ("train cpu-default b32", ["--workload", "train", "--config", "cpu-default", "--batch", "32"],
     r"UNetBenchmark\.trainStep$", {"config": "cpu-default", "batch": "32"}, 1),
    ("train cpu-default b64", ["--workload", "train", "--config", "cpu-default", "--batch", "64"],
     r"UNetBenchmark\.trainStep$", {"config": "cpu-default", "batch": "64"}, 1),
    ("train seed b64", ["--workload", "train", "--config", "seed", "--batch", "64"],
     r"UNetBenchmark\.trainStep$", {"config": "seed", "batch": "64"}, 1),
    # one call of the public pipeline (DDPMPipeline.sample) against the same loop in Python; bench/cpp has no
    # reverse loop, so this row has no C++ contenders
    ("pipeline ddim50 b1", ["--workload", "sample", "--config", "cpu-default", "--batch", "1", "--sampler", "ddim", "--steps", "50"],
     r"PipelineBenchmark\.sample$", {"config": "cpu-default", "batch": "1", "steps": "50"}, 4),
]

# workloads that bench/cpp does not implement: only Java and Python run them
NO_CPP = {"sample"}


ENV = dict(os.environ)


# glibc settings that stop the main thread's heap from giving freed memory back to the kernel
# after every large free (trim) and from serving blocks up to 32 MiB (glibc's maximum) with
# fresh mmaps: the C++ contender "cpp-tuned" runs with them, "cpp" as a C++ program ships
GLIBC_TUNED = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432"


def run_baseline(cmd, args, common, extra_env=None):
    env = dict(ENV, **(extra_env or {}))
    out = subprocess.run(cmd + args + common, check=True, capture_output=True, text=True, env=env).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def run_java(regex, params, threads, device, warmup, reps, per_op, cache=True, library=None):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = f.name
    cmd = [JAVA, "--enable-native-access=ALL-UNNAMED", "-jar", JMH_JAR, regex, "-wi", str(warmup),
           "-i", str(reps), "-p", "threads=%d" % threads, "-rf", "json", "-rff", result]
    jvm = []
    if not cache:
        jvm.append("-Dddpm4j.cpuCacheLimit=0")
    if library:
        jvm.append("-Dddpm4j.library=" + library)
    if jvm:
        # JMH's -jvmArgsAppend replaces the @Fork annotation's list, so repeat its flag
        cmd += ["-jvmArgsAppend", " ".join(["--enable-native-access=ALL-UNNAMED"] + jvm)]
    if per_op:
        # three forks: the JIT's choices differ between JVMs, and one fork can land on a slow one
        cmd += ["-w", "1", "-r", "1", "-f", "3"]
    else:
        # forward passes run in sample mode, 1 s iterations (see UNetBenchmark); training steps single-shot
        cmd += ["-f", "1", "-w", "1", "-r", "1", "-p", "device=" + device]
    for k, v in params.items():
        cmd += ["-p", "%s=%s" % (k, v)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV)
    times = jmh_times(result)
    os.unlink(result)
    return times


def jmh_times(path):
    """The measured times, in ns, of the first benchmark in a JMH JSON result file (also used by gpu-check)."""
    with open(path) as f:
        metric = json.load(f)[0]["primaryMetric"]
    if "rawDataHistogram" in metric:
        # sample mode (forward passes): per fork, per iteration, [time, count] pairs of every call
        raw = [t for fork in metric["rawDataHistogram"] for it in fork for t, n in it for _ in range(int(n))]
    else:
        raw = [x for fork in metric["rawData"] for x in fork]
    scale = {"ns/op": 1.0, "us/op": 1e3, "ms/op": 1e6, "s/op": 1e9}[metric["scoreUnit"]]
    return [x * scale for x in raw]


def parse_spec(text):
    """ID,LIBRARY,CPP,PYTHON from bench/run --libtorch: a LibTorch and its three contenders."""
    parts = text.split(",")
    if len(parts) != 4:
        raise SystemExit("--libtorch-spec wants ID,LIBRARY,CPP,PYTHON, got " + text)
    return {"id": parts[0], "library": parts[1] or None, "cpp": parts[2], "python": parts[3], "blas": ""}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--threads", type=int, default=2, help="LibTorch intra-op threads for every contender (default 2)")
    p.add_argument("--warmup", type=int, default=2, help="untimed repetitions per run (default 2)")
    p.add_argument("--reps", type=int, default=5,
                   help="timed repetitions per run (default 5; the baselines' forwards at batch 1 multiply it, "
                        "see WORKLOADS; for Java's forwards it counts one-second JMH iterations)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--only", default="", help="comma-separated substrings: run only matching workloads")
    p.add_argument("--json", default="", help="also write all measurements to this file")
    p.add_argument("--cpu-cache", choices=["on", "off", "both"], default="both",
                   help="Java with ddpm4j's caching CPU allocator (its default), without it "
                        "(-Dddpm4j.cpuCacheLimit=0), or both as two contenders (default both)")
    p.add_argument("--cpp-malloc", default="plain,tuned,cache",
                   help="which C++ contenders run, comma-separated: plain (glibc's default malloc settings), "
                        "tuned (GLIBC_TUNABLES that keep freed memory mapped: " + GLIBC_TUNED + "), cache (ddpm4j's "
                        "caching CPU allocator, the one Java ships with: the shim preloaded, which installs it; needs "
                        "--libtorch-spec); 'both' is plain,tuned (default plain,tuned,cache)")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="OPENBLAS_NUM_THREADS for every contender (default: the same as --threads)")
    p.add_argument("--libtorch-spec", action="append", default=[],
                   help="ID,LIBRARY,CPP,PYTHON: run every contender on this LibTorch (bench/run --libtorch writes these)")
    p.add_argument("--counts-spec", action="append", default=[],
                   help="ID,COUNTING_LIBRARY,OP_OVERHEAD: after the timings, print per-op counts on this LibTorch "
                        "(bench/run writes these unless --no-counts)")
    a = p.parse_args()
    if a.blas_threads < 0 or a.threads < 1:
        p.error("--threads must be at least 1 and --blas-threads at least 0")
    libtorches = [parse_spec(x) for x in a.libtorch_spec] or [{"id": "", "library": None, "cpp": CPP, "python": PYTHON[0], "blas": ""}]
    # OpenBLAS keeps a thread pool of its own, sized to the cores unless told otherwise;
    # give every contender the same count, by default that of LibTorch's intra-op pool.
    blas_threads = a.blas_threads or a.threads
    ENV["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    ENV["OMP_NUM_THREADS"] = str(a.threads)
    workloads = [w for w in WORKLOADS if not a.only or any(s in w[0] for s in a.only.split(","))]
    if a.device != "cpu":
        workloads = [w for w in workloads if not w[0].startswith("add16")]
    javas = {"on": ["java"], "off": ["java-nocache"], "both": ["java", "java-nocache"]}[a.cpu_cache]
    cpp_kinds = {"plain": "cpp", "tuned": "cpp-tuned", "cache": "cpp-cache"}
    chosen = ["plain", "tuned"] if a.cpp_malloc == "both" else [c.strip() for c in a.cpp_malloc.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in cpp_kinds]
    if unknown or not chosen:
        p.error("--cpp-malloc takes plain, tuned, cache (comma-separated) or both, got " + a.cpp_malloc)
    if "cache" in chosen and not all(lt["library"] for lt in libtorches):
        print("--cpp-malloc cache needs the shim's path (bench/run --libtorch ...): C++ runs without it", file=sys.stderr)
        chosen.remove("cache")
    cpps = [cpp_kinds[c] for c in chosen]
    medians = {(lt["id"], w[0]): {k: [] for k in KINDS} for lt in libtorches for w in workloads}
    started = time.time()
    for r in range(a.rounds):
        for i in range(len(libtorches)):
            # the LibTorches take turns going first, as the contenders do
            lt = libtorches[(i + r) % len(libtorches)]
            for workload in workloads:
                run_round(r, a, lt, workload, javas, cpps, medians)
    print()
    print("ddpm4j benchmarks: %d interleaved rounds x %d reps, %d LibTorch threads, %d OpenBLAS threads, "
          "device %s, %.0f s" % (a.rounds, a.reps, a.threads, blas_threads, a.device, time.time() - started))
    print("java: ddpm4j as shipped (caching CPU allocator on); java-nc: the same with -Dddpm4j.cpuCacheLimit=0, "
          "the allocator C++ and Python use; c++t: C++ with GLIBC_TUNABLES=" + GLIBC_TUNED + "; c++c: C++ on ddpm4j's "
          "caching CPU allocator (the shim preloaded); ratios: median of the per-round ratios [min-max across rounds]")
    for lt in libtorches:
        print_table(lt, workloads, medians)
    if len(libtorches) > 1:
        print_versions(libtorches, workloads, medians)
    counts = {}
    if a.counts_spec and a.device != "cpu":
        print("\nper-op counts: skipped, they measure the CPU paths (--device %s)" % a.device)
    elif a.counts_spec:
        for spec in a.counts_spec:
            lt_id, library, harness = parse_counts_spec(spec)
            try:
                counts[lt_id] = op_counts(library, harness, a.threads)
            except subprocess.CalledProcessError as e:
                # the timings above stand (and go to --json) whatever happens here
                print("\nper-op counts on LibTorch %s failed: %s\n%s" % (lt_id, " ".join(e.cmd), (e.stderr or "")[-2000:]))
                continue
            print_counts(lt_id, counts[lt_id])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"threads": a.threads, "blas_threads": blas_threads, "rounds": a.rounds, "reps": a.reps, "device": a.device,
                       "libtorch": {lt["id"]: lt["blas"] for lt in libtorches},
                       "medians_ns": {("%s %s" % k).strip(): v for k, v in medians.items()},
                       "counts": counts}, f, indent=1)


def run_round(r, a, lt, workload, javas, cpps, medians):
    """One round of one workload on one LibTorch: every contender once, in an order that rotates per round."""
    name, args, regex, params, mult = workload
    key = (lt["id"], name)
    warmup, reps = a.warmup * mult, a.reps * mult
    common = ["--threads", str(a.threads), "--warmup", str(warmup), "--reps", str(reps), "--device", a.device]
    # add16's tensors are far below the cache's smallest block: one Java run covers it
    order = javas[:1] if name.startswith("add16") else list(javas)
    order += ([] if args[1] in NO_CPP else cpps) + ["python"]
    order = order[r % len(order):] + order[:r % len(order)]
    for who in order:
        if who.startswith("java"):
            # Java's forward passes are timed back to back for 1 s per iteration (JMH sample
            # mode): 5 s give as many calls as the multiplied repetitions or more, except
            # seed at batch 1 (about 15 calls against 20)
            java_warmup, java_reps = (a.warmup, a.reps) if "forward" in name else (warmup, reps)
            times = run_java(regex, params, a.threads, a.device, java_warmup, java_reps, name.startswith("add16"),
                             cache=who == "java", library=lt["library"])
            medians[key][who].append(statistics.median(times))
        else:
            # cpp-cache: loading the shim installs its caching CPU allocator (a static initializer), so the
            # same C++ program runs on the allocator that Java ships with
            env = {"GLIBC_TUNABLES": GLIBC_TUNED} if who == "cpp-tuned" else {"LD_PRELOAD": lt["library"]} if who == "cpp-cache" else None
            res = run_baseline([lt["python"], PYTHON[1]] if who == "python" else [lt["cpp"]], args, common, env)
            medians[key][who].append(res["median_ns"])
            lt["blas"] = "%s; loaded: %s" % (res.get("blas", ""), ", ".join(res.get("blas_libs") or []))
    print("round %d/%d  %-24s %s" % (r + 1, a.rounds, ("%s %s" % key).strip(), "  ".join(
        "%s %s" % (k, fmt(medians[key][k][-1])) for k in KINDS if medians[key][k])), file=sys.stderr, flush=True)


def print_table(lt, workloads, medians):
    print()
    if lt["id"]:
        print("LibTorch %s" % lt["id"])
    print("BLAS: " + lt["blas"])
    head = ("workload", *(LABELS[k] for k in KINDS), *("%s/%s" % (LABELS[j], LABELS[b]) for j, b in RATIOS))
    line = "%-24s" + " %10s" * len(KINDS) + " %20s" * len(RATIOS)
    print(line % head)
    for name, _, _, _, _ in workloads:
        # a contender that did not run (add16 has no cache-off run; --cpu-cache on|off runs one Java) prints "-"
        m = medians[(lt["id"], name)]
        print(line % (name, *(fmt(median_or_none(m[k])) for k in KINDS),
                      *(ratio_cell(m[j], m[b]) for j, b in RATIOS)))


def print_versions(libtorches, workloads, medians):
    """Each contender on every LibTorch against itself on the first: medians of per-round ratios, and their range."""
    base = libtorches[0]["id"]
    print()
    print("per-round ratios against LibTorch %s: median [min, max]" % base)
    line = "%-24s %-10s" + " %24s" * len(KINDS)
    print(line % ("workload", "LibTorch", *KINDS))
    for lt in libtorches[1:]:
        for name, _, _, _, _ in workloads:
            cells = []
            for k in KINDS:
                num, den = medians[(lt["id"], name)][k], medians[(base, name)][k]
                per_round = [x / y for x, y in zip(num, den)]
                cells.append("%.3f [%.3f, %.3f]" % (statistics.median(per_round), min(per_round), max(per_round))
                             if per_round else "-")
            print(line % (name, lt["id"], *cells))


def parse_counts_spec(text):
    """ID,COUNTING_LIBRARY,OP_OVERHEAD from bench/run: a LibTorch, its shim built with DDPM4J_COUNT_CALLS, the harness."""
    parts = text.split(",")
    if len(parts) != 3:
        raise SystemExit("--counts-spec wants ID,LIBRARY,OP_OVERHEAD, got " + text)
    return parts


# op_overhead's ops per path: natively (allocation counts), and under callgrind (instructions), where
# an add16 runs about 50x slower; the counts are exact either way, the ops only average out the
# allocator's occasional work (a glibc heap growing, the caching allocator's map)
HARNESS_OPS, CALLGRIND_OPS, CALLGRIND_WARMUP = 100000, 2000, 200
# the harness's paths: Java's add16 without and with a scope, and bare ATen
JAVA_PATHS = {"add16": "shim-unscoped", "add16 scoped": "shim-scoped"}


def op_counts(library, harness, threads):
    """Per workload: downcalls and Java bytes per op (OpCounts), and for add16 native allocations and
    instructions per op on Java's path and on bare ATen (op_overhead)."""
    # -Xbatch: the JIT compiles in the foreground, so what it inlines (and so the bytes) does not depend on timing
    cmd = [JAVA, "-Xbatch", "--enable-native-access=ALL-UNNAMED", "-Dddpm4j.library=" + library, "-cp", JMH_JAR,
           "io.github.ddpm4j.bench.OpCounts", "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV).stdout
    rows = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            rows[r["workload"]] = {"downcalls": r["downcalls_per_op"], "java_bytes": r["java_bytes_per_op"]}
    native = run_harness([harness], library, threads, HARNESS_OPS, 1000)
    instr = callgrind_instructions(harness, library, threads)
    for workload, path in JAVA_PATHS.items():
        row = rows.setdefault(workload, {"downcalls": None, "java_bytes": None})
        row["allocs_java"] = native[path]["allocs_per_op"]
        row["allocs_cpp"] = native["aten"]["allocs_per_op"]
        row["harness_downcalls"] = native[path]["downcalls_per_op"]
        row["instr_java"] = instr.get(path)
        row["instr_cpp"] = instr.get("aten")
    return rows


def run_harness(prefix, library, threads, ops, warmup):
    """op_overhead's paths by name, from its JSON line; prefix is the command before the library's arguments."""
    out = subprocess.run(prefix + ["--lib", library, "--ops", str(ops), "--warmup", str(warmup), "--threads", str(threads)],
                         check=True, capture_output=True, text=True, env=ENV).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return {p["path"]: p for p in json.loads(line)["paths"]}


def callgrind_instructions(harness, library, threads):
    """Instructions per op of each harness path under callgrind: op_overhead writes one dump per path
    (CALLGRIND_DUMP_STATS_AT), whose summary line counts the instructions of its measured ops. {} without valgrind,
    or when it fails."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        print("per-op counts: no valgrind on the PATH, so no instruction counts", file=sys.stderr)
        return {}
    with tempfile.TemporaryDirectory() as d:
        base = os.path.join(d, "callgrind.out")
        try:
            run_harness([valgrind, "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + base, harness],
                        library, threads, CALLGRIND_OPS, CALLGRIND_WARMUP)
        except subprocess.CalledProcessError as e:
            print("per-op counts: op_overhead failed under callgrind, so no instruction counts:\n" + (e.stderr or "")[-2000:],
                  file=sys.stderr)
            return {}
        out = {}
        for path in glob.glob(base + "*"):
            with open(path, errors="replace") as f:
                text = f.read()
            name = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
            # summary: the dump's event count; totals, the sum of its cost lines, differs by a few per op
            total = re.search(r"^summary: (\d+)", text, re.M) or re.search(r"^totals: (\d+)", text, re.M)
            if name and total:
                out[name.group(1)] = int(total.group(1)) / CALLGRIND_OPS
        return out


def print_counts(lt_id, rows):
    print()
    print("per-op counts%s: downcalls and Java bytes allocated per op (OpCounts on a shim built with DDPM4J_COUNT_CALLS); "
          "native heap allocations and instructions per op (bench/cpp/op_overhead; instructions under callgrind), "
          "on Java's path through the shim and on bare ATen (c++)" % (" on LibTorch %s" % lt_id if lt_id else ""))
    head = ("workload", "downcalls", "java B", "allocs java", "allocs c++", "instr java", "instr c++", "java/c++")
    line = "%-24s %9s %10s %11s %10s %10s %10s %8s"
    print(line % head)

    def cell(x, f):
        return "-" if x is None else f % x

    for name, r in rows.items():  # in OpCounts' order
        ij, ic = r.get("instr_java"), r.get("instr_cpp")
        print(line % (name, cell(r["downcalls"], "%.1f"), cell(r["java_bytes"], "%.0f"), cell(r.get("allocs_java"), "%.1f"),
                      cell(r.get("allocs_cpp"), "%.1f"), cell(ij, "%.0f"), cell(ic, "%.0f"),
                      cell(ij / ic if ij and ic else None, "%.3f")))
    for name, r in rows.items():
        hd, d = r.get("harness_downcalls"), r["downcalls"]
        if hd is not None and d is not None and abs(hd - d) > 0.01:
            print("warning: %s makes %.2f downcalls per op in Java but %.2f in op_overhead's copy of its sequence: "
                  "update java_add16_* in bench/cpp/op_overhead.cpp" % (name, d, hd))


def median_or_none(values):
    return statistics.median(values) if values else None


def ratio_cell(num, den):
    """The median of the per-round ratios num/den and their range across rounds, or "-"."""
    if not num or not den:
        return "-"
    per_round = [x / y for x, y in zip(num, den)]
    return "%.3f [%.2f-%.2f]" % (statistics.median(per_round), min(per_round), max(per_round))


KINDS = ("java", "java-nocache", "cpp", "cpp-tuned", "cpp-cache", "python")
LABELS = {"java": "java", "java-nocache": "nc", "cpp": "c++", "cpp-tuned": "c++t", "cpp-cache": "c++c", "python": "py"}
# the ratios of the table, numerator and denominator
RATIOS = (("java", "cpp"), ("java", "cpp-tuned"), ("java", "cpp-cache"), ("java", "python"),
          ("java-nocache", "cpp"), ("java-nocache", "python"))


def fmt(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return "%.1f ns" % ns
    if ns < 1e6:
        return "%.2f us" % (ns / 1e3)
    if ns < 1e9:
        return "%.2f ms" % (ns / 1e6)
    return "%.2f s" % (ns / 1e9)


if __name__ == "__main__":
    main()
