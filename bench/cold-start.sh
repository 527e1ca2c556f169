#!/usr/bin/env bash
# Kiln issue 9: the wall time of `kiln run MODEL.onnx --dtype fp16` from the command to the first output, the JVM's
# start included, on the GPU machine, where there is no Maven and no ./kiln but the packed runtime (.gpu, made by
# ../shared/gpu/pack). It runs the CLI as ./kiln does: modules as jars, Eclipse Collections unsigned, the same JVM
# options and the JDK 25 AOT cache of bin/jvm-cache.sh.
#
#   bash bench/cold-start.sh [PACKED_DIR]        (repository root; PACKED_DIR defaults to .gpu)
#   env: MODELS="bert-base resnet50" (default; also gpt2, vit-l32), OUT=/tmp/kiln-cold (work folder), KILN_JAVA_OPTS
#   (extra JVM options)
#
# Per model (BERT-base at seq 128 from transformers, ResNet-50 from torchvision at batch 1, GPT-2 small with its LM head
# at seq 128 and ViT-L/32 at 384x384 from transformers as bench/harness/side_by_side.py builds them; random weights,
# opset 17; models over 2 GB of protobuf would go to external data, which the exporter does itself):
#   1 empty kernel and plan caches, no JVM cache   (records the JVM cache at exit, stores the plan)
#   1j empty kernel, plan and tuning caches again, with the JVM cache run 1 left (a user's first run of a new model)
#   2 caches filled, JVM cache: a plan cache hit   (the issue's "cache filled" case: <= 1.5 s)
#   3 the same again
#   3n kernel cache filled, --no-plan-cache        (import, passes and codegen run: what the plan cache is worth)
#   4 caches filled, no JVM cache                  (what the JVM cache is worth)
#   5 kiln compile -o MODEL.kiln, then run MODEL.kiln twice (the first records the bundle's JVM cache; <= 0.5 s + upload)
# Each prints the command's wall time (date, ms) and Kiln's own split lines; "first output N ms after the command
# started" is measured from the same clock as the wall time ($KILN_START_NS, set here as ./kiln sets it).
set -uo pipefail
P=${1:-.gpu}
W=${OUT:-/tmp/kiln-cold}
MODELS=${MODELS:-bert-base resnet50}
ROOT=$(pwd)
[ -f "$P/run" ] || { echo "cold-start: no packed runtime at $P (run ../shared/gpu/pack first)" >&2; exit 2; }
mkdir -p "$W"

echo "== models (random weights, TorchScript exporter, opset 17)"
python3 - "$W" $MODELS <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "bench", "harness"))
try:  # the TorchScript exporter's missing aten::diff (GPT-2), as side_by_side.py exports it
    from side_by_side import register_torchscript_workarounds
    register_torchscript_workarounds()
except Exception as e:
    print("no export workarounds:", e)
out, names = sys.argv[1], sys.argv[2:]
def export(model, inputs, input_names, path):
    import torch
    t = time.time()
    with torch.no_grad():
        try:
            torch.onnx.export(model, inputs, path, dynamo=False, opset_version=17, do_constant_folding=True, input_names=input_names, output_names=["output"])
        except TypeError:  # torch before 2.5: no dynamo argument
            torch.onnx.export(model, inputs, path, opset_version=17, do_constant_folding=True, input_names=input_names, output_names=["output"])
    print("wrote %s (%.0f MB) in %.1f s" % (path, os.path.getsize(path) / 1e6, time.time() - t))
def Logits(model, arg):
    import torch
    class One(torch.nn.Module):  # one positional input, the logits out (as side_by_side.py wraps Hugging Face models)
        def __init__(self):
            super().__init__(); self.m = model
        def forward(self, x):
            return self.m(**{arg: x}).logits
    return One().eval()
for n in names:
    path = os.path.join(out, n + ".onnx")
    if os.path.exists(path): continue  # made by an earlier run
    import torch
    torch.manual_seed(0)
    if n == "bert-base":
        from transformers import BertConfig, BertModel
        m = BertModel(BertConfig()).eval()  # bert-base-uncased's shape: 12 layers, hidden 768
        ids = torch.randint(0, 1000, (1, 128)); mask = torch.ones(1, 128, dtype=torch.int64)
        export(m, (ids, mask), ["input_ids", "attention_mask"], path)
    elif n == "gpt2":  # GPT-2 small with its LM head, seq 128 (bench/harness/side_by_side.py's gpt2)
        from transformers import GPT2Config, GPT2LMHeadModel
        cfg = GPT2Config(); cfg.use_cache = False
        # the dynamo exporter at opset 18, as side_by_side.py falls back to: the TorchScript exporter writes a CumSum on
        # bool here (masking_utils' packed-sequence check), which the ONNX spec does not allow (ONNX Runtime and Kiln reject it)
        from side_by_side import export_onnx
        t = time.time()
        export_onnx(Logits(GPT2LMHeadModel(cfg).eval(), "input_ids"), (torch.randint(0, 50257, (1, 128)),), ["input_ids"], path, dynamo=True, opset=18)
        print("wrote %s (dynamo exporter, opset 18) in %.1f s" % (path, time.time() - t))
    elif n == "vit-l32":  # ViT-L/32 at 384x384, 1000 labels (side_by_side.py's vit_l32_384): 1.2 GB of weights
        from transformers import ViTConfig, ViTForImageClassification
        cfg = ViTConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, image_size=384,
                        patch_size=32, num_labels=1000); cfg.use_cache = False
        export(Logits(ViTForImageClassification(cfg).eval(), "pixel_values"), (torch.randn(1, 3, 384, 384),), ["pixel_values"], path)
    elif n == "resnet50":
        import torchvision
        m = torchvision.models.resnet50(weights=None).eval()
        export(m, (torch.randn(1, 3, 224, 224),), ["input"], path)
    else:
        raise SystemExit("unknown model " + n)
