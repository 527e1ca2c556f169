"""Tests of side_by_side.py's parts that need no torch and no GPU: python3 -m unittest bench/harness/test_side_by_side.py"""
import json
import math
import os
import sys
import tempfile
import textwrap
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


class RelL2Test(unittest.TestCase):
    def test_relative_error_of_a_known_perturbation(self):
        rng = np.random.default_rng(0)
        want = rng.standard_normal((4, 50)).astype(np.float32)
        noise = rng.standard_normal(want.shape)
        for eps in (1e-2, 1e-5):
            got = want + eps * noise * np.linalg.norm(want) / np.linalg.norm(noise)
            self.assertAlmostEqual(sbs.rel_l2(got, want), eps, delta=eps * 1e-3)

    def test_edge_cases(self):
        self.assertEqual(sbs.rel_l2(np.zeros(3), np.zeros(3)), 0.0)
        self.assertTrue(math.isinf(sbs.rel_l2(np.ones(3), np.zeros(3))))
        self.assertTrue(math.isinf(sbs.rel_l2(np.ones(3), np.ones(4))), "shape mismatch")
        self.assertTrue(math.isnan(sbs.rel_l2(np.array([1.0, np.nan]), np.ones(2))))
        # float16 outputs compare in float64, not in their own precision
        self.assertGreater(sbs.rel_l2(np.float16([1.0, 2.0]), np.float64([1.0, 2.0004])), 0)

    def test_degenerate_outputs(self):
        rng = np.random.default_rng(1)
        self.assertTrue(sbs.is_degenerate(1e-9 * rng.standard_normal(1000)), "MobileNetV2-like random-init logits")
        self.assertFalse(sbs.is_degenerate(0.05 * rng.standard_normal(1000)))
        self.assertTrue(sbs.is_degenerate(np.zeros(10)))


class RowsTest(unittest.TestCase):
    def row(self, kiln_ms, default, ro, status="ok"):
        return sbs.finish_row({"model": "m", "dtype": "fp16", "batch": 1, "torch": {"eager_ms": 5.0, "default_ms": default,
                               "reduce-overhead_ms": ro}, "kiln": {"status": status, "median_ms": kiln_ms, "launches": 42,
                               "cold_start_s": 3.25}, "rel_l2": 1.5e-3, "compared": "logits"})

    def test_ratios_use_the_best_compile_mode(self):
        r = self.row(2.0, 4.0, 1.0)
        self.assertEqual(r["kiln_over_best_compile"], 2.0)
        self.assertEqual(r["kiln_over_reduce_overhead"], 2.0)
        r = self.row(2.0, 1.6, None)
        self.assertAlmostEqual(r["kiln_over_best_compile"], 1.25)
        self.assertIsNone(r["kiln_over_reduce_overhead"])

    def test_a_failed_kiln_job_has_no_ratio(self):
        r = self.row(None, 1.0, 1.0, status="error")
        self.assertIsNone(r["kiln_over_best_compile"])

    def test_table_has_one_line_per_row_and_the_figures(self):
        rows = [self.row(2.0, 4.0, 1.0), self.row(None, 1.0, 1.0, status="error"),
                {"model": "x", "dtype": "fp32", "batch": 4, "error": "prepare: boom"}]
        rows[1]["variant"] = "dynamo18"
        t = sbs.table(rows).splitlines()
        self.assertEqual(len(t), 2 + len(rows))
        cells = [c.strip() for c in t[2].strip("|").split("|")]
        self.assertEqual(cells[:4], ["m", "fp16", "1", "5.000"])
        self.assertEqual(cells[6:12], ["2.000", "2.00", "2.00", "1.50e-03", "42", "3.2"])
        self.assertIn("m (dynamo18)", t[3])
        self.assertIn("error", t[3])
        self.assertIn("| error |", t[4], "a row that failed before Kiln ran says so")
        self.assertEqual(len(t[4].strip("|").split("|")), len(t[0].strip("|").split("|")), "a row with nothing has every column")


