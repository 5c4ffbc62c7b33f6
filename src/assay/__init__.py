"""assay: ground truth and annotation quality for computer-vision labeling."""

__version__ = "0.1.0"
