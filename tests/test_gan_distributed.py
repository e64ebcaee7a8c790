"""Multi-process training under torchrun, on the CPU (Gloo): the same path as multi-GPU with NCCL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from support.small_training import TINY_ENCODER

from mesh_avatar.cli import main
from mesh_avatar.morphable import save_model

SUPPORT = Path(__file__).parent / "support"


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", *args]  # fmt: skip
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_processes_average_gradients_and_stay_identical(tmp_path):
    result_file = tmp_path / "result.json"
    done = torchrun(str(SUPPORT / "distributed_steps.py"), str(result_file), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(result_file.read_text())
    # Each process drew its own latents and reals; only the averaged gradients keep them equal.
    assert result == {"world": 2, "max_difference": 0.0}


def test_train_command_under_torchrun_writes_one_run(tiny_model_data, tmp_path):
    model = tmp_path / "tiny.npz"
    save_model(tiny_model_data, model)
    data, runs = tmp_path / "data", tmp_path / "runs"
    common = ["--model", str(model), "--renderer", "fast"]
    assert (
        main(["make-dataset", "--out", str(data), "--n", "32", "--resolution", "16", *common]) == 0
    )
    cli = [sys.executable, "-c", "import sys; from mesh_avatar.cli import main; sys.exit(main())"]
    # A small coefficient encoder: both processes pretrain it, rank 0's copy is broadcast.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"encoder": asdict(TINY_ENCODER)}))
    done = torchrun("--no-python", *cli, "train", "--data", str(data), "--out", str(runs),
                    "--steps", "4", "--batch", "8", "--resolution", "16", "--no-tensorboard",
                    "--config", str(config), *common, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_dirs = [p for p in runs.iterdir() if p.is_dir()]
    assert [p.name for p in run_dirs] == ["00000-data-16px"]
    assert (run_dirs[0] / "checkpoint-000004.pt").is_file()
    assert json.loads((run_dirs[0] / "encoder.json").read_text())["readable"]
    steps = [json.loads(line)["step"] for line in (run_dirs[0] / "stats.jsonl").open()]
    assert steps == sorted(set(steps)) and steps[-1] == 4  # one writer
