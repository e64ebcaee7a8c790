"""Training: small step functions and a loop that logs, snapshots and checkpoints.

One iteration renders one batch of generated avatars and uses it twice (rendering dominates the
cost on CPU): first, detached, for the discriminator step; then, with its graph, for the generator
step through the just-updated discriminator. Every random draw of step ``s`` comes from generators
seeded by ``(seed, s)``, so a resumed run continues exactly like an uninterrupted one.

Multi-GPU (``torchrun --nproc_per_node N mesh-avatar train ...``): one process per GPU (without
CUDA, N processes share the CPU: slower, but the same code path), each with ``batch / N`` samples
and its own random streams; gradients are averaged with ``all_reduce`` before every optimiser
step (what DistributedDataParallel does; done by hand as in StyleGAN3 because the networks switch
``requires_grad`` between phases). Rank 0 writes all files.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mesh_avatar.gan.augment import diff_augment
from mesh_avatar.gan.checkpoint import (
    build_generator,
    check_model_matches,
    latent_for,
    load_checkpoint,
    load_weights,
    model_record,
    save_checkpoint,
)
from mesh_avatar.gan.config import TrainConfig, config_to_dict
from mesh_avatar.gan.discriminator import Discriminator
from mesh_avatar.gan.ema import ema_beta, update_ema
from mesh_avatar.gan.encoder import (
    CoefficientEncoder,
    build_encoder,
    pretrain_encoder,
    readout_names,
)
from mesh_avatar.gan.generator import CoefficientGenerator
from mesh_avatar.gan.losses import (
    discriminator_loss,
    generator_loss,
    lazy_r1_loss,
    pair_directions,
    prior_penalty,
    r1_penalty,
    sliced_wasserstein,
)
from mesh_avatar.gan.rendering import RenderFn
from mesh_avatar.io import atomic_write_bytes, ensure_writable_dir
from mesh_avatar.params import AvatarParams
from mesh_avatar.sampling import avatar_seed, studio_lighting

log = logging.getLogger(__name__)

# Random streams of one step (see step_generator).
STREAM_LATENT, STREAM_REAL, STREAM_AUGMENT, STREAM_PRIOR, STREAM_READOUT = 0, 1, 2, 3, 4
CHECKPOINT_PREFIX = "checkpoint-"


@dataclass(frozen=True)
class Distributed:
    """Where this process sits in a multi-process run (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass
class TrainState:
    """Networks, optimisers and counters of a run."""

    generator: CoefficientGenerator
    generator_ema: CoefficientGenerator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    #: (9, 3) SH light the prior penalty pulls the generated light towards (on the run's device).
    reference_lighting: torch.Tensor
    step: int = 0
    images_seen: int = 0
    #: The pretrained coefficient encoder (``config.encoder.weight > 0``) and its readouts of
    #: every real image, (N, T_readable); the readouts are not checkpointed (recomputed).
    encoder: CoefficientEncoder | None = None
    real_readouts: torch.Tensor | None = None


def lazy_r1_ratio(config: TrainConfig) -> float:
    """Lazy regularisation: D's Adam settings are adjusted for the R1 steps (StyleGAN2)."""
    return config.loss.r1_interval / (config.loss.r1_interval + 1)


def learning_rates(config: TrainConfig, step: int) -> tuple[float, float]:
    """(G, D) Adam learning rates at ``step`` under ``config.optim.schedule``."""
    o = config.optim
    scale = 1.0
    if o.schedule == "cosine":
        scale = 0.5 * (1.0 + math.cos(math.pi * min(step / config.steps, 1.0)))
    return o.lr_g * scale, o.lr_d * lazy_r1_ratio(config) * scale


def build_state(config: TrainConfig, model: Any, device: torch.device | str = "cpu") -> TrainState:
    """New networks for ``model`` (initialised from ``config.seed``) and their optimisers."""
    torch.manual_seed(config.seed)
    generator = build_generator(config, model).to(device)
    discriminator = Discriminator(config.resolution, config.discriminator).to(device)
    generator_ema = copy.deepcopy(generator).eval().requires_grad_(False)
    o = config.optim
    lr_g, lr_d = learning_rates(config, 0)
    ratio = lazy_r1_ratio(config)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=(o.beta1, o.beta2), eps=1e-8)
    opt_d = torch.optim.Adam(
        discriminator.parameters(), lr=lr_d, betas=(o.beta1**ratio, o.beta2**ratio), eps=1e-8
    )
    lighting = studio_lighting().to(device)
    return TrainState(generator, generator_ema, discriminator, opt_g, opt_d, lighting)


