"""nucleate.plumed_cvs: PLUMED inputs written from named atom groups instead of hand-typed indices.

Entry point for the engine:

    render_plumed(config, groups, data, *, temperature_K, restart=False) -> str

`config` is the `plumed:` section of a run spec (when it is not a file), either a preset

    {"preset": "ag6/monomer_dimer", "overrides": {...}}

or a full description (lengths in units.length, energies in units.energy):

    units: {length: A, energy: kcal/mol, time: fs}   # optional; PLUMED's nm, kj/mol, ps by default
    cvs:                                             # in order; later CVs may use earlier ones
      - {name: c_box, type: fixed_point, at: initial_centroid:Ag}
      - {name: cn_agn, type: coordination, a: Ag, b: N, r0: 3.25, nn: 6, mm: 8}
      - {name: nsolv, type: solvent_count, group: solvent_O, point: c_box, r0: 2.0, nn: 6, mm: 10}
      - {name: s1, type: combine, args: [cn_agn, nsolv], coefficients: [1, 1]}
      - {name: d_sc, type: distance, each: S, atoms: [self, "nearest(C, same)"]}
    walls: [{arg: nsolv, upper: 5.0, kappa: 100}]
    restraints: [{arg: d_com, at: 0.0, kappa: 100}]
    guards: methanol                                 # walls on each methanol's C-H, C-O, O-H bonds
    bias: {protocol: wtmetad, args: [s1, nsolv], pace: 100, height: 3, sigma: [0.05, 0.01],
           biasfactor: 25, grid: auto}
    print_stride: 100
    colvar: COLVAR

CV types and atom selectors: nucleate.plumed_cvs.cvs and .atoms; walls/restraints: .restraints;
guards (style bonds, the default, or the study's all-pairs style): .guards; protocols: .protocols;
presets: .presets (files in plumed_cvs/presets/, with a commented example in presets/example.yaml). Every user mistake raises NucleateError before
anything runs.

No value may smuggle a PLUMED action into the input (nucleate.validate): no line break or other
control character anywhere, names are PLUMED labels, title/comments one line, and the files the
run writes (colvar, bias.file, bias.state_file) plain names inside the run directory. The only
path allowed outside it is bias.walkers.dir, the directory file-shared walkers exchange hills
through: relative, it may start with '..' (default ../walkers); absolute, only with
`walkers.shared: true`.
"""

from __future__ import annotations

from nucleate.errors import NucleateError
from nucleate.systems import DataFile, Groups

from .presets import list_presets, resolve
from .render import build_input
from .render import plumed_units as _units_of

__all__ = ["render_plumed", "resolve_config", "plumed_units", "list_presets"]


def resolve_config(config: dict) -> tuple[dict, str | None]:
    """A `plumed:` section with any preset expanded and overrides applied; and the preset name."""
    if not isinstance(config, dict):
        raise NucleateError(f"plumed: expected a mapping (or a plumed.dat file name), got {config!r}")
    return resolve(config)


def plumed_units(config: dict) -> dict:
    """The units the generated plumed.dat declares, e.g. {"length": "A", "energy": "kcal/mol",
    "time": "fs"} (PLUMED's nm, kj/mol, ps when not given); presets are resolved first."""
    resolved, _ = resolve_config(config)
    return _units_of(resolved)


def render_plumed(config: dict, groups: Groups, data: DataFile, *, temperature_K: float,
                  restart: bool = False) -> str:
    """The text of plumed.dat for this system. temperature_K goes to TEMP= of biasing actions;
    restart=True adds RESTART so PLUMED appends to COLVAR/HILLS and re-reads the bias."""
    resolved, preset = resolve_config(config)
    return build_input(resolved, groups, data, temperature_K=temperature_K, restart=restart, preset=preset)
