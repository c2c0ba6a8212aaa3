"""nucleate.engine: run specifications, rendering and the in-process LAMMPS + DeePMD + PLUMED engine.

It runs what a spec names and picks nothing by itself: a spec gives its potential (or --model does)
and its type map (or its groups file does). The demo and the doctor, which name the embedded models,
are commands of the application layer (nucleate.demo, nucleate.doctor).
"""
