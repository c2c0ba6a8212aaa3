"""The Ag6 study's reproducible pipeline for its Ag/S/N/C/H/O demonstration model (sampling, labelling,
training, testing). The model it builds is shipped in nucleate/models/ag6 (models/ag6/ in the source tree).

    nucleate model build-ag6 -o WORKDIR [--stage sample|label|train|test|all] [--scale smoke|full] [--seed N]
    run_pipeline(workdir, stage="all", scale="full", seed=0, output=None) -> metrics dict (after "test")
    Pipeline(workdir, scale, seed): .sample(r), .label(r), .train(r), .train_final(), .current_round()
    cp2k_label(elements, positions_A, workdir); GFN2-xTB labels come from nucleate.models.xtb.xtb_label

Modules: recipe (kinds, scales), sampling + carving (frames), cp2k (labels; xTB: nucleate.models.xtb),
xtb_md (thermal frames), frames (npz and deepmd/npy), train (dp train/freeze/test), evaluate + testing
(accuracy, stability), card (MODEL_CARD.md, on nucleate.models.model_card), bench.
"""
