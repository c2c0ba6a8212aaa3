"""Tiwari & Karmakar's Ag6(SCHNH)6-in-methanol nucleation study: its four simulations, their analysis,
and a report that puts this project's numbers beside the published ones.

plan.py     the simulations and the three scales (steps, dump strides)
execute.py  boxes, run directories, resumable execution
analyse.py  per-simulation analysis -> numbers (JSON) + figures (PNG)
published.py the study's numbers (from shared/reference/ag6-study.md) and the verdict rules
report.py   REPORT.md: settings, the side-by-side table, figures
training/   the pipeline that builds the Ag/S/N/C/H/O demonstration model (nucleate model build-ag6)
"""
