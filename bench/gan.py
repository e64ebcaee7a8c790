"""The GAN acceptance benchmark (``make bench-gan``).

1. Render a synthetic "real" set from the built-in example population (3 identity clusters,
   bimodal skin tone, 30% smiling; other components narrower than the prior): N images at R px.
2. Train on CPU for ``--steps`` (the learning rates fall to 0 there), stopping early if
   ``--minutes`` of wall clock (the time limit of the run config) run out first.
3. Evaluate: Frechet distance of visible coefficients (generator and prior baseline),
   precision/recall, mixture coverage, diversity. Print the figures and the acceptance bar.

Usage: .venv/bin/python bench/gan.py [--out out/bench-gan] [--n 5000] [--steps 3000]
       [--minutes 30] [--docs] [--trajectory STEPS]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from mesh_avatar.cli import main as cli


def run(argv: list[str]) -> None:
    code = cli(argv)
    if code:
        sys.exit(code)


def dataset_matches(data: Path, model_spec: str) -> bool:
    """Whether ``data`` holds a finished set drawn from the current built-in population and
    rendered with the current ``model_spec`` (a set from before a change of the model would be
    compared with coefficients of another space)."""
    from mesh_avatar.datasets.population import example_population
    from mesh_avatar.gan.checkpoint import model_fingerprint
    from mesh_avatar.morphable import load_model

    meta_file, population_file = data / "dataset.json", data / "population.json"
    if not (meta_file.is_file() and population_file.is_file()):
        return False
    if population_file.read_text() != example_population().to_json():
        return False
    recorded = json.loads(meta_file.read_text()).get("model", {}).get("fingerprint")
    return recorded == model_fingerprint(load_model(model_spec))


def print_trajectory(run_dir: Path, data: Path, args: argparse.Namespace, out: Path) -> None:
    """Evaluate every checkpoint but the last (2,000 samples each; the model and the real set are
    loaded once) and print one line per step."""
    from mesh_avatar.datasets.synthetic import load_dataset
    from mesh_avatar.gan.checkpoint import load_generator
    from mesh_avatar.gan.evaluation import evaluate_generator
    from mesh_avatar.gan.rendering import make_render_fn
    from mesh_avatar.morphable import load_model

    model = load_model(args.model)
    dataset = load_dataset(data, args.resolution)
    render = make_render_fn(args.resolution, args.renderer)
    out.mkdir(parents=True, exist_ok=True)
    for checkpoint in sorted(run_dir.glob("checkpoint-*.pt"))[:-1]:
        generator, _ = load_generator(checkpoint, model)
        result = evaluate_generator(generator, model, render, dataset, n_samples=2000)
        (out / f"{checkpoint.stem}.json").write_text(json.dumps(result, indent=1) + "\n")
        pr = result["precision_recall"]["generator"]
        shares = {
            group: [round(v["generated_share"], 2) for v in cov["components"].values()]
            for group, cov in result.get("coverage", {}).items()
            if isinstance(cov, dict)
        }
        print(f"trajectory {checkpoint.stem}: frechet ratio {result['frechet']['ratio']:.3f} "
              f"precision {pr['precision']:.3f} recall {pr['recall']:.3f} shares {shares}")  # fmt: skip


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("out/bench-gan"))
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--minutes", type=float, default=30.0, help="training time limit")
    p.add_argument(
        "--steps", type=int, default=3000, help="steps (the learning rates reach 0 there)"
    )
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--model", default="default")
    p.add_argument("--renderer", default="fast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-n", type=int, default=5000)
    p.add_argument("--docs", action="store_true", help="copy the final sample grid to docs/")
    p.add_argument("--data-only", action="store_true",
                   help="only render the set (if it is missing or stale) and stop")  # fmt: skip
    p.add_argument("--trajectory", type=int, default=0, metavar="STEPS",
                   help="also keep a checkpoint every STEPS steps and evaluate each (2,000 "
                        "samples) after training, to see when the figures peak")  # fmt: skip
    return p.parse_args()


def main() -> None:
    args = parse()
    data = args.out / "data"
    runs = args.out / "runs"
    t0 = time.perf_counter()
    if not dataset_matches(data, args.model):
        shutil.rmtree(data, ignore_errors=True)
        run(["make-dataset", "--out", str(data), "--n", str(args.n), "--resolution",
             str(args.resolution), "--model", args.model, "--renderer", args.renderer,
             "--seed", str(args.seed)])  # fmt: skip
    t_data = time.perf_counter() - t0
    if args.data_only:
        print(f"dataset: {data} ({t_data:.0f} s)")
        return
    config = args.out / "train_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    train_options = {"max_minutes": args.minutes, "snapshot_every": 200, "checkpoint_every": 100}
    if args.trajectory:
        train_options.update(checkpoint_every=args.trajectory, keep_checkpoints=10_000)
    config.write_text(json.dumps(train_options))
    t1 = time.perf_counter()
    run(["train", "--data", str(data), "--out", str(runs), "--steps", str(args.steps),
         "--batch", str(args.batch), "--resolution", str(args.resolution), "--model", args.model,
         "--renderer", args.renderer, "--seed", str(args.seed), "--config", str(config),
         "--no-tensorboard"])  # fmt: skip
    t_train = time.perf_counter() - t1
    run_dir = sorted(p for p in runs.iterdir() if p.is_dir())[-1]
    checkpoint = sorted(run_dir.glob("checkpoint-*.pt"))[-1]
    result_file = args.out / "evaluation.json"
    t2 = time.perf_counter()
    run(["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--out",
         str(result_file), "--n", str(args.eval_n)])  # fmt: skip
    t_eval = time.perf_counter() - t2
    if args.trajectory:
        print_trajectory(run_dir, data, args, args.out / "trajectory")
    result = json.loads(result_file.read_text())
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    steps = stats[-1]["step"]
    samples = sorted(run_dir.glob("samples-*.png"))[-1]
    if args.docs:
        shutil.copyfile(samples, Path("docs") / "gan_samples.png")
    fd = result["frechet"]
    pr = result["precision_recall"]["generator"]
    print(f"dataset: {args.n} images at {args.resolution} px in {t_data:.0f} s")
    print(f"training: {steps} steps x {args.batch} in {t_train / 60:.1f} min "
          f"({steps * args.batch / t_train:.1f} img/s, {t_train / max(steps, 1):.2f} s/step)")  # fmt: skip
    encoder_file = run_dir / "encoder.json"
    if encoder_file.is_file():
        encoder = json.loads(encoder_file.read_text())
        print(f"  of which encoder pretraining {encoder['seconds'] / 60:.1f} min; readable: "
              f"{', '.join(encoder['readable'])}")  # fmt: skip
    print(
        f"evaluation: {t_eval:.0f} s; visible components: "
        + ", ".join(f"{g} {len(v)}" for g, v in result["visible_components"].items())
    )
    print(f"frechet generator {fd['generator']:.3f} / prior {fd['prior']:.3f} = ratio "
          f"{fd['ratio']:.3f} (bar <= 0.25)")  # fmt: skip
    ceiling = result["precision_recall"]["real_halves"]
    print(f"precision {pr['precision']:.3f} recall {pr['recall']:.3f} (bar >= 0.7); prior: "
          f"{result['precision_recall']['prior']}; real half vs real half (a perfect "
          f"generator): {ceiling}")  # fmt: skip
    swaps = result.get("group_swaps", {})
    if swaps:
        print("with one group taken from real avatars: " + ", ".join(
            f"{g} precision {v['precision']:.3f} recall {v['recall']:.3f}" for g, v in swaps.items()))  # fmt: skip
    spread = [
        (ratio, f"{group} {index}")
        for group, ratios in result.get("coordinate_spread", {}).items()
        for index, ratio in ratios.items()
    ]
    if spread:
        spread.sort(reverse=True)
        print("generated/real std of visible coefficients: widest " + ", ".join(
            f"{name} {ratio:.2f}" for ratio, name in spread[:4]) + "; narrowest " + ", ".join(
            f"{name} {ratio:.2f}" for ratio, name in spread[-4:]))  # fmt: skip
    for group, cov in result.get("coverage", {}).items():
        if isinstance(cov, dict):
            shares = {k: round(v["generated_share"], 3) for k, v in cov["components"].items()}
            print(f"coverage {group}: generated shares {shares} all covered {cov['all_covered']}")
    attribution = result.get("discriminator_attribution")
    if attribution:
        swaps = ", ".join(
            f"{g} {v['fake_with_real'] - attribution['fake']:+.3f}/"
            f"{v['real_with_fake'] - attribution['real']:+.3f}"
            for g, v in attribution["groups"].items()
        )
        print(f"discriminator logits real {attribution['real']:+.3f} fake {attribution['fake']:+.3f}; "
              f"change when one group is swapped (fake given real's / real given fake's): {swaps}")  # fmt: skip
    print(f"diversity ratio {result['diversity']['diversity_ratio']:.3f}, collapsed "
          f"{result['diversity']['collapsed']}")  # fmt: skip
    print(f"samples: {samples}; bar passed: {result['bar']['passed']}")


if __name__ == "__main__":
    main()
