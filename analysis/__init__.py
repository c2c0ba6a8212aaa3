"""nucleate.analysis: PLUMED files, free energies from hills, reweighting, errors, basins, plots.

This package reads what PLUMED wrote (COLVAR, HILLS, grids); analyses of the atoms themselves
(the LAMMPS dump: bond KDEs, coordination series, nuclei) are the subpackage
nucleate.analysis.trajectory.  Kept import-light on purpose (nothing is imported here).  Entry points:
- nucleate.analysis.plumed_files.read_plumed(paths, columns=None, units=None) -> PlumedTable
  (plain or gzipped; units from --input-units, manifest.json or plumed.dat: run_units)
- nucleate.analysis.hills.read_hills(paths) -> Hills; sum_hills(hills, grid=None, ...) -> [FES]
- nucleate.analysis.reweight.Reweighter(table, cvs, bias, kt, ...).run(...) -> ReweightResult;
  .weighted_samples() -> WeightedSamples, which fes_estimate.estimate_fes turns into a FES
  (histogram or exact Gaussian KDE, block errors) and weighted_samples.combine_walkers joins
- nucleate.analysis.colvar_restarts.drop_superseded_rows: a restarted run's repeated rows
- nucleate.analysis.weight_checks.check_weights: Kish effective sample size, dominated weights
- nucleate.analysis.basins.find_basins / minimum_free_energy_path / delta_g_vs_time
- nucleate.analysis.plot_fes.plot_fes / plot_delta_g
- nucleate.analysis.output_files.write_output(path, writer): every table and figure is written
  through a temporary file and os.replace, so it is whole or absent, and an OSError is one line
"""
