"""Evaluation metrics, one file each: Frechet distance, k-NN precision/recall, diversity,
mixture coverage and the image-visibility of coefficients."""
