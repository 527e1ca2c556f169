#!/usr/bin/env python3
"""Side-by-side: Kiln against PyTorch (eager, torch.compile default and reduce-overhead) on the same models.

For each model: build it with random weights from a fixed seed (no downloads), export it to ONNX (opset 17,
TorchScript exporter; for one transformer also the dynamo exporter at opset 18), compute reference outputs with
ONNX Runtime on the CPU in fp32, run Kiln on the same ONNX file (compiled with --dtype fp16 / fp32, through
dev.kiln.bench.ModelBench in ONE JVM for the whole run), time PyTorch the same way, and print one table.

Timing, both sides: CUDA events around one inference with inputs already on the GPU and outputs left there,
median of --runs after --warmup. PyTorch: one call of the module (torch.compile: of the compiled module; its
first call, the compilation, is timed separately). Kiln: one replay of its CUDA graph (the graph's own copies
between the input/output buffers and its arena included; no host transfers). Kiln's cold start is the wall time
of import + compile, then the first run (kernel compilation or cache load, allocation, weights upload, graph
capture), inside the JVM (the JVM start is not counted).

Run on the accelerator from the repository root after ../shared/gpu/pack (see docs/performance.md):
    python3 bench/harness/side_by_side.py --out $OUT
Everything but the helpers at the top imports torch lazily, so the pure parts can be tested with numpy alone
(bench/harness/test_side_by_side.py).
"""
import argparse
import datetime
import gc
import json
import math
import os
import platform
import queue
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback

# ---------------------------------------------------------------- pure helpers (numpy at most)

DTYPES = ("fp32", "fp16", "bf16")
TORCH_MODES = ("eager", "default", "reduce-overhead")


def rel_l2(got, want):
    """||got - want|| / ||want|| in float64; inf on a shape mismatch, nan if either has a NaN."""
    import numpy as np
    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        return math.inf
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(w))):
        return math.nan
    den = float(np.linalg.norm(w.ravel()))
    num = float(np.linalg.norm((g - w).ravel()))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


def rms(x):
    import numpy as np
    a = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


# Below this RMS an output is too small to compare in fp16 (half's smallest normal is 6.1e-5, and relative
# errors of values near its subnormals are meaningless): MobileNetV2's random-init logits are ~1e-9.
DEGENERATE_RMS = 1e-3


def is_degenerate(x):
    return rms(x) < DEGENERATE_RMS


def ratio(kiln_ms, torch_ms):
    if kiln_ms is None or torch_ms is None or torch_ms <= 0:
        return None
    return kiln_ms / torch_ms


def best(*values):
    vs = [v for v in values if v is not None]
    return min(vs) if vs else None


def median(xs):
    return statistics.median(xs) if xs else None


def parse_list(text, allowed=None, what="value"):
    items = [t.strip() for t in text.split(",") if t.strip()] if text else []
    if allowed is not None:
        bad = [t for t in items if t not in allowed]
        if bad:
            raise SystemExit("unknown %s %s (known: %s)" % (what, ", ".join(bad), ", ".join(allowed)))
    return items


class Budget:
    """A global time budget: a step runs only if its estimate fits in what is left. Estimates start from
    priors (seconds per 100M parameters) and follow what the steps of this run took."""

    PRIORS = {"prepare": 25.0, "export_dynamo": 40.0, "kiln": 60.0, "eager": 6.0, "default": 45.0, "reduce-overhead": 60.0}

    def __init__(self, total_s, clock=time.monotonic):
        self.total_s = total_s
        self.clock = clock
        self.start = clock()
        self.per_unit = dict(self.PRIORS)

    def elapsed(self):
        return self.clock() - self.start

    def remaining(self):
        return self.total_s - self.elapsed()

    @staticmethod
    def size(params_m):
        return max(0.5, params_m / 100.0)

    def estimate(self, kind, params_m):
        return self.per_unit.get(kind, 30.0) * self.size(params_m)

    def allows(self, kind, params_m):
        return self.estimate(kind, params_m) <= self.remaining()

    def observe(self, kind, params_m, seconds):
        self.per_unit[kind] = seconds / self.size(params_m)


def fmt(v, spec="%.3f"):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return spec % v


