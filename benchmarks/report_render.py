"""How long the reports of a class of 30 take to render, from recorded grading results.

    .venv/bin/python benchmarks/report_render.py [--students 30]

Prints two figures: the class files (gradebook, class summary HTML and CSV), which a batch
rewrites after every student, with a goal under 2 s; and every student's own reports (HTML
with one timeline plot per fault, JUnit, JSON), which a batch writes once per student as it is
graded (minutes each), so per student is what matters there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit"))

from graded_runs import a_class  # noqa: E402
from halab.submissions.batch import write_class_files, write_student_reports  # noqa: E402

GOAL_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        outcomes = a_class(args.students, out / "submissions")
        write_class_files(out / "warm-up", outcomes[:2])  # imports, fonts, templates: once per process
        started = time.perf_counter()
        for outcome in outcomes:
            write_student_reports(out, outcome)
        students_s = time.perf_counter() - started
        started = time.perf_counter()
        write_class_files(out, outcomes)
        class_s = time.perf_counter() - started
    plots = sum(len(o.run.timelines) for o in outcomes if o.run)
    print(f"class files for {args.students} students (+1 refused, +1 failed): {class_s:.2f} s "
          f"(goal < {GOAL_S:.0f} s: {'met' if class_s < GOAL_S else 'NOT met'})")
    print(f"every student's reports: {students_s:.2f} s, {students_s / args.students:.3f} s per student "
          f"({plots} timeline plots, {students_s / max(plots, 1) * 1000:.0f} ms each at most)")


if __name__ == "__main__":
    main()