PY

echo "== runtime: the packed JRE, modules as jars (the AOT cache reads jars only), Eclipse Collections unsigned"
JAVA=${COLD_START_JAVA:-/tmp/gpu-jre/bin/java} # COLD_START_JAVA: another java 25, for a dry run on a machine without the packed JRE
[ -x "$JAVA" ] || bash "$P/run" info >/dev/null 2>&1 || true # unpacks the JRE into /tmp/gpu-jre
"$JAVA" -version 2>&1 | head -1
python3 - "$P" "$W/jars" <<'PY'
import os, sys, zipfile
packed, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for m in sorted(os.listdir(os.path.join(packed, "classes"))):
    src = os.path.join(packed, "classes", m, "main")
    if not os.path.isdir(src): continue
    with zipfile.ZipFile(os.path.join(out, "kiln-" + m + ".jar"), "w", zipfile.ZIP_STORED) as z:
        for d, _, files in os.walk(src):
            for f in sorted(files):
                p = os.path.join(d, f); z.write(p, os.path.relpath(p, src))
for j in sorted(os.listdir(os.path.join(packed, "lib"))):
    src = os.path.join(packed, "lib", j)
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        sig = [n for n in names if n.startswith("META-INF/") and n.rsplit(".", 1)[-1] in ("SF", "RSA", "DSA", "EC")]
        dst = os.path.join(out, j)
        if not sig:
            if not os.path.exists(dst): os.symlink(os.path.abspath(src), dst)
            continue
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as o:  # a signed jar costs seconds of verification
            for n in names:
                if n not in sig: o.writestr(z.getinfo(n), z.read(n))
        print("unsigned copy of", j)
PY
CP=$(ls "$W"/jars/*.jar | tr '\n' ':'); CP=${CP%:}
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d $d ] && export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}; done
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
. "$ROOT/bin/jvm-cache.sh"
OPTS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow ${KILN_JAVA_OPTS:-}"

# kiln NAME ARGS...: one CLI command as ./kiln runs it (JVM cache NAME), timed from the shell
kiln() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  ( export KILN_START_NS=$t0; kiln_jvm_cache "$JAVA" "$CP" "$name" "${KILN_JAVA_OPTS:-}" $OPTS -cp "$CP" dev.kiln.cli.KilnCli "$@" ) >"$W/out.txt" 2>"$W/err.txt"
  local rc=$?
  t1=$(date +%s%N)
  grep -E '^(compiled|plan cache hit|first output|loaded bundle|ran |wrote |GPU start)' "$W/out.txt" | sed 's/^/    /'
  [ $rc = 0 ] || { echo "    rc=$rc"; tail -5 "$W/err.txt" | sed 's/^/    err: /'; }
  echo "    command wall time $(( (t1 - t0) / 1000000 )) ms (JVM caches: $(ls "$KILN_CACHE_DIR/jvm" 2>/dev/null | grep -c aot))"
}
nocache() { ( t0=$(date +%s%N); export KILN_START_NS=$t0
  # shellcheck disable=SC2086
  "$JAVA" $OPTS -cp "$CP" dev.kiln.cli.KilnCli "$@" >"$W/out.txt" 2>"$W/err.txt"; rc=$?; t1=$(date +%s%N)
  grep -E '^(plan cache hit|first output|loaded bundle|GPU start)' "$W/out.txt" | sed 's/^/    /'; [ $rc = 0 ] || tail -5 "$W/err.txt"
  echo "    command wall time $(( (t1 - t0) / 1000000 )) ms (no JVM cache)" ); }

for m in $MODELS; do
  f="$W/$m.onnx"
  export KILN_CACHE_DIR="$W/cache-$m"; rm -rf "$KILN_CACHE_DIR" "$W/$m.kiln"
  echo "== $m: 1 empty kernel and plan caches, no JVM cache"; kiln "run-$m" run "$f" --dtype fp16
  # the JVM's own cache belongs to the installation, not to a model: any earlier kiln run leaves it
  find "$KILN_CACHE_DIR" -mindepth 1 -maxdepth 1 ! -name jvm -exec rm -rf {} +
  echo "== $m: 1j empty kernel, plan and tuning caches, JVM cache"; kiln "run-$m" run "$f" --dtype fp16
  echo "== $m: 2 caches filled (plan cache hit), JVM cache";   kiln "run-$m" run "$f" --dtype fp16
  echo "== $m: 3 the same again";                              kiln "run-$m" run "$f" --dtype fp16
  echo "== $m: 3n kernel cache filled, --no-plan-cache";       kiln "run-$m" run "$f" --dtype fp16 --no-plan-cache
  echo "== $m: 4 caches filled, no JVM cache";                 nocache run "$f" --dtype fp16
  echo "== $m: 5 compile -o $m.kiln";                          kiln "compile-$m" compile "$f" --dtype fp16 -o "$W/$m.kiln"
  echo "== $m: 5 run $m.kiln (records the bundle's JVM cache)"; kiln "run-bundle-$m" run "$W/$m.kiln"
  echo "== $m: 5 run $m.kiln again";                           kiln "run-bundle-$m" run "$W/$m.kiln"
  echo "== $m: 5 run $m.kiln, no JVM cache";                   nocache run "$W/$m.kiln"
done
