#!/usr/bin/env python3
"""Checks scripts/report_gen on tests/data/report_gen_sample.json, a trimmed recording of a real
`make report QUICK=1` run (3 repetitions each, Google Benchmark's own aggregates included).

The expected figures were computed by hand from the per-repetition rates in the fixture:
the median of 3 repetitions is the middle one, and
    throughput_8B  heap.block.mutex            3309727.82 items/s  -> 3.309728 M/s
                   std.mutex+deque             4251498.28          -> 4.251498
                   tbb.concurrent_bounded_queue 1286857.11         -> 1.286857
                   boost.lockfree.spsc_queue  25081779.39          -> 25.081779 (best peer)
    rtt_8B         heap.block.mutex              80757.19 trips/s  -> 12382.7 ns
                   tbb.concurrent_bounded_queue 148710.12          ->  6724.5 ns (best peer)
                   std.mutex+deque              105875.22          ->  9445.1 ns
                   cache-line ping-pong         131867.79          ->  7583.4 ns (floor)
    tx_1MiB        heap.block.mutex         55747751070.57 B/s     -> 55.7478 GB/s
                   std.mutex+deque (copies)  8456612376.97         ->  8.4566 (best peer)
                   memcpy                   17609995628.26         -> 17.6100 (floor)
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "scripts", "report_gen")
SAMPLE = os.path.join(HERE, "data", "report_gen_sample.json")


class ReportGen(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="polychan_report_gen_")
        cls.out = cls.tmp.name
        matrix = os.path.join(cls.out, "matrix.md")
        with open(matrix, "w") as f:
            f.write("| storage | ordering | mutex |\n|---|---|---|\n| heap | block | pass (21 tests) |\n"
                    "| heap | discard_new | FAIL: 1 of 21 tests (x) |\n")
        run = subprocess.run([sys.executable, GEN, "--out", cls.out, "--meta", "Machine=test box, 2 cores",
                              "--policy-matrix", matrix, SAMPLE], capture_output=True, text=True)
        if run.returncode != 0:
            raise AssertionError("report_gen failed:\n" + run.stdout + run.stderr)
        with open(os.path.join(cls.out, "summary.json")) as f:
            cls.summary = json.load(f)
        with open(os.path.join(cls.out, "report.md")) as f:
            cls.md = f.read()
        with open(os.path.join(cls.out, "index.html")) as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def row(self, job, subject):
        return self.summary["jobs"][job]["rows"][subject]

    def goal(self, job, subject, reference):
        hits = [g for g in self.summary["goals"]
                if g["job"] == job and g["subject"] == subject and g["reference"] == reference]
        self.assertEqual(len(hits), 1, (job, subject, reference))
        return hits[0]

    # ---- medians, min, max from the repetitions (aggregates ignored) ----
    def test_medians_min_max(self):
        r = self.row("throughput_8B", "heap.block.mutex")
        self.assertEqual(r["reps"], 3)
        self.assertAlmostEqual(r["median"], 3.309728, places=5)
        self.assertAlmostEqual(r["min"], 3.223469, places=5)
        self.assertAlmostEqual(r["max"], 5.422158, places=5)
        self.assertAlmostEqual(self.row("rtt_8B", "heap.block.mutex")["median"], 12382.7, delta=0.1)
        self.assertAlmostEqual(self.row("tx_1MiB", "memcpy")["median"], 17.6100, places=3)

    def test_best_peer_and_floor(self):
        self.assertEqual(self.summary["jobs"]["throughput_8B"]["best_peer"], "boost.lockfree.spsc_queue")
        self.assertEqual(self.summary["jobs"]["rtt_8B"]["best_peer"], "tbb.concurrent_bounded_queue")
        self.assertEqual(self.summary["jobs"]["rtt_8B"]["floor"], "cache-line ping-pong")
        self.assertEqual(self.summary["jobs"]["tx_1MiB"]["best_peer"], "std.mutex+deque (copies)")
        self.assertEqual(self.summary["jobs"]["tx_1MiB"]["floor"], "memcpy")

    def test_ratios(self):
        # speed vs best peer: rate / best rate, or best time / time for round trips
        self.assertAlmostEqual(self.row("throughput_8B", "heap.block.mutex")["vs_best_peer"], 0.13196, places=4)
        self.assertAlmostEqual(self.row("rtt_8B", "heap.block.mutex")["vs_best_peer"], 0.54305, places=4)
        self.assertAlmostEqual(self.row("tx_1MiB", "heap.block.mutex")["vs_best_peer"], 6.5922, places=3)
        self.assertAlmostEqual(self.row("rtt_8B", "tbb.concurrent_bounded_queue")["vs_best_peer"], 1.0)
        # against the floor: time / floor time, rate / floor rate
        self.assertAlmostEqual(self.row("rtt_8B", "heap.block.mutex")["vs_floor"], 1.6329, places=3)
        self.assertAlmostEqual(self.row("tx_1MiB", "heap.block.mutex")["vs_floor"], 3.1657, places=3)
        # lossy ordering: the delivered fraction is carried through (median of 3)
        self.assertAlmostEqual(self.row("throughput_8B", "heap.discard_new.mutex")["delivered"], 0.021139, places=5)

    def test_goals(self):
        g = self.goal("throughput_8B", "heap.block.mutex", "std.mutex+deque")
        self.assertEqual(g["status"], "MISSED")
        self.assertAlmostEqual(g["ratio"], 0.77848, places=4)
        g = self.goal("throughput_8B", "heap.block.mutex", "tbb.concurrent_bounded_queue")
        self.assertEqual(g["status"], "met")
        self.assertAlmostEqual(g["ratio"], 2.5720, places=3)
        g = self.goal("rtt_8B", "heap.block.mutex", "std.mutex+deque")
        self.assertEqual(g["status"], "MISSED")
        self.assertAlmostEqual(g["ratio"], 0.76277, places=4)
        g = self.goal("tx_1MiB", "heap.block.mutex", "floor")
        self.assertEqual(g["status"], "met")
        self.assertAlmostEqual(g["ratio"], 3.1657, places=3)
        # no spsc channel in the sample: said, not hidden
        self.assertEqual(self.goal("rtt_8B", "heap.block.spsc", "floor")["status"], "not measured")
        # jobs absent from the sample
        self.assertEqual(self.goal("mpmc_2x2_8B", "heap.block.mutex", "std.mutex+deque")["status"], "not measured")

    # ---- what a person reads ----
    def test_markdown(self):
        self.assertIn("Machine**: test box, 2 cores", self.md)
        # the table leads with the ratio against the best peer
        self.assertRegex(self.md, r"\| heap\.block\.mutex \| polychan \| 0\.13x \| - \| 3\.31 \| 3\.22 \| 5\.42 \| 3 \|  \| 1\.000 \|")
        self.assertRegex(self.md, r"\| heap\.block\.mutex \| polychan \| 0\.54x \| 1\.63x \| 12383 \|")
        self.assertRegex(self.md, r"\| mutex channel >= the std::mutex\+deque baseline and TBB \| throughput_8B \| "
                                  r"heap\.block\.mutex \| std\.mutex\+deque \| - \| speed ratio >= 1\.00 \| 0\.78x \| \*\*MISSED\*\* \|")
        # a recording without placement probes says so
        self.assertIn("placements** (cache-line round trip measured after each repetition): not recorded", self.md)
        self.assertIn("## Policy matrix", self.md)
        for job in ("throughput_8B", "rtt_8B", "tx_1MiB"):
            self.assertIn("](plots/%s.svg)" % job, self.md)

    def test_html_marks_missed_goals_red(self):
        missed = re.findall(r'<tr class="miss">(.*?)</tr>', self.html)
        goal_rows = [m for m in missed if "MISSED" in m]
        self.assertEqual(len(goal_rows), sum(1 for g in self.summary["goals"] if g["status"] == "MISSED"))
        self.assertGreaterEqual(len(goal_rows), 3)
        self.assertRegex(self.html, r"tr\.miss td\{[^}]*#c62828")
        # the failing policy-matrix cell is red too
        self.assertTrue(any("FAIL: 1 of 21" in m for m in missed))
        self.assertIn("<img src='plots/rtt_8B.svg'", self.html)

    def test_svgs(self):
        for job in ("throughput_8B", "rtt_8B", "tx_1MiB"):
            path = os.path.join(self.out, "plots", job + ".svg")
            with open(path) as f:
                svg = f.read()
            self.assertIn("<svg", svg)
            self.assertIn("heap.block.mutex", svg)  # compositions and peers side by side
            self.assertIn("std.mutex+deque", svg)
            if job != "throughput_8B":
                self.assertIn("floor:", svg)  # the floor is drawn and named


def repetition(job, subject, kind, rate, line_ns, field="items_per_second"):
    return {"name": "%s/%s/manual_time" % (job, subject), "run_type": "iteration", "label": kind, field: rate,
            "line_rtt_ns": line_ns}


class Placements(unittest.TestCase):
    """A run whose repetitions fell on two placements of the CPUs (cache-line round trips near 70 ns
    and near 450 ns): medians and goals are per placement. Expected values by hand:
        rtt_8B spsc   near: 120, 130 ns -> 125      far: 350, 360, 370 ns -> 360
               floor  near: 60, 70 ns -> 65         far: 440, 450, 460 ns -> 450
        spsc / floor  near: 125 / 65 = 1.9231 (MISSED, <= 1.25)   far: 360 / 450 = 0.8 (met)
               two-line ping-pong (a reference)  near: 100, 120 ns -> 110   far: 430, 440, 450 -> 440
        context rows (no target):  two-line / floor   near 110 / 65 = 1.6923    far 440 / 450 = 0.9778
                                   spsc / two-line    near 125 / 110 = 1.1364   far 360 / 440 = 0.8182
        throughput_8B spsc only far (90, 100 M/s), boost only near (150): nothing in common.
        throughput_256B   near: spsc 100, peer.a 120, peer.b 80    far: spsc 50, peer.a 10, peer.b 40
            best peer over the run: peer.a (median of 120, 10 = 65 > peer.b's 60); per placement:
            near peer.a -> 100 / 120 = 0.8333 (MISSED)    far peer.b -> 50 / 40 = 1.25 (met)
    """

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="polychan_report_gen_")
        trip = lambda ns: 1e9 / ns
        runs = [repetition("rtt_8B", "heap.block.spsc", "polychan", trip(t), l)
                for t, l in ((120, 70), (130, 75), (350, 445), (360, 450), (370, 455))]
        runs += [repetition("rtt_8B", "cache-line ping-pong", "floor", trip(t), l)
                 for t, l in ((60, 68), (70, 72), (440, 440), (450, 460), (460, 470))]
        runs += [repetition("rtt_8B", "two-line ping-pong", "reference", trip(t), l)
                 for t, l in ((100, 70), (120, 70), (430, 450), (440, 450), (450, 450))]
        runs += [repetition("throughput_8B", "heap.block.spsc", "polychan", r, l) for r, l in ((90e6, 430), (100e6, 450))]
        runs += [repetition("throughput_8B", "boost.lockfree.spsc_queue", "peer", 150e6, 66)]
        runs += [repetition("throughput_256B", s, k, r, l)
                 for s, k, r, l in (("heap.block.spsc", "polychan", 100e6, 70), ("heap.block.spsc", "polychan", 50e6, 450),
                                    ("peer.a", "peer", 120e6, 70), ("peer.a", "peer", 10e6, 450),
                                    ("peer.b", "peer", 80e6, 70), ("peer.b", "peer", 40e6, 450))]
        # slower than spsc: listed after it in the tables, before it in the headline's name order
        runs += [repetition("rtt_8B", "heap.block.mutex", "polychan", trip(t), l) for t, l in ((900, 70), (950, 450))]
        path = os.path.join(cls.tmp.name, "placements.json")
        with open(path, "w") as f:
            json.dump({"context": {"load_avg": [0.5, 0.5, 0.5]}, "benchmarks": runs}, f)
        out = os.path.join(cls.tmp.name, "out")
        run = subprocess.run([sys.executable, GEN, "--out", out, path], capture_output=True, text=True)
        if run.returncode != 0:
            raise AssertionError("report_gen failed:\n" + run.stdout + run.stderr)
        with open(os.path.join(out, "summary.json")) as f:
            cls.summary = json.load(f)
        with open(os.path.join(out, "report.md")) as f:
            cls.md = f.read()
        with open(os.path.join(out, "summary.md")) as f:
            cls.short = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def goals(self, job, subject, reference):
        return [g for g in self.summary["goals"]
                if g["job"] == job and g["subject"] == subject and g["reference"] == reference]

    def test_two_placements_named_by_their_probes(self):
        self.assertEqual(self.summary["jobs"]["rtt_8B"]["placements"], ["cache line 70 ns", "cache line 450 ns"])
        self.assertIn("cache line 70 ns: 11 repetitions; cache line 450 ns: 15 repetitions", self.md)

    def test_medians_per_placement(self):
        by = self.summary["jobs"]["rtt_8B"]["rows"]["heap.block.spsc"]["by_placement"]
        self.assertAlmostEqual(by["cache line 70 ns"]["median"], 125.0, places=6)
        self.assertEqual(by["cache line 70 ns"]["reps"], 2)
        self.assertAlmostEqual(by["cache line 450 ns"]["median"], 360.0, places=6)
        self.assertEqual(by["cache line 450 ns"]["reps"], 3)
        self.assertIn("cache line 70 ns: 125 (2); cache line 450 ns: 360 (3)", self.md)

    def test_goal_per_placement(self):
        rows = {g["placement"]: g for g in self.goals("rtt_8B", "heap.block.spsc", "floor")}
        self.assertEqual(set(rows), {"cache line 70 ns", "cache line 450 ns"})
        self.assertAlmostEqual(rows["cache line 70 ns"]["ratio"], 125 / 65, places=6)
        self.assertEqual(rows["cache line 70 ns"]["status"], "MISSED")
        self.assertAlmostEqual(rows["cache line 450 ns"]["ratio"], 0.8, places=6)
        self.assertEqual(rows["cache line 450 ns"]["status"], "met")

    def test_context_rows_per_placement(self):
        # a reference is never the best peer nor the floor, and its rows explain, they do not count
        self.assertEqual(self.summary["jobs"]["rtt_8B"]["floor"], "cache-line ping-pong")
        self.assertIsNone(self.summary["jobs"]["rtt_8B"]["best_peer"])
        lines = {g["placement"]: g for g in self.goals("rtt_8B", "two-line ping-pong", "floor")}
        self.assertAlmostEqual(lines["cache line 70 ns"]["ratio"], 110 / 65, places=6)
        self.assertAlmostEqual(lines["cache line 450 ns"]["ratio"], 440 / 450, places=6)
        spsc = {g["placement"]: g for g in self.goals("rtt_8B", "heap.block.spsc", "two-line ping-pong")}
        self.assertAlmostEqual(spsc["cache line 70 ns"]["ratio"], 125 / 110, places=6)
        self.assertAlmostEqual(spsc["cache line 450 ns"]["ratio"], 360 / 440, places=6)
        self.assertEqual({g["status"] for g in list(lines.values()) + list(spsc.values())}, {"context"})
        # the 4 context rows are not counted among the goal checks
        statuses = [g["status"] for g in self.summary["goals"]]
        self.assertEqual(statuses.count("context"), 4)
        self.assertIn("%d goal checks:" % (len(statuses) - 4), self.md)
        self.assertIn("| context: spsc channel round trip vs the two-line ping-pong | rtt_8B | heap.block.spsc | "
                      "two-line ping-pong | cache line 70 ns (reps: 2 and 2) | - | 1.14x | context |", self.md)

    def test_best_peer_goal_per_placement(self):
        # the peer that leads over the run (peer.a) is not the best far: each placement has its own
        self.assertEqual(self.summary["jobs"]["throughput_256B"]["best_peer"], "peer.a")
        rows = {g["placement"]: g for g in self.goals("throughput_256B", "heap.block.spsc", "best peer")}
        self.assertEqual(set(rows), {"cache line 70 ns", "cache line 450 ns"})
        self.assertEqual(rows["cache line 70 ns"]["reference_found"], "peer.a")
        self.assertAlmostEqual(rows["cache line 70 ns"]["ratio"], 100 / 120, places=6)
        self.assertEqual(rows["cache line 70 ns"]["status"], "MISSED")
        self.assertEqual(rows["cache line 450 ns"]["reference_found"], "peer.b")
        self.assertAlmostEqual(rows["cache line 450 ns"]["ratio"], 1.25, places=6)
        self.assertEqual(rows["cache line 450 ns"]["status"], "met")

    def test_no_ratio_across_placements(self):
        rows = self.goals("throughput_8B", "heap.block.spsc", "boost.lockfree.spsc_queue")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["status"], "not measured")
        self.assertEqual(rows[0]["placement"], "none in common")

    def test_headline_per_placement(self):
        self.assertIn("### cache line 70 ns", self.short)
        self.assertIn("### cache line 450 ns", self.short)

    def test_headline_sync_columns_in_name_order(self):
        # not in the order of the results (spsc is faster), so that runs compare column by column
        self.assertIn("| job | best peer | best peer figure | heap.block.mutex vs best peer | "
                      "heap.block.spsc vs best peer | floor |", self.short)


class BridgedPlacements(unittest.TestCase):
    """The CPUs moved while the run went on: probes between the two placements bridge them, so
    no gap between neighbouring probes reaches 2x (the widest is 150 -> 220, 1.47x). The split
    that best separates them on a log scale is still clear. By hand (Otsu on log ns):
        near: 55 58 60 62 65 70 100 150 -> median 63.5     far: 220 300 400 ... 460 -> median 420
    One slow probe among many fast ones is noise, not a placement (Noise below)."""

    def run_gen(self, probes):
        tmp = tempfile.TemporaryDirectory(prefix="polychan_report_gen_")
        self.addCleanup(tmp.cleanup)
        runs = [repetition("rtt_8B", "heap.block.spsc", "polychan", 1e9 / (2 * ns), ns) for ns in probes]
        path = os.path.join(tmp.name, "bridged.json")
        with open(path, "w") as f:
            json.dump({"context": {"load_avg": [0.5, 0.5, 0.5]}, "benchmarks": runs}, f)
        out = os.path.join(tmp.name, "out")
        run = subprocess.run([sys.executable, GEN, "--out", out, path], capture_output=True, text=True)
        if run.returncode != 0:
            raise AssertionError("report_gen failed:\n" + run.stdout + run.stderr)
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)["jobs"]["rtt_8B"]

    def test_bridged_probes_split_in_two(self):
        job = self.run_gen([460, 55, 150, 58, 440, 60, 220, 62, 430, 65, 300, 70, 420, 100, 410, 400, 450])
        self.assertEqual(job["placements"], ["cache line 64 ns", "cache line 420 ns"])
        by = job["rows"]["heap.block.spsc"]["by_placement"]
        self.assertEqual(by["cache line 64 ns"]["reps"], 8)
        self.assertEqual(by["cache line 420 ns"]["reps"], 9)
        self.assertAlmostEqual(by["cache line 420 ns"]["median"], 840, places=6)  # twice the probe

    def test_noise_is_not_a_placement(self):
        job = self.run_gen([60 + i % 7 for i in range(99)] + [900])
        self.assertEqual(job["placements"], ["cache line 63 ns"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