class BudgetTest(unittest.TestCase):
    def test_skips_what_does_not_fit_and_learns_from_what_ran(self):
        now = [0.0]
        b = sbs.Budget(100, clock=lambda: now[0])
        self.assertTrue(b.allows("default", 100))        # prior 45 s for a 100M model
        self.assertFalse(b.allows("default", 300))       # 135 s
        now[0] = 70.0
        self.assertFalse(b.allows("default", 100))       # 30 s left
        b.observe("default", 100, 10.0)                   # it went faster than the prior
        self.assertTrue(b.allows("default", 100))
        self.assertTrue(b.allows("default", 10), "small models count as half a unit at least")
        self.assertEqual(b.estimate("default", 10), 5.0)


class ArgsTest(unittest.TestCase):
    def test_lists_are_checked(self):
        a = sbs.parse_args(["--out", "o", "--models", "bert_base,resnet50", "--dtypes", "fp32", "--batches", "1,4"])
        self.assertEqual(a.models, ["bert_base", "resnet50"])
        self.assertEqual(a.batches, [1, 4])
        self.assertTrue(a.kiln and a.torch)
        with self.assertRaises(SystemExit):
            sbs.parse_args(["--out", "o", "--models", "bert_large"])
        with self.assertRaises(SystemExit):
            sbs.parse_args(["--out", "o", "--modes", "max-autotune"])

    def test_every_model_the_issue_asks_for_is_there(self):
        self.assertEqual(set(sbs.MODELS), {"bert_base", "gpt2", "vit_l32_384", "resnet50", "mobilenet_v2", "convnext_tiny"})
        self.assertEqual(sbs.MODELS["resnet50"].batches, (1, 4))


class JsonTest(unittest.TestCase):
    def test_atomic_write_leaves_no_temp_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "r.json")
            sbs.write_json(p, {"rows": [{"x": math.inf, "y": None}]})
            sbs.write_json(p, {"rows": [1, 2]})
            self.assertEqual(json.load(open(p)), {"rows": [1, 2]})
            self.assertEqual(os.listdir(d), ["r.json"])


FAKE_SERVER = textwrap.dedent("""
    import json, sys, time
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("crash"):
            sys.exit(3)
        if job.get("sleep"):
            time.sleep(job["sleep"])
        print("some log line", flush=True)
        print("RESULT " + json.dumps({"id": job["id"], "status": "ok", "pid": __import__("os").getpid()}), flush=True)
""")


class KilnServerTest(unittest.TestCase):
    """The JVM protocol against a stand-in server: results by line, and restarts after a crash or a timeout."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.script = os.path.join(self.dir.name, "fake.py")
        with open(self.script, "w") as f:
            f.write(FAKE_SERVER)
        self.log = open(os.devnull, "w")
        self.server = sbs.KilnServer([sys.executable, self.script], log=self.log)

    def tearDown(self):
        self.server.close()
        self.log.close()
        self.dir.cleanup()

    def test_one_process_serves_many_jobs(self):
        a = self.server.run({"id": "a"}, timeout_s=20)
        b = self.server.run({"id": "b"}, timeout_s=20)
        self.assertEqual((a["status"], b["status"]), ("ok", "ok"))
        self.assertEqual(a["pid"], b["pid"])

    def test_a_crash_is_an_error_and_the_next_job_gets_a_new_process(self):
        first = self.server.run({"id": "a"}, timeout_s=20)
        crashed = self.server.run({"id": "c", "crash": True}, timeout_s=20)
        self.assertEqual(crashed["status"], "error")
        self.assertIn("exited with 3", crashed["error"])
        after = self.server.run({"id": "d"}, timeout_s=20)
        self.assertEqual(after["status"], "ok")
        self.assertNotEqual(first["pid"], after["pid"])

    def test_a_timeout_kills_the_job_and_the_next_one_runs(self):
        slow = self.server.run({"id": "s", "sleep": 30}, timeout_s=1)
        self.assertEqual(slow["status"], "error")
        self.assertIn("timed out", slow["error"])
        self.assertEqual(self.server.run({"id": "t"}, timeout_s=20)["status"], "ok")


if __name__ == "__main__":
    unittest.main()