def table(rows):
    """One Markdown table of the rows (see Row keys in run_case)."""
    head = ["model", "dtype", "batch", "eager ms", "compile ms", "reduce-overhead ms", "Kiln ms", "Kiln / best compile",
            "Kiln / reduce-overhead", "rel L2 error", "Kiln kernels", "Kiln cold s", "compared"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        t = r.get("torch", {})
        k = r.get("kiln", {})
        cells = [r["model"] + ("" if r.get("variant", "onnx17") == "onnx17" else " (" + r["variant"] + ")"), r["dtype"],
                 str(r["batch"]), fmt(t.get("eager_ms")), fmt(t.get("default_ms")), fmt(t.get("reduce-overhead_ms")),
                 fmt(k.get("median_ms")) if k.get("status") == "ok" else (k.get("status") or ("error" if r.get("error") else "-")),
                 fmt(r.get("kiln_over_best_compile"), "%.2f"), fmt(r.get("kiln_over_reduce_overhead"), "%.2f"),
                 fmt(r.get("rel_l2"), "%.2e"), fmt(k.get("launches"), "%d") if k.get("launches") is not None else "-",
                 fmt(k.get("cold_start_s"), "%.1f"), r.get("compared", "-")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def finish_row(row):
    """Adds the ratios to a row from its torch and kiln figures."""
    t = row.get("torch", {})
    k = row.get("kiln", {})
    kiln_ms = k.get("median_ms") if k.get("status") == "ok" else None
    row["kiln_over_best_compile"] = ratio(kiln_ms, best(t.get("default_ms"), t.get("reduce-overhead_ms")))
    row["kiln_over_reduce_overhead"] = ratio(kiln_ms, t.get("reduce-overhead_ms"))
    return row


def write_json(path, obj):
    """Atomically (temp file + rename), so a reader or a killed run never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False, default=str, allow_nan=True)
    os.replace(tmp, path)


# ---------------------------------------------------------------- Kiln, in one JVM serving jobs line by line

class KilnServer:
    """dev.kiln.bench.ModelBench --serve: one JSON job per line in, one 'RESULT {...}' line out. Started on
    first use; restarted after a crash or a timeout (the timed-out job is an error result)."""

    def __init__(self, command, env=None, log=None):
        self.command = command
        self.env = env
        self.log = log or sys.stderr
        self.proc = None
        self.lines = None

    def _start(self):
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
                                     bufsize=1, env=self.env, start_new_session=True)
        self.lines = queue.Queue()
        proc, lines = self.proc, self.lines

        def pump():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)  # end of stream: the JVM exited

        threading.Thread(target=pump, daemon=True).start()

    def run(self, job, timeout_s):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self.close()
            return {"id": job.get("id"), "status": "error", "error": "Kiln JVM not running: %s" % e}
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                return {"id": job.get("id"), "status": "error", "error": "timed out after %.0f s" % timeout_s}
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                self.close()
                return {"id": job.get("id"), "status": "error", "error": "Kiln JVM exited with %s" % code}
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
            self.log.write("kiln: " + line)

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the JVM under `bash .gpu/run` too
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.proc = None


# ---------------------------------------------------------------- models (torch imported here and below)

class Spec:
    def __init__(self, name, params_m, batches, build, inputs, input_names, family, note=""):
        self.name, self.params_m, self.batches, self.build = name, params_m, batches, build
        self.inputs, self.input_names, self.family, self.note = inputs, input_names, family, note


def _first_output(module, key, arg_names):
    """Wraps a Hugging Face model so it takes positional tensors and returns one tensor (export and timing alike).
    forward has named parameters, not *args, which both ONNX exporters handle."""
    import torch

    def pick(out):
        return getattr(out, key) if hasattr(out, key) else out[0]

    class One(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = module

        def forward(self, x):
            return pick(self.m(**{arg_names[0]: x}))

    class Two(One):
        def forward(self, x, y):
            return pick(self.m(**{arg_names[0]: x, arg_names[1]: y}))

    return (One if len(arg_names) == 1 else Two)()


def _hf_config(cls, **kw):
    cfg = cls(**kw)
    cfg.use_cache = False
    return cfg


def build_bert(tiny):
    import transformers as tf
    kw = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128) if tiny else {}
    return _first_output(tf.BertModel(_hf_config(tf.BertConfig, **kw)), "last_hidden_state", ["input_ids", "attention_mask"])


def build_gpt2(tiny):
    import transformers as tf
    kw = dict(n_embd=64, n_layer=2, n_head=2) if tiny else {}
    return _first_output(tf.GPT2LMHeadModel(_hf_config(tf.GPT2Config, **kw)), "logits", ["input_ids"])


def build_vit(tiny):
    import transformers as tf
    kw = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, image_size=384,
              patch_size=32, num_labels=1000)
    if tiny:
        kw.update(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, image_size=64)
    return _first_output(tf.ViTForImageClassification(_hf_config(tf.ViTConfig, **kw)), "logits", ["pixel_values"])


def _tv(name):
    def build(tiny):
        import torchvision
        return getattr(torchvision.models, name)(weights=None)
    return build


def _tokens(seq, vocab_tiny, vocab):
    def make(batch, gen, tiny):
        import torch
        v = vocab_tiny if tiny else vocab
        ids = torch.randint(0, v, (batch, seq), generator=gen, dtype=torch.int64)
        return [ids]
    return make


def _bert_inputs(batch, gen, tiny):
    import torch
    ids = _tokens(128, 1000, 30522)(batch, gen, tiny)[0]
    return [ids, torch.ones_like(ids)]


def _image(size, size_tiny):
    def make(batch, gen, tiny):
        import torch
        s = size_tiny if tiny else size
        return [torch.randn(batch, 3, s, s, generator=gen)]
    return make


MODELS = {
    "bert_base": Spec("bert_base", 110, (1,), build_bert, _bert_inputs, ["input_ids", "attention_mask"], "transformer",
                      "BERT-base, seq 128, last_hidden_state"),
    "gpt2": Spec("gpt2", 124, (1,), build_gpt2, _tokens(128, 1000, 50257), ["input_ids"], "transformer",
                 "GPT-2 small with LM head, seq 128, logits"),
    "vit_l32_384": Spec("vit_l32_384", 306, (1,), build_vit, _image(384, 64), ["pixel_values"], "transformer",
                        "ViT-L/32 at 384x384 (hidden 1024, 24 layers, 16 heads, 1000 labels), logits"),
    "resnet50": Spec("resnet50", 26, (1, 4), _tv("resnet50"), _image(224, 64), ["input"], "conv", "torchvision ResNet-50, logits"),
    "mobilenet_v2": Spec("mobilenet_v2", 3.5, (1,), _tv("mobilenet_v2"), _image(224, 64), ["input"], "conv",
                         "torchvision MobileNetV2, logits"),
    "convnext_tiny": Spec("convnext_tiny", 29, (1,), _tv("convnext_tiny"), _image(224, 64), ["input"], "conv",
                          "torchvision ConvNeXt-T, logits"),
}


def recalibrate_batchnorm(model, make_inputs, gen, tiny, steps=4, batch=8):
    """Re-scales every BatchNorm from its activations on random inputs, so activations keep a sane scale through
    the network (random init leaves the running statistics at mean 0 / var 1 whatever the activations are, which
    shrinks MobileNetV2's logits to ~1e-9). Each BatchNorm gets its channels' means (a cumulative average over a
    few batches) and ONE variance for the layer: the largest of its channels'. Why not each channel's own: with
    random weights many channels are nearly dead (variance 1e-3 of the layer's mean), and normalising them to
    unit scale amplifies their rounding error ~30x per layer, so the network becomes ill-conditioned in fp16
    (measured on the H200: PyTorch's own fp16 output 1.8e-2 from fp64 with per-channel variances, 5.9e-4 with
    the layer's largest; bench/results/2026-11-29-h200-s4/mobilenet_v2_conditioning*.txt). Returns how many
    BatchNorm layers were re-scaled."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(*make_inputs(batch, gen, tiny))
        for m in bns:
            m.running_var.fill_(float(m.running_var.max()))
    model.eval()
    return len(bns)


_WORKAROUNDS = []


def register_torchscript_workarounds():
    """Symbolics the TorchScript exporter lacks at opset 17 but transformers 5 traces: aten::diff (GPT-2's
    packed-sequence check on position_ids) as Slice/Sub, with prepend/append as a Concat. Registered once."""
    if _WORKAROUNDS:
        return
    import torch
    from torch.onnx import symbolic_helper as sh

    def diff(g, self, n, dim, prepend, append):
        d = sh._get_const(dim, "i", "dim")
        if not sh._is_none(n) and sh._get_const(n, "i", "n") != 1:
            raise RuntimeError("aten::diff with n != 1 has no workaround")
        x = self
        if not sh._is_none(prepend):
            x = g.op("Concat", prepend, x, axis_i=d)
        if not sh._is_none(append):
            x = g.op("Concat", x, append, axis_i=d)
        c = lambda v: g.op("Constant", value_t=torch.tensor([v], dtype=torch.int64))
        ax = c(d)
        hi = g.op("Slice", x, c(1), c(2 ** 62), ax)
        lo = g.op("Slice", x, c(0), c(-1), ax)
        return g.op("Sub", hi, lo)

    torch.onnx.register_custom_op_symbolic("aten::diff", diff, 17)
    _WORKAROUNDS.append("aten::diff")


def export_onnx(model, inputs, input_names, path, dynamo, opset=None):
    """TorchScript exporter at opset 17, or the dynamo exporter (opset 18 unless given). Returns what was used."""
    import torch
    kw = dict(input_names=input_names, output_names=["output"])
    if not dynamo:
        try:
            register_torchscript_workarounds()
        except Exception:  # older torch: export without them
            traceback.print_exc()
    with torch.no_grad():
        if dynamo:
            torch.onnx.export(model, tuple(inputs), path, dynamo=True, opset_version=opset or 18, **kw)
            return "dynamo exporter, opset %d" % (opset or 18)
        try:
            torch.onnx.export(model, tuple(inputs), path, dynamo=False, opset_version=opset or 17, do_constant_folding=True, **kw)
        except TypeError:  # torch before 2.5 has no dynamo argument: the TorchScript exporter is the only one
            torch.onnx.export(model, tuple(inputs), path, opset_version=opset or 17, do_constant_folding=True, **kw)
        return "TorchScript exporter, opset %d" % (opset or 17)


def check_loads(path):
    """Raises if ONNX Runtime cannot load the model (skipped where onnxruntime is not installed)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return
    ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def save_tensor(path, array, name):
    import onnx
    from onnx import numpy_helper
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def load_tensor(path):
    import onnx
    from onnx import numpy_helper
    return numpy_helper.to_array(onnx.load_tensor(path))


def reference_outputs(onnx_path, arrays, model, inputs):
    """ONNX Runtime on the CPU in fp32; without onnxruntime (a CPU smoke run), the PyTorch module in fp32."""
    try:
        import onnxruntime as ort
    except ImportError:
        import torch
        with torch.no_grad():
            return [model(*inputs).numpy()], "PyTorch fp32 on the CPU (no onnxruntime)"
    so = ort.SessionOptions()
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    feed = {i.name: a for i, a in zip(sess.get_inputs(), arrays)}
    return sess.run(None, feed), "ONNX Runtime %s CPU fp32" % ort.__version__


# ---------------------------------------------------------------- timing PyTorch

TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def time_calls(fn, runs, warmup, device):
    """Median and minimum ms of one call: CUDA events on the GPU, the wall clock on the CPU."""
    import torch
    for _ in range(warmup):
        fn()
    ms = []
    if device == "cuda":
        torch.cuda.synchronize()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(runs):
            a.record()
            fn()
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b))
    else:
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t) * 1e3)
    return median(ms), min(ms)


def torch_timings(model, inputs, dtype, modes, args, budget, params_m, reference):
    """Times the modes for one dtype; returns a dict of figures and per-mode errors (never raises)."""
    import torch
    dev = args.device
    t = {}
    tdt = getattr(torch, TORCH_DTYPES[dtype])
    m = model.to(device=dev, dtype=tdt).eval()
    xs = [x.to(dev, tdt) if x.is_floating_point() else x.to(dev) for x in inputs]
    for mode in modes:
        if not budget.allows(mode, params_m):
            t[mode + "_error"] = "skipped: %.0f s left, estimate %.0f s" % (budget.remaining(), budget.estimate(mode, params_m))
            continue
        t0 = time.monotonic()
        try:
            with torch.no_grad():
                if mode == "eager":
                    fn = lambda: m(*xs)
                    out = fn()
                    t["eager_rel_l2"] = rel_l2(out.float().cpu().numpy(), reference)
                else:
                    torch._dynamo.reset()
                    c = torch.compile(m) if mode == "default" else torch.compile(m, mode="reduce-overhead")
                    step = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)
                    fn = (lambda: (step(), c(*xs))) if mode == "reduce-overhead" and step else (lambda: c(*xs))
                    c0 = time.monotonic()
                    fn()
                    if dev == "cuda":
                        torch.cuda.synchronize()
                    t[mode + "_compile_s"] = time.monotonic() - c0
                med, mn = time_calls(fn, args.runs, args.warmup, dev)
                t[mode + "_ms"], t[mode + "_min_ms"] = med, mn
        except Exception as e:  # one mode failing keeps the others
            t[mode + "_error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
            traceback.print_exc()
        finally:
            budget.observe(mode, params_m, time.monotonic() - t0)
    return t


# ---------------------------------------------------------------- one model at one batch

def prepare(spec, batch, args, work):
    """Builds the model (seeded), makes inputs, fixes degenerate outputs, exports, computes the reference."""
    import torch
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = spec.build(args.tiny).eval()
    inputs = spec.inputs(batch, gen, args.tiny)
    case = "%s-b%d" % (spec.name, batch)
    d = os.path.join(work, case)
    os.makedirs(d, exist_ok=True)
    with torch.no_grad():
        probe = model(*inputs).numpy()
    compared = spec.note.split(", ")[-1]
    if is_degenerate(probe):
        n = recalibrate_batchnorm(model, spec.inputs, torch.Generator().manual_seed(args.seed + 1), args.tiny)
        with torch.no_grad():
            after = model(*inputs).numpy()
        if n and not is_degenerate(after):
            compared += ", BN re-scaled from activations, one variance per layer (random-init rms %.0e -> %.0e)" % (rms(probe), rms(after))
        else:
            compared += ", degenerate (rms %.0e)" % rms(after)
    onnx_path = os.path.join(d, "model.onnx")
    try:
        exporter = export_onnx(model, inputs, spec.input_names, onnx_path, dynamo=False)
        check_loads(onnx_path)  # the TorchScript exporter can write a model ONNX Runtime rejects (GPT-2: CumSum on bool)
    except Exception as e:  # keep a row: the dynamo exporter, and say so
        traceback.print_exc()
        # opset 18 natively: converting the dynamo exporter's output down to 17 can leave it invalid (Split num_outputs)
        exporter = export_onnx(model, inputs, spec.input_names, onnx_path, dynamo=True, opset=18)
        exporter += " (the TorchScript exporter failed: %s)" % str(e).splitlines()[0][:200] if str(e) else ""
    arrays = [x.numpy() for x in inputs]
    input_files = []
    for i, (a, name) in enumerate(zip(arrays, spec.input_names)):
        p = os.path.join(d, "input_%d.pb" % i)
        save_tensor(p, a, name)
        input_files.append(p)
    ref, ref_what = reference_outputs(onnx_path, arrays, model, inputs)
    return dict(case=case, dir=d, model=model, inputs=inputs, onnx=onnx_path, input_files=input_files,
                reference=ref, reference_what=ref_what, compared=compared, exporter=exporter)


def kiln_job(kiln, p, dtype, onnx_path, tag, args, budget, spec, out_dir):
    job = {"id": "%s-%s-%s" % (p["case"], tag, dtype), "onnx": onnx_path, "dtype": dtype, "inputs": p["input_files"],
           "outputs_dir": os.path.join(p["dir"], "kiln-%s-%s" % (tag, dtype)), "runs": args.runs, "warmup": args.warmup,
           "allow_tf32": args.allow_tf32, "backend": args.kiln_backend}
    if spec.name in args.profile_models and tag == "onnx17":
        job["profile_top"] = args.profile_top
        job["profile_dir"] = os.path.join(out_dir, "profiles", job["id"])
    if not budget.allows("kiln", spec.params_m):
        return {"id": job["id"], "status": "skipped", "error": "budget: %.0f s left" % budget.remaining()}
    t0 = time.monotonic()
    r = kiln.run(job, timeout_s=max(30.0, min(args.kiln_timeout, budget.remaining())))
    budget.observe("kiln", spec.params_m, time.monotonic() - t0)
    if r.get("status") == "ok":
        errs = [rel_l2(load_tensor(f), want) for f, want in zip(r.get("outputs", []), p["reference"])]
        r["rel_l2_per_output"] = errs
        r["rel_l2"] = max(errs) if errs else None
    return r


def run_case(spec, batch, args, kiln, budget, out_dir, rows, meta):
    """All rows of one model at one batch; errors land in the rows, never escape."""
    import torch
    t0 = time.monotonic()
    base = dict(model=spec.name, batch=batch, variant="onnx17", params_m=spec.params_m, description=spec.note)
    if not budget.allows("prepare", spec.params_m):
        for dtype in args.dtypes:
            rows.append(dict(base, dtype=dtype, error="skipped: budget (%.0f s left)" % budget.remaining()))
        return
    try:
        p = prepare(spec, batch, args, args.work)
    except Exception as e:
        traceback.print_exc()
        for dtype in args.dtypes:
            rows.append(dict(base, dtype=dtype, error="prepare: %s: %s" % (type(e).__name__, e)))
        return
    finally:
        budget.observe("prepare", spec.params_m, time.monotonic() - t0)
    meta.setdefault("reference", p["reference_what"])
    variants = [("onnx17", p["onnx"])]
    if spec.name in args.dynamo_models and budget.allows("export_dynamo", spec.params_m):
        t1 = time.monotonic()
        dyn = os.path.join(p["dir"], "model_dynamo18.onnx")
        try:
            export_onnx(p["model"], p["inputs"], spec.input_names, dyn, dynamo=True)
            variants.append(("dynamo18", dyn))
        except Exception as e:
            traceback.print_exc()
            for dtype in args.dtypes:
                rows.append(dict(base, dtype=dtype, variant="dynamo18", error="dynamo export: %s: %s" % (type(e).__name__, e)))
        budget.observe("export_dynamo", spec.params_m, time.monotonic() - t1)
    case_rows = {}
    for dtype in args.dtypes:
        for tag, path in variants:
            row = dict(base, dtype=dtype, variant=tag, compared=p["compared"],
                       exporter=p["exporter"] if tag == "onnx17" else "dynamo exporter, opset 18")
            if args.kiln:
                row["kiln"] = kiln_job(kiln, p, dtype, path, tag, args, budget, spec, out_dir)
                row["rel_l2"] = row["kiln"].get("rel_l2")
            case_rows[(dtype, tag)] = row
            print("  kiln %s %s %s: %s" % (spec.name, tag, dtype, json.dumps(
                {k: row.get("kiln", {}).get(k) for k in ("status", "median_ms", "launches", "cold_start_s", "rel_l2", "error")})),
                  flush=True)
    if args.torch:
        ref = p["reference"][0]
        for dtype in sorted(args.dtypes, key=lambda d: d != "fp32"):  # fp32 first: .to(half) does not come back
            t = torch_timings(p["model"], p["inputs"], dtype, args.modes, args, budget, spec.params_m, ref)
            for tag, _ in variants:
                case_rows[(dtype, tag)]["torch"] = t
            print("  torch %s %s: %s" % (spec.name, dtype, json.dumps(t, default=str)), flush=True)
    for dtype in args.dtypes:
        for tag, _ in variants:
            rows.append(finish_row(case_rows[(dtype, tag)]))
    del p
    gc.collect()
    if args.device == "cuda":
        torch.cuda.empty_cache()


# ---------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder for side_by_side.json / .md and profiles")
    ap.add_argument("--work", default="/tmp/kiln-side-by-side", help="folder for ONNX files, inputs and outputs (large)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma list of: " + ", ".join(MODELS))
    ap.add_argument("--dtypes", default="fp16,fp32", help="comma list of fp16, fp32, bf16")
    ap.add_argument("--batches", default="", help="comma list of batch sizes for every model (default: each model's own: "
                                                   "ResNet-50 1 and 4, the others 1)")
    ap.add_argument("--modes", default=",".join(TORCH_MODES), help="PyTorch modes: eager, default, reduce-overhead")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--budget-s", type=float, default=540,
                    help="skip what would not fit in this many seconds overall (a device command may run 600 s)")
    ap.add_argument("--allow-tf32", action="store_true", help="let fp32 matmul/conv use TF32 (PyTorch and Kiln alike)")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dynamo-models", default="bert_base", help="models also exported with the dynamo exporter (opset 18)")
    ap.add_argument("--profile-models", default="", help="models to also `kiln profile` (text and HTML under OUT/profiles)")
    ap.add_argument("--profile-top", type=int, default=10)
    ap.add_argument("--no-kiln", dest="kiln", action="store_false")
    ap.add_argument("--no-torch", dest="torch", action="store_false")
    ap.add_argument("--kiln-cmd", default="bash .gpu/run java", help="how to start Java on the packed class path")
    ap.add_argument("--java-opts", default="-Xmx64g --sun-misc-unsafe-memory-access=allow",
                    help="JAVA_OPTS for the Kiln JVM (give it as --java-opts=...); the environment's JAVA_OPTS are appended")
    ap.add_argument("--kiln-backend", default="gpu", help="gpu, or reference (the CPU interpreter: a smoke test)")
    ap.add_argument("--kiln-timeout", type=float, default=600, help="seconds one Kiln job may take")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke test of the plumbing")
    ap.add_argument("--tiny", action="store_true", help="tiny configs and images (a smoke test)")
    a = ap.parse_args(argv)
    a.models = parse_list(a.models, MODELS, "model")
    a.dtypes = parse_list(a.dtypes, DTYPES, "dtype")
    a.modes = parse_list(a.modes, TORCH_MODES, "mode")
    a.batches = [int(b) for b in parse_list(a.batches)]
    a.dynamo_models = parse_list(a.dynamo_models, MODELS, "model")
    a.profile_models = parse_list(a.profile_models, MODELS, "model")
    return a


def versions():
    v = {"python": platform.python_version()}
    for mod in ("torch", "torchvision", "transformers", "onnx", "onnxruntime", "numpy"):
        try:
            v[mod] = __import__(mod).__version__
        except Exception:
            v[mod] = None
    return v


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    import torch
    budget = Budget(args.budget_s)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.allow_tf32
        torch.backends.cudnn.allow_tf32 = args.allow_tf32
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.set_float32_matmul_precision("high" if args.allow_tf32 else "highest")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or "cpu",
        "versions": versions(), "args": {k: v for k, v in vars(args).items()},
        "timing": {
            "torch": "CUDA events around one call, inputs on the GPU, output left there; median of %d after %d warm-up calls; "
                     "torch.compile's first call (the compilation) timed separately as *_compile_s" % (args.runs, args.warmup),
            "kiln": "CUDA events around one replay of Kiln's CUDA graph, inputs and outputs already on the device (the graph's "
                    "copies to and from its arena included, no host transfers); median of %d after %d warm-up replays; "
                    "cold start = import + compile + first run, inside one JVM" % (args.runs, args.warmup)},
        "tf32": args.allow_tf32,
    }
    # the environment's JAVA_OPTS come after --java-opts (a -D there must not be dropped silently)
    env = dict(os.environ, JAVA_OPTS=(args.java_opts + " " + os.environ.get("JAVA_OPTS", "")).strip())
    env.setdefault("KILN_CACHE_DIR", os.path.join(args.work, "kiln-cache"))
    kiln = KilnServer(shlex.split(args.kiln_cmd) + ["dev.kiln.bench.ModelBench", "--serve"], env=env)
    rows = []
    out_json = os.path.join(args.out, "side_by_side.json")
    try:
        for name in args.models:
            spec = MODELS[name]
            for batch in (args.batches or spec.batches):
                print("== %s batch %d (%.0f s left)" % (name, batch, budget.remaining()), flush=True)
                try:
                    run_case(spec, batch, args, kiln, budget, args.out, rows, meta)
                except Exception as e:  # run_case keeps its own errors; this is the last guard
                    traceback.print_exc()
                    rows.append(dict(model=name, batch=batch, dtype="-", error="%s: %s" % (type(e).__name__, e)))
                meta["elapsed_s"] = budget.elapsed()
                write_json(out_json, {"meta": meta, "rows": rows})
    finally:
        kiln.close()
    text = table(rows)
    with open(os.path.join(args.out, "side_by_side.md"), "w") as f:
        f.write("%s, %s, reference: %s\n\n%s\n" % (meta["date"], meta["device"], meta.get("reference", "-"), text))
    print()
    print("%s on %s; torch %s; reference %s" % (meta["date"], meta["device"], meta["versions"].get("torch"), meta.get("reference")))
    print(text)
    for r in rows:
        errs = [r.get("error"), r.get("kiln", {}).get("error")] + [v for k, v in r.get("torch", {}).items() if k.endswith("_error")]
        errs = [e for e in errs if e]
        if errs:
            print("%s %s b%s %s: %s" % (r["model"], r.get("dtype"), r.get("batch"), r.get("variant", ""), " | ".join(errs)))
    print("wrote %s (%.0f s)" % (out_json, budget.elapsed()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
