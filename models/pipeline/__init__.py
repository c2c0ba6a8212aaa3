"""Reproducible pipeline for the Ag/S/N/C/H/O demonstration model (sampling, labelling, training, testing).

    nucleate model build-ag6 -o WORKDIR [--stage sample|label|train|test|all] [--scale smoke|full] [--seed N]
    run_pipeline(workdir, stage="all", scale="full", seed=0, output=None) -> metrics dict (after "test")
    Pipeline(workdir, scale, seed): .sample(r), .label(r), .train(r), .train_final(), .current_round()
    xtb_label(elements, positions_A) -> XtbResult (eV, eV/A);  cp2k_label(elements, positions_A, workdir)

Modules: recipe (kinds, scales), sampling + carving (frames), xtb / cp2k (labels), frames (npz and
deepmd/npy), train (dp train/freeze/test), evaluate + testing (accuracy, stability), card, bench.
"""
