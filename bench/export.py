"""GLB export throughput on the default model: our cached writer against reference paths.

Each avatar: 1024 px JPEG texture, all 52 ARKit morph targets (dense), skeleton and skin, LOD 0.
Compared on the same 40 AvatarMeshes in one process (mesh building is not timed here; see
bench/batch.py for whole-pipeline throughput):

- ours: `export_files(mesh, ..., ("glb",))` with the per-topology caches warm (the batch case);
- uncached: the same with every cache cleared before each avatar (what a writer without the
  topology/morph-target precomputation costs);
- trimesh: `trimesh.Trimesh(...).export(file_type="glb")` with the texture as a PNG and no morph
  targets or skin (trimesh cannot write them), a lower bound for a naive path.

    .venv/bin/python bench/export.py            # last line: ours vs the references as ratios
    .venv/bin/python bench/export.py --lods     # also the one-off template decimation time
"""

from __future__ import annotations

import argparse
import time

import torch


def _time(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--lods", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    import trimesh
    from PIL import Image

    from mesh_avatar.avatar import build_avatar_mesh
    from mesh_avatar.export import ExportOptions, export_files, gltf, lod, topology
    from mesh_avatar.morphable import load_model
    from mesh_avatar.sampling import sample_prior

    model = load_model("default")
    meshes = [
        build_avatar_mesh(model, sample_prior(model, 1, seed=0, start=i), 1024)
        for i in range(args.n)
    ]
    options = ExportOptions(texture_size=1024)
    export_files(meshes[0], "a", ("glb",), options)  # warm the caches

    def ours(mesh):
        return export_files(mesh, "a", ("glb",), options)

    def uncached(mesh):
        topology._SPLITS.clear()
        gltf._MORPH_BLOCKS.clear()
        gltf._EYEBALLS.clear()
        return export_files(mesh, "a", ("glb",), options)

    def naive(mesh):
        split = topology.split_topology(mesh.n_vertices, mesh.faces, mesh.uvs, mesh.face_uvs)
        visual = trimesh.visual.TextureVisuals(
            uv=split.texcoords * [1, -1] + [0, 1], image=Image.fromarray(mesh.texture)
        )
        tm = trimesh.Trimesh(
            mesh.vertices[split.vertex],
            split.indices.reshape(-1, 3),
            vertex_normals=mesh.normals[split.vertex],
            visual=visual,
            process=False,
        )
        return tm.export(file_type="glb")

    t_ours = _time(ours, meshes)
    t_uncached = _time(uncached, meshes)
    t_naive = _time(naive, meshes)
    size = len(ours(meshes[0])[0].data)
    print(f"GLB size per avatar: {size / 1e6:.2f} MB ({len(meshes[0].morph_targets)} targets)")
    print(f"ours     : {1000 * t_ours:6.1f} ms/avatar ({1 / t_ours:5.1f} avatars/s on 1 core)")
    print(f"uncached : {1000 * t_uncached:6.1f} ms/avatar")
    print(f"trimesh  : {1000 * t_naive:6.1f} ms/avatar (no morph targets, no skin)")
    if args.lods:
        lod._LEVELS.clear()
        start = time.perf_counter()
        levels = lod.template_levels(meshes[0])
        spent = time.perf_counter() - start
        counts = ", ".join(f"lod{k}: {v.n_faces}" for k, v in levels.items())
        print(f"template decimation (once per model and process): {spent:.2f} s ({counts})")
        t_lod = _time(
            lambda m: export_files(m, "a", ("glb",), ExportOptions(lods=(0, 1, 2))), meshes
        )
        print(f"ours, lods 0,1,2: {1000 * t_lod:6.1f} ms/avatar")
    print(
        f"ours: {1 / t_ours:.1f} avatars/s, uncached ratio: {t_uncached / t_ours:.2f}, "
        f"trimesh ratio: {t_naive / t_ours:.2f}"
    )


if __name__ == "__main__":
    main()