def step_generator(seed: int, step: int, stream: int, rank: int = 0) -> torch.Generator:
    """CPU generator for one random stream of one step (and one process)."""
    return torch.Generator().manual_seed(avatar_seed(seed, (step * 8 + stream) * 1024 + rank))


def latent_batch(
    seed: int, step: int, batch: int, z_dim: int, rank: int = 0, stream: int = STREAM_LATENT
) -> torch.Tensor:
    """(batch, z_dim) noise of step ``step`` (the rendered batch's, or another ``stream``'s)."""
    return torch.randn(batch, z_dim, generator=step_generator(seed, step, stream, rank))


def real_batch(
    images: torch.Tensor, seed: int, step: int, batch: int, rank: int = 0
) -> torch.Tensor:
    """(batch, 3, R, R) real images in [-1, 1], drawn (with replacement) from uint8 ``images``."""
    gen = step_generator(seed, step, STREAM_REAL, rank)
    index = torch.randint(0, images.shape[0], (batch,), generator=gen)
    return images[index].float() / 127.5 - 1.0


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    module.requires_grad_(flag)


def average_gradients(module: nn.Module, dist_info: Distributed) -> None:
    """All-reduce (mean) gradients across processes; no-op for a single process."""
    if dist_info.world == 1:
        return
    import torch.distributed as dist

    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= dist_info.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def render_fakes(
    state: TrainState, model: Any, render: RenderFn, z: torch.Tensor
) -> tuple[torch.Tensor, AvatarParams]:
    """Generate params from ``z`` and render them (with the graph back to G)."""
    params = state.generator(z)
    with torch.no_grad():
        state.generator.update_w_avg(state.generator.map(z))
    return render(model, params), params


def discriminator_step(
    state: TrainState,
    reals: torch.Tensor,
    fakes: torch.Tensor,
    config: TrainConfig,
    augment_gen: torch.Generator,
    dist_info: Distributed | None = None,
) -> dict[str, float]:
    """One D update on reals and detached fakes; adds the lazy R1 term every ``r1_interval`` steps."""
    dist_info = dist_info or Distributed()
    set_requires_grad(state.discriminator, True)
    state.opt_d.zero_grad(set_to_none=True)
    do_r1 = config.loss.r1_gamma > 0 and state.step % config.loss.r1_interval == 0
    real_in = diff_augment(reals, config.augment, augment_gen).detach()
    real_in.requires_grad_(do_r1)
    fake_in = diff_augment(fakes.detach(), config.augment, augment_gen)
    real_logits = state.discriminator(real_in)
    fake_logits = state.discriminator(fake_in)
    loss = discriminator_loss(real_logits, fake_logits)
    stats = {
        "loss_d": float(loss.detach()),
        "d_real": float(real_logits.detach().mean()),
        "d_fake": float(fake_logits.detach().mean()),
    }
    if do_r1:
        penalty = r1_penalty(real_in, real_logits)
        loss = loss + lazy_r1_loss(penalty, config.loss.r1_gamma, config.loss.r1_interval)
        stats["r1"] = float(penalty.detach())
    loss.backward()
    average_gradients(state.discriminator, dist_info)
    state.opt_d.step()
    return stats


