"""ExportOptions: what the exporters write, validated once where the options are made."""

from __future__ import annotations

from dataclasses import dataclass

from mesh_avatar.errors import ExportError

FORMATS: tuple[str, ...] = ("glb", "gltf", "obj")
TEXTURE_FORMATS: tuple[str, ...] = ("jpeg", "png")
MORPH_TARGET_NAMINGS: tuple[str, ...] = ("arkit", "lr")
JOINT_WEIGHT_TYPES: tuple[str, ...] = ("ubyte", "float")
#: Level of detail -> fraction of the template's triangles kept.
LOD_RATIOS: dict[int, float] = {0: 1.0, 1: 0.5, 2: 0.2}
MIN_TEXTURE_SIZE, MAX_TEXTURE_SIZE = 256, 2048


@dataclass(frozen=True)
class ExportOptions:
    """Options shared by every format.

    Attributes:
        texture_size: side of the square albedo texture in pixels, 256 to 2048.
        texture_format: ``jpeg`` or ``png`` for glTF/GLB (OBJ always writes PNG).
        jpeg_quality: 1 to 100.
        lods: levels of detail to write (see :data:`LOD_RATIOS`); level 0 is the full mesh.
        morph_target_names: ``arkit`` (``eyeBlinkLeft``) or ``lr`` (``eyeBlink_L``).
        sparse_morph_targets: write morph targets as sparse accessors holding only the vertices
            each target moves (core glTF 2.0; about 4x smaller GLBs for the default model);
            ``False`` writes dense accessors for clients without sparse support.
        morph_normals: also write NORMAL deltas for each morph target.
        skeleton: write the head skeleton and skin weights.
        joint_weight_type: WEIGHTS_0 as normalized ``ubyte`` or ``float``.
    """

    texture_size: int = 1024
    texture_format: str = "jpeg"
    jpeg_quality: int = 90
    lods: tuple[int, ...] = (0,)
    morph_target_names: str = "arkit"
    sparse_morph_targets: bool = True
    morph_normals: bool = False
    skeleton: bool = True
    joint_weight_type: str = "ubyte"

    def __post_init__(self) -> None:
        size = self.texture_size
        if isinstance(size, bool) or not isinstance(size, int):
            raise ExportError(f"texture size must be a whole number of pixels, got {size!r}")
        if not MIN_TEXTURE_SIZE <= size <= MAX_TEXTURE_SIZE:
            raise ExportError(
                f"texture size must be between {MIN_TEXTURE_SIZE} and {MAX_TEXTURE_SIZE} pixels, "
                f"got {size}"
            )
        _choice("texture format", self.texture_format, TEXTURE_FORMATS)
        quality = self.jpeg_quality
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ExportError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}")
        try:
            lods = tuple(self.lods)
        except TypeError:
            raise ExportError(f"lods must be a list of levels, got {self.lods!r}") from None
        if not lods:
            raise ExportError("at least one level of detail is needed (e.g. 0)")
        bad = [lod for lod in lods if isinstance(lod, bool) or lod not in LOD_RATIOS]
        if bad:
            raise ExportError(
                f"unknown level(s) of detail {', '.join(map(repr, bad))}; "
                f"choose from {', '.join(map(str, LOD_RATIOS))}"
            )
        object.__setattr__(self, "lods", tuple(dict.fromkeys(lods)))
        _choice("morph target naming", self.morph_target_names, MORPH_TARGET_NAMINGS)
        _choice("joint weight type", self.joint_weight_type, JOINT_WEIGHT_TYPES)
        for name in ("sparse_morph_targets", "morph_normals", "skeleton"):
            if not isinstance(getattr(self, name), bool):
                raise ExportError(f"{name} must be True or False, got {getattr(self, name)!r}")


def check_formats(formats: object) -> tuple[str, ...]:
    """Normalise a format list (``"glb,obj"`` or a sequence); raise ExportError on unknown names."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)  # type: ignore[arg-type]
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    if not names:
        raise ExportError(f"no export format given; choose from {', '.join(FORMATS)}")
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ExportError(
            f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}"
        )
    return tuple(dict.fromkeys(names))


def _choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ExportError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
