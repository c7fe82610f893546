"""The settings of a training run, validated before TensorFlow loads."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's outcome (it goes into the manifest)."""

    model: str
    dataset: str
    epochs: int
    batch_size: int = 32
    seed: int = 0
    learning_rate: float = 1e-3
    augment: bool = True
    max_train_images: int | None = None  # for quick runs and tests; None keeps every image
    data: str | None = None  # --data: user images (a folder, .npz, IDX folder or name) instead of ``dataset``

    def validate(self) -> None:
        """Reject values no run can use, before anything heavy is imported."""
        if self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.max_train_images is not None and self.max_train_images < 10:
            raise UsageError(f"--max-train-images must be at least 10, got {self.max_train_images}")
