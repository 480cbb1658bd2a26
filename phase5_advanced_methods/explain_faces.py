"""Explain a trained frame detector on faces of held-out identities: Grad-CAM (task 5.10), LIME
(task 5.11) and, for ``attention_cnn``, its spatial attention map (task 5.5), saved as images.

    python phase5_advanced_methods/explain_faces.py --solutions \\
        --checkpoint runs/phase5/attention_cnn_best.pt --data-root runs/phase5/mini-forensics

Takes the ``--faces`` most confidently FAKE and most confidently REAL test faces (one per video,
from the checkpoint's face cache) and writes, per face, ``<n>_face.png``, ``<n>_gradcam.png``,
``<n>_lime.png`` (the superpixels that raise P(FAKE) the most, outlined) and, when the network has
an ``attention_map``, ``<n>_attention.png``, plus one ``explanations.png`` sheet with all of them.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
sys.path.insert(0, str(Path(__file__).resolve().parent))  # measure_robustness beside this file

import numpy as np  # noqa: E402

from common.errors import ArgumentParser, CourseError, run_cli  # noqa: E402
from grader import tree  # noqa: E402


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python phase5_advanced_methods/explain_faces.py",
                            description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--seed", type=int, default=0, help="the split seed of the training run")
    parser.add_argument("--faces", type=int, default=4, help="faces to explain (half FAKE-scored, half REAL-scored)")
    parser.add_argument("--lime-samples", type=int, default=1000)
    parser.add_argument("--output-dir", default="runs/phase5/explanations")
    tree.add_tree_argument(parser)
    args = parser.parse_args(argv)
    tree.activate_from_args(args)
    from measure_robustness import check_inputs, held_out_faces

    if args.faces < 1:
        raise CourseError("--faces must be at least 1")
    output = Path(args.output_dir)
    check_inputs(Path(args.checkpoint), Path(args.data_root), output)
    output.mkdir(parents=True, exist_ok=True)

    import torch

    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing
    from common.tools.visualize import gradcam_maps
    from phase5_advanced_methods.template_explainability import (explain_with_lime, lime_classifier, mask_outline,
                                                                 min_max, save_overlay)

    model, loaded = load_detector(args.checkpoint, "cpu")
    prep = checkpoint_preprocessing(loaded)
    faces, labels, videos = held_out_faces(Path(args.checkpoint), Path(args.data_root), "test", 1, args.seed)
    classify = lime_classifier(model, prep.mean, prep.std)
    scores = classify(faces)[:, 1]
    order = np.argsort(-scores)
    chosen = list(order[:(args.faces + 1) // 2]) + list(order[len(order) - args.faces // 2:])
    rows = []
    for n, index in enumerate(chosen):
        face = faces[index]
        cam = gradcam_maps(model, face[None], prep, torch.device("cpu"))[0]
        mask, _ = explain_with_lime(face, classify, num_samples=args.lime_samples, num_features=3, random_state=0)
        pictures = {"face": face, "gradcam": cam, "lime": mask_outline(face, mask)}
        save_overlay(output / f"{n}_face.png", face)
        save_overlay(output / f"{n}_gradcam.png", face, cam)
        save_overlay(output / f"{n}_lime.png", pictures["lime"])
        if hasattr(model, "attention_map"):
            with torch.no_grad():
                attention = model.attention_map(prep.normalise(face[None], "cpu"))[0, 0].numpy()
            pictures["attention"] = min_max(attention)  # the map's own range, as Grad-CAM's
            save_overlay(output / f"{n}_attention.png", face, pictures["attention"])
        rows.append((pictures, float(scores[index]), int(labels[index])))
        print(f"face {n}: test video {videos[index]}, label {'FAKE' if labels[index] else 'REAL'}, "
              f"P(FAKE) {scores[index]:.3f}", flush=True)
    sheet(rows, output / "explanations.png")
    print(f"written: {output}")
    return 0


def sheet(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.metrics import save_figure

    from phase5_advanced_methods.template_explainability import overlay

    columns = list(rows[0][0])
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(2.2 * len(columns), 2.3 * len(rows)), squeeze=False)
    for r, (pictures, score, label) in enumerate(rows):
        for c, name in enumerate(columns):
            picture = pictures[name]
            shown = overlay(pictures["face"], picture) if picture.ndim == 2 else picture
            axes[r, c].imshow(shown)
            axes[r, c].axis("off")
            title = f"{'FAKE' if label else 'REAL'}, P(FAKE) {score:.2f}" if c == 0 else name
            axes[r, c].set_title(title, fontsize=8)
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    run_cli(main)
