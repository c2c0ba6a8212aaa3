"""Regenerate the molecule library's geometry files (methanol, AgL, Ag2L2, Ag6L6).

Run from the repository root:

    python systems/molecules/build_geometries.py            # rule geometries only
    python systems/molecules/build_geometries.py --relax     # + GFN2-xTB relaxation (needs tblite)

Each structure starts from chemical rules (bond lengths and angles below, in A and degrees):
a least-squares fit of the bonded distances and 1-3 distances implied by the angles, with a
soft repulsion between unbonded atoms.  With --relax the fitted geometry is then relaxed in
vacuum with GFN2-xTB (PyPI `tblite`, neutral, closed shell) by L-BFGS until the largest force
is below 0.01 eV/A.  The first line after the atom count records where a geometry came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares, minimize

HERE = Path(__file__).resolve().parent
ELECTRONIC_TEMPERATURE_K = 3000.0  # the Ag6 core's small gap needs Fermi smearing for the SCF to converge

# Ligand L = S-CH=NH (thiolate S, imine N) and methanol rules.
RULES = {
    "S-C": 1.75, "C=N": 1.28, "C-H": 1.09, "N-H": 1.02, "C-O": 1.427, "O-H": 0.956,
    "S-C=N": 125.0, "S-C-H": 116.0, "C=N-H": 112.0, "H-C-H": 108.5, "O-C-H": 110.0, "C-O-H": 108.9,
    # silver-ligand bonds: monomer / dimer from the authors' conf.lmp, cluster from the paper's KDE maxima
    "Ag-S(AgL)": 2.40, "Ag-S-C": 100.0,
    "Ag-Ag(Ag2L2)": 2.95, "Ag-S(Ag2L2)": 2.45, "Ag-N(Ag2L2)": 2.20,
    "Ag-Ag(Ag6L6)": 2.97, "Ag-S(Ag6L6)": 2.54, "Ag-N(Ag6L6)": 2.28,
}


def third_side(a: float, b: float, angle_deg: float) -> float:
    return float(np.sqrt(a * a + b * b - 2 * a * b * np.cos(np.radians(angle_deg))))


class Fit:
    """Target distances between atom pairs, fitted by least squares from a starting guess."""

    def __init__(self, elements: list[str], guess: np.ndarray):
        self.elements = list(elements)
        self.guess = np.asarray(guess, float)
        self.targets: dict[tuple[int, int], tuple[float, float]] = {}

    def distance(self, i: int, j: int, value: float, weight: float = 1.0) -> None:
        self.targets[(min(i, j), max(i, j))] = (value, weight)

    def angle(self, i: int, j: int, k: int, bond_ij: float, bond_jk: float, degrees: float, weight: float = 0.5) -> None:
        self.distance(i, k, third_side(bond_ij, bond_jk, degrees), weight)

    def solve(self) -> np.ndarray:
        n = len(self.elements)
        pairs = np.array(list(self.targets), int)
        values = np.array([v for v, _ in self.targets.values()])
        weights = np.array([w for _, w in self.targets.values()])
        known = set(self.targets)
        free = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in known], int)
        floor = np.array([2.0 if "H" in (self.elements[i], self.elements[j]) else 2.9 for i, j in free])

        def residuals(flat: np.ndarray) -> np.ndarray:
            x = flat.reshape(n, 3)
            d = np.linalg.norm(x[pairs[:, 0]] - x[pairs[:, 1]], axis=1)
            dfree = np.linalg.norm(x[free[:, 0]] - x[free[:, 1]], axis=1)
            return np.concatenate([weights * (d - values), 0.5 * np.maximum(0.0, floor - dfree)])

        fit = least_squares(residuals, self.guess.ravel(), xtol=1e-12, ftol=1e-12)
        x = fit.x.reshape(n, 3)
        return x - x.mean(axis=0)


def ligand_hydrogens(fit: Fit, s: int, c: int, n: int, hc: int, hn: int, rules=RULES) -> None:
    fit.distance(s, c, rules["S-C"])
    fit.distance(c, n, rules["C=N"])
    fit.distance(c, hc, rules["C-H"])
    fit.distance(n, hn, rules["N-H"])
    fit.angle(s, c, n, rules["S-C"], rules["C=N"], rules["S-C=N"])
    fit.angle(s, c, hc, rules["S-C"], rules["C-H"], rules["S-C-H"])
    fit.angle(c, n, hn, rules["C=N"], rules["N-H"], rules["C=N-H"])


def methanol() -> tuple[list[str], np.ndarray]:
    """CH3OH, atoms ordered C H H H O H as in the study's conf.lmp (staggered)."""
    r = RULES
    o = np.array([0.0, 0.0, 0.0])
    c = np.array([r["C-O"], 0.0, 0.0])
    coh = np.radians(r["C-O-H"])  # angle between O->C (+x) and O->H
    ho = o + r["O-H"] * np.array([np.cos(coh), np.sin(coh), 0.0])
    hydrogens = []
    och = np.radians(r["O-C-H"])
    for phi in (180.0, 60.0, -60.0):  # staggered against the hydroxyl H (phi = 0)
        p = np.radians(phi)
        direction = np.array([np.cos(np.pi - och), np.sin(np.pi - och) * np.cos(p), np.sin(np.pi - och) * np.sin(p)])
        hydrogens.append(c + r["C-H"] * direction)
    elements = ["C", "H", "H", "H", "O", "H"]
    x = np.array([c, *hydrogens, o, ho])
    return elements, x - x.mean(axis=0)


