"""Runs INSIDE Blender (not pytest): import one glTF/GLB and write a JSON summary of what Blender made.

    blender -b --factory-startup --python blender_inspect.py -- MODEL.glb SUMMARY.json

Used by support/blender.py; see there.
"""

import json
import sys

import numpy

# Blender 3.4's glTF importer still uses numpy.bool, which numpy 1.24 (Debian 12) removed.
if "bool" not in vars(numpy):  # (hasattr would raise a FutureWarning)
    numpy.bool = bool

import bpy


def mesh_summary(obj) -> dict:
    mesh = obj.data
    keys = mesh.shape_keys.key_blocks if mesh.shape_keys else []
    corners = [tuple(obj.matrix_world @ v.co) for v in mesh.vertices]
    basis = numpy.empty(3 * len(mesh.vertices), numpy.float32)
    if keys:
        keys[0].data.foreach_get("co", basis)
    shape_key_max = {}
    for key in list(keys)[1:]:
        co = numpy.empty_like(basis)
        key.data.foreach_get("co", co)
        shape_key_max[key.name] = float(numpy.abs(co - basis).max())
    return {
        "name": obj.name,
        "vertices": len(mesh.vertices),
        "polygons": len(mesh.polygons),
        "shape_keys": [k.name for k in keys][1:],  # without the reference key ("Basis")
        # Largest |coordinate change| of each shape key (local axes) from the reference key.
        "shape_key_max_abs": shape_key_max,
        "materials": [m.name for m in mesh.materials if m is not None],
        "uv_layers": [uv.name for uv in mesh.uv_layers],
        "vertex_groups": [g.name for g in obj.vertex_groups],
        "parent": obj.parent.name if obj.parent else None,
        # World space, Blender axes: Z up; glTF +Y becomes Blender +Z, glTF +Z becomes Blender -Y.
        "bbox_min": [min(c) for c in zip(*corners, strict=True)] if corners else None,
        "bbox_max": [max(c) for c in zip(*corners, strict=True)] if corners else None,
    }


def material_summary(material) -> dict:
    images = []
    if material.use_nodes:
        for node in material.node_tree.nodes:
            if node.type == "TEX_IMAGE" and node.image is not None:
                images.append(
                    {
                        "name": node.image.name,
                        "size": list(node.image.size),
                        "colorspace": node.image.colorspace_settings.name,
                    }
                )
    return {"name": material.name, "images": images}


def main() -> None:
    model, out = sys.argv[sys.argv.index("--") + 1 :][:2]
    bpy.ops.wm.read_factory_settings(use_empty=True)  # no default cube, camera, light
    bpy.ops.import_scene.gltf(filepath=model)
    summary = {
        "blender_version": bpy.app.version_string,
        "meshes": [mesh_summary(o) for o in bpy.data.objects if o.type == "MESH"],
        "armatures": [
            {"name": o.name, "bones": [b.name for b in o.data.bones]}
            for o in bpy.data.objects
            if o.type == "ARMATURE"
        ],
        "materials": [material_summary(m) for m in bpy.data.materials],
    }
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)


main()
