"""The Lightning module: resuming a .ckpt of another model size is an error naming it."""

import pytest

from tests.helpers.lightning_runs import tiny_cli


def test_resuming_a_ckpt_of_another_model_size_is_an_error_naming_it(
    lightning_fit, tmp_path, demo_root
):
    _, path = lightning_fit
    cli = tiny_cli(tmp_path, demo_root, '--model.embed_dim', '96')
    with pytest.raises(
        ValueError,
        match=rf"checkpoint '{path}' does not fit this MAE "
        r"\(another model size\? .*'embed_dim': 48",
    ):
        cli.trainer.fit(cli.model, cli.datamodule, ckpt_path=path)
