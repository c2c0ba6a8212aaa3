"""The four resumable stages of the Ag6 demonstration model: sample, label, train, test.

Work folder layout (every file is written atomically; a stage skips what already exists):

    pipeline.json                    scale, seed, versions (a work folder keeps its scale and seed)
    boxes/<kind>_<seed>/             packed periodic boxes (nucleate.systems.build)
    round_NNN/frames/<kind>.npz      configurations to label (round 0: packed/distorted; later: committee MD)
    round_NNN/labels/<kind>.npz      GFN2-xTB labels (NaN = not yet labelled or SCF failure)
    round_NNN/explore/<kind>/        committee MD run directories (rounds >= 1)
    round_NNN/models/mK/model.pb     committee trained on rounds 0..NNN
    test/frames|labels/<kind>.npz    held-out frames (independent random stream)
    cp2k/                            CP2K PBE-D3 validation frames and labels
    final/model_compressed.pb        shipped model (dp compress of final/model.pb, the plain frozen one)
    final/test/, final/stability/    dp test outputs, stability runs; final/metrics.json, MODEL_CARD.md
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.studies.ag6.training.frames import FrameSet, Labels, write_deepmd_system
from nucleate.studies.ag6.training.recipe import SCALES, TYPE_MAP, Kind, Scale, kind
from nucleate.studies.ag6.training import sampling

LABEL_SAVE_EVERY = 5  # frames between checkpoints of a labels file
CP2K_SHELL = 2        # methanol around AgL in the CP2K validation frames (18 atoms)


class Pipeline:
    def __init__(self, workdir: str | Path, scale: str | Scale = "smoke", seed: int = 0, log=print):
        self.work = Path(workdir)
        self.scale = SCALES[scale] if isinstance(scale, str) else scale
        self.seed = seed
        self.log = log
        self.kinds: list[Kind] = [kind(name) for name in self.scale.kinds]
        self._check_settings()

    # ------------------------------------------------------------------ bookkeeping
    def _check_settings(self) -> None:
        settings = {"scale": self.scale.name, "seed": self.seed}
        path = self.work / "pipeline.json"
        if path.is_file():
            old = json.loads(path.read_text())
            if {k: old.get(k) for k in settings} != settings:
                raise NucleateError(f"{self.work} was started with scale {old.get('scale')!r} and seed {old.get('seed')}; "
                                    f"resume it with those, or choose a new work folder for scale {self.scale.name!r} "
                                    f"seed {self.seed}")
        else:
            self.work.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings, indent=1) + "\n")

    def round_dir(self, r: int) -> Path:
        return self.work / f"round_{r:03d}"

    def committee(self, r: int) -> list[Path]:
        return [self.round_dir(r) / "models" / f"m{k}" / "model.pb" for k in range(self.scale.committee)]

    def current_round(self) -> int:
        """The first round whose committee is not trained yet (rounds + 1 when all are)."""
        for r in range(self.scale.rounds + 1):
            if not all(p.is_file() for p in self.committee(r)):
                return r
        return self.scale.rounds + 1

    # ------------------------------------------------------------------ sample
    def sample(self, r: int) -> None:
        frames_dir = self.round_dir(r) / "frames"
        for k in self.kinds:
            path = frames_dir / f"{k.name}.npz"
            if path.is_file() or path.with_suffix(".none").is_file():
                continue
            began = time.perf_counter()
            if r == 0:
                frames = sampling.initial_frames(k, self.scale.initial_frames, self.seed, self.work / "boxes", "train")
            elif k.vacuum:
                continue  # bare clusters are only sampled in round 0
            else:
                # solvent-centred frames first: the kind's own file marks the kind as sampled
                explored = self._explored(k, r)
                for stem in sorted(explored, key=lambda name: name == k.name):
                    explored[stem].save(frames_dir / f"{stem}.npz")
                    self.log(f"sample round {r} {stem}: {len(explored[stem])} frames of {explored[stem].natoms} atoms "
                             f"({time.perf_counter() - began:.1f} s)")
                if k.name not in explored:  # no solute-centred frame: mark the kind as sampled all the same
                    frames_dir.mkdir(parents=True, exist_ok=True)
                    path.with_suffix(".none").write_text(f"explored, {sum(map(len, explored.values()))} frames, "
                                                         "none solute-centred\n")
                continue
            frames.save(path)
            self.log(f"sample round {r} {k.name}: {len(frames)} frames of {frames.natoms} atoms "
                     f"({time.perf_counter() - began:.1f} s)")
        if r == 0:
            self._sample_condensed_extras(frames_dir)
            self._sample_thermal(frames_dir)
            self._sample_held_out()

    def _sample_condensed_extras(self, frames_dir: Path) -> None:
        """One extra file per condensed kind and recipe: close intermolecular contacts (<kind>_squeezed, see
        sampling.SQUEEZE_FACTOR) and proton shifts / H-H contacts (<kind>_distorted, see sampling.PROTON_SHIFT_ANGSTROM)."""
        boxes = self.work / "boxes"
        extras = {"squeezed": (self.scale.squeezed_frames, lambda k, n: sampling.initial_frames(
                      k, n, self.seed, boxes, "train", squeeze=True)),
                  "distorted": (self.scale.distorted_frames, lambda k, n: sampling.distorted_frames(k, n, self.seed, boxes))}
        for suffix, (count, make) in extras.items():
            for k in self.kinds:
                path = frames_dir / f"{k.name}_{suffix}.npz"
                if k.vacuum or not count or path.is_file():
                    continue
                began = time.perf_counter()
                frames = make(k, count)
                frames.save(path)
                self.log(f"sample round 0 {k.name} {suffix}: {len(frames)} frames ({time.perf_counter() - began:.1f} s)")

    def _sample_thermal(self, frames_dir: Path) -> None:
        """GFN2-xTB Langevin MD of each small kind's carved cluster (or bare molecule), 300 or 450 K."""
        from nucleate.studies.ag6.training.xtb_md import xtb_md_frames

        if not self.scale.thermal_frames:
            return
        for index, k in enumerate(self.kinds):
            path = frames_dir / f"{k.name}_thermal.npz"
            if path.is_file():
                continue
            start = sampling.initial_frames(k, 1, self.seed, self.work / "boxes", "thermal")
            if start.natoms > self.scale.thermal_max_atoms:
                continue
            temperature = (300.0, 450.0)[index % 2]
            md_seed = int(sampling.rng_for(self.seed, "thermal", k.name).integers(1, 2**31 - 1))
            began = time.perf_counter()
            steps = self.scale.thermal_frames * self.scale.thermal_every
            x, at_steps = xtb_md_frames(start.elements, start.positions[0], steps=steps,
                                        every=self.scale.thermal_every, temperature_k=temperature, seed=md_seed)
            if len(x) == 0:
                self.log(f"sample round 0 {k.name} thermal: the first xTB MD steps failed; no frame")
                continue
            origins = [f"thermal: GFN2-xTB Langevin MD {temperature:g} K, step {s} (0.5 fs)" for s in at_steps]
            FrameSet(k.name, start.elements, x, origins).save(path)
            self.log(f"sample round 0 {k.name} thermal: {len(x)} frames of xTB MD at {temperature:g} K "
                     f"({time.perf_counter() - began:.1f} s)")

    def _sample_held_out(self) -> None:
        for k in self.kinds:
            path = self.work / "test" / "frames" / f"{k.name}.npz"
            if not path.is_file():
                sampling.initial_frames(k, self.scale.test_frames, self.seed, self.work / "boxes", "test").save(path)
        path = self.work / "cp2k" / "frames" / "AgL_cp2k.npz"
        if self.scale.cp2k_frames and not path.is_file():
            small = Kind("AgL_cp2k", kind("AgL").box, CP2K_SHELL)
            sampling.initial_frames(small, self.scale.cp2k_frames, self.seed, self.work / "boxes", "cp2k").save(path)

    def _explored(self, k: Kind, r: int) -> dict[str, FrameSet]:
        """Frames of committee MD where the models disagree, carved around the atom they disagree on most:
        with the kind's solutes if that atom is in them or in their methanol shell (file <kind>), otherwise
        as a liquid-methanol sphere around its molecule (file <kind>_solvent): a failure in the bulk
        solvent far from the solutes is invisible in a solute-centred cluster."""
        models = self.committee(r - 1)
        missing = [str(m) for m in models if not m.is_file()]
        if missing:
            raise NucleateError(f"round {r} explores with the round {r - 1} committee, which is not trained "
                                f"({missing[0]} missing); run `--stage train` first")
        index = [x.name for x in self.kinds].index(k.name)
        temperature = (300.0, 450.0)[(index + r) % 2]
        rng = sampling.rng_for(self.seed, "explore", r, k.name)
        md_seed = int(rng.integers(1, 800_000_000))
        dump_every = max(1, self.scale.explore_steps // 100)
        packed, positions, deviation, per_atom = sampling.explore(
            k, models, self.round_dir(r) / "explore" / k.name, steps=self.scale.explore_steps,
            temperature_k=temperature, seed=md_seed, dump_every=dump_every)
        # no minimisation here: with a young committee it walks straight into the model's holes (atoms
        # collapse, every frame beyond the trust window); the stability checks do minimise
        chosen = sampling.select_frames(deviation, self.scale.explore_frames, rng)
        carved: dict[str, tuple[list[str], list[np.ndarray], list[str]]] = {}
        for i in chosen:
            stem, where, elements, x = self._carve_explored(k, packed, positions[i],
                                                            None if per_atom is None else per_atom[i], rng)
            if sampling._min_pair(x) < sampling.MIN_PAIR_ANGSTROM:
                continue  # collapsed atoms: no SCF, nothing to learn
            entry = carved.setdefault(stem, (elements, [], []))
            entry[1].append(x)
            entry[2].append(f"round {r}: committee MD {temperature:g} K frame {i}, max force deviation "
                            f"{deviation[i]:.3f} eV/A, {where}")
        if not carved and self.scale.name == "smoke":  # smoke models collapse anything: keep the starting frame
            elements, x, _ = sampling.carve_frame(k, packed, positions[0], rng)
            carved[k.name] = (elements, [x], [f"round {r}: committee MD {temperature:g} K frame 0 (smoke fallback)"])
        if not carved:
            self.log(f"sample round {r} {k.name}: no usable frame ({len(chosen)} selected, max deviation "
                     f"{deviation.max():.3f} eV/A, selected frames collapsed below "
                     f"{sampling.MIN_PAIR_ANGSTROM} A); no new frame")
        return {stem: FrameSet(stem, elements, np.asarray(xs), origins) for stem, (elements, xs, origins) in carved.items()}

    @staticmethod
    def _carve_explored(k: Kind, packed: sampling.PackedBox, positions: np.ndarray, atom_deviation: np.ndarray | None,
                        rng: np.random.Generator) -> tuple[str, str, list[str], np.ndarray]:
        """(file stem, how it was carved, elements, positions) of one explored frame."""
        if atom_deviation is None:
            return (k.name, "solute-centred", *sampling.carve_frame(k, packed, positions, rng)[:2])
        molecule, in_solvent = sampling.disagreement_core(packed, atom_deviation)
        if not packed.solutes:
            return (k.name, "centred on the largest disagreement",
                    *sampling.carve_frame(k, packed, positions, rng, core=[molecule])[:2])
        elements, x, molecules = sampling.carve_frame(k, packed, positions, rng)
        if in_solvent and molecule not in set(molecules.tolist()):
            return (f"{k.name}_solvent", "solvent sphere around the largest disagreement",
                    *sampling.carve_frame(k, packed, positions, rng, core=[molecule], shell=kind("methanol").shell)[:2])
        return k.name, "solute-centred", elements, x

    # ------------------------------------------------------------------ label
    def frame_files(self, r: int) -> list[Path]:
        files = sorted((self.round_dir(r) / "frames").glob("*.npz"))
        if r == 0:
            files += sorted((self.work / "test" / "frames").glob("*.npz"))
            files += sorted((self.work / "cp2k" / "frames").glob("*.npz"))
        return files

    def label(self, r: int) -> None:
        from nucleate.models.xtb import xtb_label

        for frames_path in self.frame_files(r):
            labels_path = frames_path.parent.parent / "labels" / frames_path.name
            frames = FrameSet.load(frames_path)
            labels = _load_or_empty(labels_path, frames, "GFN2-xTB (tblite)")
            todo = np.flatnonzero(np.isnan(labels.seconds))
            for count, i in enumerate(todo, start=1):
                result = xtb_label(frames.elements, frames.positions[i])
                labels.energies_ev[i] = result.energy_ev
                labels.forces_ev_per_angstrom[i] = result.forces_ev_per_angstrom
                labels.seconds[i] = result.seconds
                if count % LABEL_SAVE_EVERY == 0 or count == len(todo):
                    labels.save(labels_path)
            if len(todo):
                failed = int((~labels.ok).sum())
                self.log(f"label {frames_path.parent.parent.name}/{frames_path.stem}: {len(todo)} frames of "
                         f"{frames.natoms} atoms, {np.nanmean(labels.seconds[todo]):.2f} CPU s/frame (xTB)"
                         + (f", {failed} SCF failures dropped" if failed else ""))
        if r == 0 and self.scale.cp2k_frames:
            self._label_cp2k()

    def _label_cp2k(self) -> None:
        from nucleate.studies.ag6.training.cp2k import cp2k_executable, cp2k_label

        frames_path = self.work / "cp2k" / "frames" / "AgL_cp2k.npz"
        if cp2k_executable() is None:
            self.log("label cp2k: CP2K is not installed; the model card will have no CP2K comparison")
            return
        frames = FrameSet.load(frames_path)
        path = self.work / "cp2k" / "cp2k_labels.npz"
        labels = _load_or_empty(path, frames, "CP2K PBE-D3 GTH DZVP-MOLOPT-SR")
        for i in np.flatnonzero(np.isnan(labels.seconds)):
            try:
                result = cp2k_label(frames.elements, frames.positions[i], self.work / "cp2k" / "runs" / f"{i:03d}")
                labels.energies_ev[i], labels.forces_ev_per_angstrom[i] = result.energy_ev, result.forces_ev_per_angstrom
                labels.seconds[i] = result.cpu_seconds
            except NucleateError as exc:
                self.log(f"label cp2k frame {i}: {exc}")
                labels.seconds[i] = np.inf
            labels.save(path)
            self.log(f"label cp2k frame {i}: {labels.seconds[i]:.0f} s CPU")

    # ------------------------------------------------------------------ train
    def deepmd_systems(self, upto_round: int) -> list[Path]:
        systems = []
        for r in range(upto_round + 1):
            for frames_path in sorted((self.round_dir(r) / "frames").glob("*.npz")):
                systems += self._system(frames_path, self.round_dir(r) / "data" / frames_path.stem)
        return systems

    def test_systems(self) -> dict[str, Path]:
        out = {}
        for frames_path in sorted((self.work / "test" / "frames").glob("*.npz")):
            found = self._system(frames_path, self.work / "test" / "data" / frames_path.stem)
            if found:
                out[frames_path.stem] = found[0]
        return out

    def _system(self, frames_path: Path, directory: Path) -> list[Path]:
        labels_path = frames_path.parent.parent / "labels" / frames_path.name
        if not labels_path.is_file():
            raise NucleateError(f"{frames_path} has no labels yet ({labels_path}); run `--stage label` first")
        labels = Labels.load(labels_path)
        if np.isnan(labels.seconds).any():
            raise NucleateError(f"{labels_path} is only partly labelled; run `--stage label` to finish it")
        if not (directory / "set.000" / "force.npy").is_file():
            frames = FrameSet.load(frames_path)
            if frames_path.stem.endswith("_thermal"):
                labels = _without_runaway_labels(frames, labels, frames_path, self.log)
            if write_deepmd_system(frames, labels, directory, TYPE_MAP) is None:
                return []
        return [directory]

    def train(self, r: int) -> None:
        systems = self.deepmd_systems(r)
        validation = list(self.test_systems().values())
        for k, model in enumerate(self.committee(r)):
            if model.is_file():
                continue
            began = time.perf_counter()
            from nucleate.studies.ag6.training.train import train_model

            train_model(model.parent, systems, validation, steps=self.scale.train_steps, seed=self.seed + 1000 * r + k)
            self.log(f"train round {r} model {k}: {self.scale.train_steps} steps on {len(systems)} systems "
                     f"({time.perf_counter() - began:.1f} s)")

    # ------------------------------------------------------------------ test
    def train_final(self) -> Path:
        """The shipped model, compressed (final/model_compressed.pb; final/model.pb is the plain frozen one)."""
        from nucleate.studies.ag6.training.train import compress_model, train_model

        model = self.work / "final" / "model.pb"
        if not model.is_file():
            began = time.perf_counter()
            train_model(model.parent, self.deepmd_systems(self.scale.rounds), list(self.test_systems().values()),
                        steps=self.scale.final_steps, seed=self.seed)
            self.log(f"train final model: {self.scale.final_steps} steps ({time.perf_counter() - began:.1f} s)")
        return compress_model(model.parent, model, model.with_name("model_compressed.pb"))


def _without_runaway_labels(frames: FrameSet, labels: Labels, path: Path, log) -> Labels:
    """A thermal trajectory's labels without the frames whose energy ran away (xtb_md.runaway_frames)."""
    import re

    from nucleate.studies.ag6.training.xtb_md import runaway_frames

    found = re.search(r"MD ([0-9.]+) K", frames.origins[0]) if frames.origins else None
    if found is None:
        return labels
    bad = runaway_frames(labels.energies_ev, frames.natoms, float(found.group(1)))
    if bad.any():
        log(f"{path}: {int(bad.sum())} of {int(labels.ok.sum())} labelled frames dropped, their energy lies far above the "
            f"trajectory's lowest (an SCF on another electronic state)")
        labels = Labels(np.where(bad, np.nan, labels.energies_ev), labels.forces_ev_per_angstrom, labels.seconds,
                        labels.method)
    return labels


def _load_or_empty(path: Path, frames: FrameSet, method: str) -> Labels:
    if path.is_file():
        labels = Labels.load(path)
        if len(labels.energies_ev) == len(frames):
            return labels
    n = len(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Labels(np.full(n, np.nan), np.full((n, frames.natoms, 3), np.nan), np.full(n, np.nan), method)