def readout_matching(
    state: TrainState, params: AvatarParams, config: TrainConfig, rank: int = 0
) -> torch.Tensor:
    """Sliced Wasserstein distance between the readable coordinates of ``params`` and
    ``config.encoder.real_samples`` of the encoder's readouts of real images (drawn, with the
    projection directions, from the step's readout stream)."""
    assert state.encoder is not None and state.real_readouts is not None
    gen = step_generator(config.seed, state.step, STREAM_READOUT, rank)
    readouts = state.real_readouts
    index = torch.randint(0, readouts.shape[0], (config.encoder.real_samples,), generator=gen)
    directions = pair_directions(readouts.shape[1], config.encoder.directions, gen)
    generated = state.encoder.readable_coefficients(params)
    return sliced_wasserstein(
        generated, readouts[index.to(readouts.device)], directions.to(readouts.device)
    )


def generator_step(
    state: TrainState,
    fakes: torch.Tensor,
    params: AvatarParams,
    config: TrainConfig,
    augment_gen: torch.Generator,
    dist_info: Distributed | None = None,
) -> dict[str, float]:
    """One G update: the non-saturating loss of D on ``fakes`` (which still carry G's graph, as
    do their ``params``) plus the weighted prior penalty and readout matching, measured on
    ``params`` or, with ``config.loss.prior_batch``, on that many other samples of G (not
    rendered)."""
    dist_info = dist_info or Distributed()
    set_requires_grad(state.discriminator, False)
    state.opt_g.zero_grad(set_to_none=True)
    logits = state.discriminator(diff_augment(fakes, config.augment, augment_gen))
    loss = generator_loss(logits)
    stats = {"loss_g": float(loss.detach())}
    matching = (
        config.encoder.weight > 0
        and state.real_readouts is not None
        and state.real_readouts.shape[1] > 0
    )
    sample_params = params
    if config.loss.prior_batch and (config.loss.prior_weight > 0 or matching):
        z = latent_batch(config.seed, state.step, config.loss.prior_batch,
                         state.generator.z_dim, dist_info.rank, STREAM_PRIOR)  # fmt: skip
        sample_params = state.generator(z.to(dist_info.device))
    if config.loss.prior_weight > 0:
        prior = prior_penalty(
            sample_params,
            state.generator.expression_kind,
            state.reference_lighting,
            cap_only=config.loss.prior_spread == "cap",
            correlation=config.loss.prior_correlation,
        )
        loss = loss + config.loss.prior_weight * prior
        stats["prior"] = float(prior.detach())
    if matching:
        distance = readout_matching(state, sample_params, config, dist_info.rank)
        loss = loss + config.encoder.weight * distance
        stats["readout_distance"] = float(distance.detach())
    loss.backward()
    average_gradients(state.generator, dist_info)
    state.opt_g.step()
    set_requires_grad(state.discriminator, True)
    return stats


