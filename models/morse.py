"""The exact reference potential of the toy model: a Morse pair potential for silver.

Parameters are Girifalco & Weizer's fit to silver (Phys. Rev. 114, 687 (1959)); the LAMMPS
`morse/smooth/linear` form takes energy and force smoothly to zero at the cutoff, so the
reference has no jump a smooth DeePMD descriptor would be asked to learn.
"""

from __future__ import annotations

from dataclasses import dataclass

# The study's type map: the toy model carries all six types so it plugs into the same specs.
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]


@dataclass(frozen=True)
class MorseParameters:
    depth_ev: float = 0.3323          # D0, eV
    alpha_per_angstrom: float = 1.3690  # 1/A
    r0_angstrom: float = 3.115         # A
    cutoff_angstrom: float = 6.0       # A; equals the descriptor cutoff so the model sees all of it

    def pair_commands(self) -> list[str]:
        """LAMMPS commands (units metal) putting Ag-Ag Morse on type 1; other types do not interact."""
        return [
            f"pair_style morse/smooth/linear {self.cutoff_angstrom}",
            "pair_coeff * * 0.0 1.0 1.0",
            f"pair_coeff 1 1 {self.depth_ev} {self.alpha_per_angstrom} {self.r0_angstrom}",
        ]


GIRIFALCO_WEIZER_SILVER = MorseParameters()