def agl() -> tuple[list[str], np.ndarray, Fit]:
    """Ag-S-CH=NH, N syn to Ag (as in the authors' monomer_dimer conf.lmp). Order Ag S N C H(C) H(N)."""
    el = ["Ag", "S", "N", "C", "H", "H"]
    guess = np.array([[-2.3, 0.5, 0], [0, 0, 0], [1.0, 2.2, 0], [0.9, 1.3, 0.01], [1.9, 0.9, 0], [1.8, 2.9, 0]], float)
    fit = Fit(el, guess)
    fit.distance(0, 1, RULES["Ag-S(AgL)"])
    fit.angle(0, 1, 3, RULES["Ag-S(AgL)"], RULES["S-C"], RULES["Ag-S-C"])
    ligand_hydrogens(fit, 1, 3, 2, 4, 5)
    fit.distance(0, 2, 3.35, 0.3)  # syn N, 3.38 A in the authors' monomer
    return el, fit.solve(), fit


def ag2l2() -> tuple[list[str], np.ndarray, Fit]:
    """Staple dimer: each Ag binds its own S and the other ligand's N (8-ring with an Ag-Ag bond).

    Order Ag1 Ag2 S1 S2 N1 N2 C1 C2 H(C1) H(C2) H(N1) H(N2); ligand k's S is bonded to Ag k.
    """
    el = ["Ag", "Ag", "S", "S", "N", "N", "C", "C", "H", "H", "H", "H"]
    ag1, ag2 = np.array([-1.48, 0, 0]), np.array([1.48, 0, 0])
    s1 = ag1 + 2.45 * np.array([-0.35, 0.94, 0.0])
    n1 = ag2 + 2.2 * np.array([0.2, 0.98, 0.0])
    c1 = (s1 + n1) / 2 + np.array([0, 0.9, 0.1])
    hc1 = c1 + np.array([0.2, 1.0, 0])
    hn1 = n1 + np.array([0.6, 0.8, 0])
    lig1 = np.array([s1, n1, c1, hc1, hn1])
    lig2 = -lig1  # inversion centre between the two Ag
    guess = np.array([ag1, ag2, lig1[0], lig2[0], lig1[1], lig2[1], lig1[2], lig2[2], lig1[3], lig2[3], lig1[4], lig2[4]])
    fit = Fit(el, guess)
    fit.distance(0, 1, RULES["Ag-Ag(Ag2L2)"])
    for ag, s, n, c, hc, hn, other_ag in ((0, 2, 4, 6, 8, 10, 1), (1, 3, 5, 7, 9, 11, 0)):
        fit.distance(ag, s, RULES["Ag-S(Ag2L2)"])
        fit.distance(other_ag, n, RULES["Ag-N(Ag2L2)"])
        fit.angle(ag, s, c, RULES["Ag-S(Ag2L2)"], RULES["S-C"], RULES["Ag-S-C"])
        fit.angle(other_ag, n, c, RULES["Ag-N(Ag2L2)"], RULES["C=N"], 124.0)
        ligand_hydrogens(fit, s, c, n, hc, hn)
    return el, fit.solve(), fit


