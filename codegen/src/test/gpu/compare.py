"""Compares GPU outputs with the reference's, per case folder (see GpuCasesTest). Tolerances per dtype:
f64 1e-9, f32 2e-4, f16 2e-2, bf16 6e-2 (relative to max(1, |want|)); integers and bool exact; NaN == NaN."""
import sys, os, numpy as np
TOL = {"f64": 1e-9, "f32": 2e-4, "f16": 2e-2, "bf16": 6e-2}
NP = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8, "u8": np.uint8, "i16": np.int16, "u16": np.uint16,
      "i32": np.int32, "u32": np.uint32, "i64": np.int64, "u64": np.uint64, "bool": np.uint8}
def load(path, dt):
    raw = open(path, "rb").read()
    if dt == "bf16":
        return (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return np.frombuffer(raw, NP[dt]).astype(np.float64)
bad = 0
for case in sorted(os.listdir(sys.argv[1])):
    d = os.path.join(sys.argv[1], case)
    if not os.path.isfile(os.path.join(d, "spec.txt")): continue
    if not os.path.exists(os.path.join(d, "ran")):
        print("FAIL", case, "did not run:", open(os.path.join(d, "log")).read()[-800:] if os.path.exists(os.path.join(d, "log")) else "?"); bad += 1; continue
    worst, ok = 0.0, True
    for line in open(os.path.join(d, "spec.txt")).read().split("\n")[1:]:
        if not line.strip(): continue
        got_f, want_f, dt = line.split()
        got, want = load(os.path.join(d, got_f), dt), load(os.path.join(d, want_f), dt)
        if got.shape != want.shape: ok = False; continue
        both_nan = np.isnan(got) & np.isnan(want)
        err = np.where(both_nan, 0, np.abs(got - want) / np.maximum(1, np.abs(want)))
        err = np.where(np.isnan(err), np.inf, err)
        e = float(err.max()) if err.size else 0.0
        worst = max(worst, e)
        if e > TOL.get(dt, 0):
            ok = False
            i = int(err.argmax()); print("  ", case, got_f, dt, "at", i, "got", got[i], "want", want[i])
    print("PASS" if ok else "FAIL", case, "max rel err %.3g" % worst)
    bad += 0 if ok else 1
print("failed cases:", bad)
