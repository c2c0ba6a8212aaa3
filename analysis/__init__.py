"""nucleate.analysis: PLUMED files, free energies from hills, reweighting, errors, basins, plots.

Kept import-light on purpose (nothing is imported here).  Entry points:
- nucleate.analysis.plumed_files.read_plumed(paths, columns=None, units=None) -> PlumedTable
- nucleate.analysis.hills.read_hills(paths) -> Hills; sum_hills(hills, grid=None, ...) -> [FES]
- nucleate.analysis.reweight.Reweighter(table, cvs, bias, kt, ...).run(...) -> ReweightResult
- nucleate.analysis.basins.find_basins / minimum_free_energy_path / delta_g_vs_time
- nucleate.analysis.plot_fes.plot_fes / plot_delta_g
- nucleate.analysis.output_files.write_output(path, writer): every table and figure is written
  through a temporary file and os.replace, so it is whole or absent, and an OSError is one line
"""