def train_step(
    state: TrainState,
    model: Any,
    render: RenderFn,
    images: torch.Tensor,
    config: TrainConfig,
    dist_info: Distributed | None = None,
) -> dict[str, float]:
    """One iteration (render, D step, G step, EMA update); advances ``state.step``."""
    dist_info = dist_info or Distributed()
    local_batch = max(2, config.batch // dist_info.world)
    step, seed, rank = state.step, config.seed, dist_info.rank
    z = latent_batch(seed, step, local_batch, state.generator.z_dim, rank).to(dist_info.device)
    reals = real_batch(images, seed, step, local_batch, rank).to(dist_info.device)
    augment_gen = step_generator(seed, step, STREAM_AUGMENT, rank)
    lr_g, lr_d = learning_rates(config, step)
    for optimizer, lr in ((state.opt_g, lr_g), (state.opt_d, lr_d)):
        for group in optimizer.param_groups:
            group["lr"] = lr
    fakes, params = render_fakes(state, model, render, z)
    stats = discriminator_step(state, reals, fakes, config, augment_gen, dist_info)
    stats.update(generator_step(state, fakes, params, config, augment_gen, dist_info))
    state.images_seen += local_batch * dist_info.world
    beta = ema_beta(config.batch, state.images_seen, config.ema_halflife_images, config.ema_rampup)
    update_ema(state.generator_ema, state.generator, beta)
    state.step += 1
    return stats


def prepare_encoder(
    state: TrainState,
    config: TrainConfig,
    model: Any,
    render: RenderFn,
    images: torch.Tensor,
    run_dir: Path,
    progress: bool,
    dist_info: Distributed,
) -> None:
    """Pretrain the encoder unless a resumed checkpoint brought it, then read every real image
    with it. Every process pretrains the same one (bit-identical on the CPU); rank 0's weights
    are copied to the others so GPUs agree too. Its statistics go to ``run_dir/encoder.json``."""
    if state.encoder is None:
        encoder, stats = pretrain_encoder(
            model, render, config.resolution, config.encoder, config.seed,
            progress=progress and dist_info.is_main,
        )  # fmt: skip
        broadcast_module(encoder, dist_info)
        state.encoder = encoder
        if dist_info.is_main:
            atomic_write_bytes(run_dir / "encoder.json", json.dumps(stats, indent=2).encode())
    state.real_readouts = state.encoder.read(images)
    if not state.real_readouts.shape[1]:
        log.warning(
            "the encoder reads no coefficient with R^2 >= %g; training without readout matching",
            config.encoder.readable_r2,
        )


def broadcast_module(module: nn.Module, dist_info: Distributed) -> None:
    """Copy rank 0's parameters and buffers to every process (no-op for a single process)."""
    if dist_info.world == 1:
        return
    import torch.distributed as dist

    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def stop_requested(local: bool, dist_info: Distributed) -> bool:
    """Rank 0's decision (the time limit), shared with every process so all stop together."""
    if dist_info.world == 1:
        return local
    import torch.distributed as dist

    flag = torch.tensor([float(local)], device=dist_info.device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


# ---------------------------------------------------------------------------------- run files
def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / f"{CHECKPOINT_PREFIX}{step:06d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run, oldest first."""
    return sorted(run_dir.glob(f"{CHECKPOINT_PREFIX}[0-9]*.pt"))


def state_to_checkpoint(
    state: TrainState, config: TrainConfig, model: Any, stats: dict[str, float]
) -> dict[str, Any]:
    return {
        "step": state.step,
        "images_seen": state.images_seen,
        "config": config_to_dict(config),
        "model": model_record(model),
        "generator": state.generator.state_dict(),
        "generator_ema": state.generator_ema.state_dict(),
        "discriminator": state.discriminator.state_dict(),
        "optimizer_g": state.opt_g.state_dict(),
        "optimizer_d": state.opt_d.state_dict(),
        "stats": {k: float(v) for k, v in stats.items()},
        **({"encoder": state.encoder.state_dict()} if state.encoder is not None else {}),
    }


def restore_state(
    state: TrainState,
    checkpoint: dict[str, Any],
    model: Any,
    source: str,
    config: TrainConfig | None = None,
) -> None:
    """Load weights, optimiser states, counters and the encoder (built for ``config``, needed
    when the checkpoint has one) from a checkpoint dictionary."""
    check_model_matches(checkpoint["model"], model, source)
    load_weights(state.generator, checkpoint["generator"], source, "generator")
    load_weights(state.generator_ema, checkpoint["generator_ema"], source, "generator")
    load_weights(state.discriminator, checkpoint["discriminator"], source, "discriminator")
    state.opt_g.load_state_dict(checkpoint["optimizer_g"])
    state.opt_d.load_state_dict(checkpoint["optimizer_d"])
    state.step = int(checkpoint["step"])
    state.images_seen = int(checkpoint["images_seen"])
    if "encoder" in checkpoint and config is not None:
        encoder = build_encoder(config.resolution, len(readout_names(model)), config.encoder)
        load_weights(encoder, checkpoint["encoder"], source, "encoder")
        device = state.reference_lighting.device
        state.encoder = encoder.to(device).eval().requires_grad_(False)


def write_checkpoint(
    run_dir: Path, state: TrainState, config: TrainConfig, model: Any, stats: dict[str, float]
) -> Path:
    """Atomically write ``checkpoint-<step>.pt`` and prune the oldest beyond ``keep_checkpoints``."""
    path = save_checkpoint(
        checkpoint_path(run_dir, state.step), state_to_checkpoint(state, config, model, stats)
    )
    for old in list_checkpoints(run_dir)[: -config.keep_checkpoints]:
        old.unlink(missing_ok=True)
    return path


def image_grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (rows*H, columns*W, 3) uint8 tiled grid."""
    from mesh_avatar.preview import images_to_uint8

    tiles = images_to_uint8(images)
    n, h, w, _ = tiles.shape
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return grid


def write_png(path: Path, image: np.ndarray) -> None:
    from mesh_avatar.preview import png_bytes

    atomic_write_bytes(path, png_bytes(image))


def snapshot_latents(config: TrainConfig, z_dim: int) -> torch.Tensor:
    """Fixed noise for sample grids: avatars 0..grid_size-1 of the run seed."""
    return torch.cat([latent_for(config.seed, i, z_dim) for i in range(config.grid_size)])


@torch.no_grad()
def render_snapshot(
    generator: CoefficientGenerator, model: Any, render: RenderFn, z: torch.Tensor
) -> np.ndarray:
    images = torch.cat([render(model, generator(chunk)) for chunk in z.split(16)])
    return image_grid(images.cpu(), columns=math.ceil(math.sqrt(len(z))))


class StatsLog:
    """JSONL statistics (one object per logged step) plus TensorBoard scalars."""

    def __init__(self, run_dir: Path, resume_step: int, tensorboard: bool = True) -> None:
        self.path = run_dir / "stats.jsonl"
        if self.path.exists():  # drop lines logged after the checkpoint we resume from
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            atomic_write_bytes(self.path, "".join(line + "\n" for line in kept).encode())
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step + 1)

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float):
                    self.writer.add_scalar(key, value, record["step"])

    def image(self, tag: str, grid: np.ndarray, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, grid, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def train(
    config: TrainConfig,
    run_dir: Path,
    model: Any,
    render: RenderFn,
    images: torch.Tensor,
    resume_from: Path | None = None,
    progress: bool = True,
    dist_info: Distributed | None = None,
    tensorboard: bool = True,
) -> TrainState:
    """Train until ``config.steps``; resumable from any checkpoint of the run.

    Args:
        config: the resolved run configuration (written to ``run_dir/config.json`` by the caller).
        run_dir: the run folder (checkpoints, sample grids, stats).
        model: the morphable model (on the training device).
        render: params -> images at ``config.resolution``.
        images: (N, 3, R, R) uint8 real images.
        resume_from: a checkpoint of this run to continue from.
    """
    dist_info = dist_info or Distributed()
    from tqdm import tqdm

    state = build_state(config, model, dist_info.device)
    if resume_from is not None:
        restore_state(state, load_checkpoint(resume_from), model, str(resume_from), config)
        log.info("resumed from %s at step %d", resume_from, state.step)
    main = dist_info.is_main
    if main:
        ensure_writable_dir(run_dir)
    deadline = time.monotonic() + config.max_minutes * 60.0 if config.max_minutes else math.inf
    if config.encoder.weight > 0:
        prepare_encoder(state, config, model, render, images, run_dir, progress, dist_info)
    stats_log = StatsLog(run_dir, state.step, tensorboard) if main else None
    fixed_z = snapshot_latents(config, state.generator.z_dim).to(dist_info.device)
    if main and state.step == 0:
        reals = real_batch(images, config.seed, 0, config.grid_size)
        write_png(run_dir / "reals.png", image_grid(reals, math.ceil(math.sqrt(len(reals)))))
    last_stats: dict[str, float] = {}
    window_sums: dict[str, float] = {}
    window_counts: dict[str, int] = {}
    window_start, window_steps = time.perf_counter(), 0
    bar = tqdm(
        total=config.steps,
        initial=state.step,
        desc="train",
        unit="step",
        disable=not (progress and main),
    )
    try:
        while state.step < config.steps:
            stats = train_step(state, model, render, images, config, dist_info)
            last_stats.update(stats)
            for key, value in stats.items():
                window_sums[key] = window_sums.get(key, 0.0) + value
                window_counts[key] = window_counts.get(key, 0) + 1
            window_steps += 1
            bar.update(1)
            step = state.step
            last = step == config.steps or stop_requested(time.monotonic() >= deadline, dist_info)
            if last and step < config.steps:
                log.info("time limit of %g min reached at step %d", config.max_minutes, step)
            if step % config.log_every == 0 or last:
                elapsed = time.perf_counter() - window_start
                speed = window_steps * config.batch / max(elapsed, 1e-9)
                means = {k: window_sums[k] / window_counts[k] for k in window_sums}
                record = {"step": step, "images_seen": state.images_seen, **means}
                record.update({"sec_per_step": elapsed / window_steps, "images_per_sec": speed})
                bar.set_postfix(
                    loss_g=f"{means['loss_g']:.3f}",
                    loss_d=f"{means['loss_d']:.3f}",
                    img_s=f"{speed:.1f}",
                )
                if stats_log is not None:
                    stats_log.write(record)
                window_start, window_steps = time.perf_counter(), 0
                window_sums.clear()
                window_counts.clear()
            if main and (step % config.snapshot_every == 0 or last):
                grid = render_snapshot(state.generator_ema, model, render, fixed_z)
                write_png(run_dir / f"samples-{step:06d}.png", grid)
                if stats_log is not None:
                    stats_log.image("samples", grid, step)
            if main and (step % config.checkpoint_every == 0 or last):
                write_checkpoint(run_dir, state, config, model, last_stats)
            if last:
                break
    finally:
        bar.close()
        if stats_log is not None:
            stats_log.close()
    return state


# ---------------------------------------------------------------------------------- run folders
def next_run_dir(out: Path, name: str) -> Path:
    """``out/NNNNN-name`` with the next free number."""
    numbers = [
        int(p.name.split("-", 1)[0])
        for p in out.glob("[0-9][0-9][0-9][0-9][0-9]-*")
        if p.is_dir() and p.name.split("-", 1)[0].isdigit()
    ]
    return out / f"{max(numbers, default=-1) + 1:05d}-{name}"


def find_resumable(out: Path) -> tuple[Path, Path] | None:
    """The newest run under ``out`` (or ``out`` itself) with a checkpoint: (run_dir, checkpoint)."""
    candidates = [out] if (out / "config.json").is_file() else []
    candidates += sorted(
        (p for p in out.glob("[0-9][0-9][0-9][0-9][0-9]-*") if p.is_dir()), reverse=True
    )
    for run_dir in candidates:
        checkpoints = list_checkpoints(run_dir)
        if checkpoints and (run_dir / "config.json").is_file():
            return run_dir, checkpoints[-1]
    return None


def init_distributed() -> Distributed:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1), else a single process.

    With CUDA each process takes the GPU of its local rank (NCCL); without, the processes share
    the CPU (Gloo), which is slower than one process but runs the same code path.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world > 1:
        import torch.distributed as dist

        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
        device = torch.device("cuda", local) if cuda else torch.device("cpu")
        return Distributed(rank=rank, world=world, device=device)
    return Distributed(device=torch.device("cuda") if cuda else torch.device("cpu"))


def close_distributed(dist_info: Distributed) -> None:
    """Leave the process group joined by :func:`init_distributed` (no-op for one process)."""
    if dist_info.world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
        # The Gloo group can be left in a reference cycle; freed only by the garbage collection
        # at interpreter exit, its worker threads then abort the process (SIGABRT).
        gc.collect()
