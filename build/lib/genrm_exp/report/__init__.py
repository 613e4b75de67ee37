"""Tables and charts from run folders.

    python -m genrm_exp.report outputs/multirun/2026-11-26_10-00-00 [more run or multirun dirs]

Finds every run (a folder with config.yaml) below the given folders, and writes report.md
(methods x evaluation sets, accuracy with 95% intervals, RewardBench sections, and the cost of
each cell: train and total seconds, GPUs, GPU-hours, generated tokens) and
report.png (accuracy per set with the intervals as error bars) into the first folder, or --out;
for STaR runs also a per-iteration table and star.png (accuracy against iteration, star.py);
for judges a table of position bias / invalid verdicts / maj@1 vs maj@k and reliability.png (judges.py).
A run without metrics.json is listed as FAILED with the last line of its error.txt. Every table row
is scored on its evaluation sets' fingerprints (metrics.json); a cell whose set differs from the
others' in the same column is flagged, since it did not score the same inputs. Two baseline rows
give the accuracy of picking the longer and the shorter response.

    runs.py     find run folders, label them by what a sweep varies
    tables.py   the main table, RewardBench sections, the table printed at the end of a run
    judges.py   position bias, invalid verdicts, maj@1 / maj@k, calibration (reliability.png)
    star.py     STaR per-iteration table and curves (star.png)
    charts.py   accuracy per set with intervals (report.png)
"""
