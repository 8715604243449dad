"""The lr rule of the official recipe, written once for both runners.

``lr = base_lr x effective batch / 256``, where the effective batch is the images behind one
optimizer step: batch per process x processes x gradient accumulation.
"""

BASE_BATCH = 256  # the official recipe's reference batch


def effective_batch_size(batch_size: int, processes: int, accumulation: int) -> int:
    """Images behind one optimizer step.

    Args:
        batch_size: images per process and forward pass.
        processes: the number of processes (world size).
        accumulation: forward passes per optimizer step.

    Returns:
        ``batch_size x processes x accumulation``.
    """
    return batch_size * processes * accumulation


def scaled_lr(
    base_lr: float,
    batch_size: int,
    processes: int,
    accumulation: int,
    base_batch: int = BASE_BATCH,
) -> float:
    """The lr of a run: ``base_lr x effective batch / base_batch``.

    Args:
        base_lr: the recipe's lr at ``base_batch`` images per step.
        batch_size: images per process and forward pass.
        processes: the number of processes (world size).
        accumulation: forward passes per optimizer step.
        base_batch: the batch ``base_lr`` is given for (256 in the recipe).

    Returns:
        The lr one optimizer step uses.
    """
    return base_lr * effective_batch_size(batch_size, processes, accumulation) / base_batch
