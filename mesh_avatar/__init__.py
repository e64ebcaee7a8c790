"""mesh-avatar: 3D avatar heads for VR from a morphable face model, a GAN and VR-ready exporters."""

__version__ = "0.1.0"