def ag6l6() -> tuple[list[str], np.ndarray, Fit]:
    """Ag6 octahedron with its 3-fold axis along z; the six side faces carry one ligand each.

    The two opposite triangles (top T0-T2, bottom B0-B2) are bare.  Each slanted edge is bridged
    by one mu2-S and the ligand's N binds the face's third vertex, so every Ag has two S and one
    N (the crystal motif of Ag6(SR)6 with N-donor thiolates; S-Ag-S near 126 deg in the paper).
    Order: Ag x6, S x6, N x6, C x6, H(C) x6, H(N) x6.
    """
    edge = RULES["Ag-Ag(Ag6L6)"]
    radius = edge / np.sqrt(2.0)
    height, rho = radius / np.sqrt(3.0), radius * np.sqrt(2.0 / 3.0)
    top = [np.array([rho * np.cos(a), rho * np.sin(a), height]) for a in np.radians([0, 120, 240])]
    bottom = [np.array([rho * np.cos(a), rho * np.sin(a), -height]) for a in np.radians([60, 180, 300])]
    ag = top + bottom
    faces = []  # (S bridges Ag a and Ag b, N binds Ag c)
    for i in range(3):
        faces.append((top[(i + 1) % 3], bottom[i], top[i], (i + 1) % 3, 3 + i, i))              # up face
        faces.append((top[(i + 1) % 3], bottom[(i + 1) % 3], bottom[i], (i + 1) % 3, 3 + (i + 1) % 3, 3 + i))  # down face
    s_pos, n_pos, c_pos, hc_pos, hn_pos, links = [], [], [], [], [], []
    for a, b, c, ia, ib, ic in faces:
        centre = (a + b + c) / 3
        out = centre / np.linalg.norm(centre)
        mid = (a + b) / 2
        s = mid + 2.0 * mid / np.linalg.norm(mid)
        n = c + 2.28 * (0.6 * c / np.linalg.norm(c) + 0.8 * out) / np.linalg.norm(0.6 * c / np.linalg.norm(c) + 0.8 * out)
        cc = (s + n) / 2 + 1.0 * out
        s_pos.append(s)
        n_pos.append(n)
        c_pos.append(cc)
        hc_pos.append(cc + 1.09 * out)
        hn_pos.append(n + 1.02 * out)
        links.append((ia, ib, ic))
    el = ["Ag"] * 6 + ["S"] * 6 + ["N"] * 6 + ["C"] * 6 + ["H"] * 12
    guess = np.array(ag + s_pos + n_pos + c_pos + hc_pos + hn_pos)
    fit = Fit(el, guess)
    for i in range(6):
        for j in range(i + 1, 6):
            if np.linalg.norm(guess[i] - guess[j]) < edge * 1.1:
                fit.distance(i, j, edge, 0.5)
    for k, (ia, ib, ic) in enumerate(links):
        s, n, c, hc, hn = 6 + k, 12 + k, 18 + k, 24 + k, 30 + k
        fit.distance(ia, s, RULES["Ag-S(Ag6L6)"])
        fit.distance(ib, s, RULES["Ag-S(Ag6L6)"])
        fit.distance(ic, n, RULES["Ag-N(Ag6L6)"])
        fit.angle(ic, n, c, RULES["Ag-N(Ag6L6)"], RULES["C=N"], 124.0)
        ligand_hydrogens(fit, s, c, n, hc, hn)
    return el, fit.solve(), fit


def relax_gfn2(elements: list[str], x: np.ndarray, fmax_ev_a: float = 0.01) -> tuple[np.ndarray, float, str]:
    """GFN2-xTB vacuum relaxation; returns positions (A), energy (eV), tblite version."""
    from nucleate.models.xtb import gfn2_singlepoint, tblite_version

    def energy_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        energy, forces = gfn2_singlepoint(elements, flat.reshape(-1, 3), max_iter=500,
                                          electronic_temperature_k=ELECTRONIC_TEMPERATURE_K)
        return energy, -forces.ravel()

    opt = minimize(energy_gradient, x.ravel(), jac=True, method="L-BFGS-B",
                   options={"gtol": fmax_ev_a, "maxiter": 1000})
    e, g = energy_gradient(opt.x)
    fmax = float(np.abs(g).max())
    print(f"  GFN2-xTB: E = {e:.4f} eV, max |F| component = {fmax:.4f} eV/A after {opt.nit} steps", file=sys.stderr)
    return opt.x.reshape(-1, 3) - opt.x.reshape(-1, 3).mean(axis=0), e, tblite_version()


def write_xyz(name: str, elements: list[str], x: np.ndarray, provenance: dict) -> Path:
    path = HERE / f"{name}.xyz"
    lines = [str(len(elements)), json.dumps(provenance, sort_keys=True)]
    lines += [f"{e:2s} {p[0]:12.6f} {p[1]:12.6f} {p[2]:12.6f}" for e, p in zip(elements, x)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relax", nargs="*", default=None, metavar="NAME",
                        help="relax these (default all but methanol) with GFN2-xTB")
    args = parser.parse_args()
    builders = {"AgL": agl, "Ag2L2": ag2l2, "Ag6L6": ag6l6}
    el, x = methanol()
    write_xyz("methanol", el, x, {"name": "methanol", "solvent": True, "liquid_density_g_cm3": 0.787,
              "source": "rules: C-O 1.427, O-H 0.956, C-H 1.09 A, C-O-H 108.9, O-C-H 110 deg, staggered (gas-phase microwave geometry)"})
    relax = set(builders) if args.relax == [] else set(args.relax or [])
    for name, builder in builders.items():
        el, x, _ = builder()
        source = f"rules: {builder.__doc__.strip().splitlines()[0]} Fitted to bond lengths/angles in build_geometries.RULES"
        provenance = {"name": name, "solvent": False, "source": source}
        if name in relax:
            x, energy, tb_version = relax_gfn2(el, x)
            provenance["relaxed"] = f"GFN2-xTB (tblite {tb_version}), vacuum, neutral, Fermi smearing at {ELECTRONIC_TEMPERATURE_K:g} K, L-BFGS to max force component 0.01 eV/A"
            provenance["energy_eV"] = round(energy, 5)
        print(f"{name}: {write_xyz(name, el, x, provenance)}", file=sys.stderr)


if __name__ == "__main__":
    main()
