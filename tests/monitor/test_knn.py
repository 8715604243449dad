"""Weighted kNN against a brute-force reference, and the probe every runner's monitor calls; its
folders keep a 16-bit or 32-bit image's contrast."""

import math
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import mae_plugin  # noqa: F401
from mae_plugin.monitor.knn import KNNProbe, weighted_knn_predict, weighted_knn_top1
from tests.helpers.ramps import (
    assert_close,
    assert_ramp,
)


def brute_force(train_x, train_y, test_x, k, temperature):
    """Weighted kNN written out one test sample and one neighbour at a time."""
    preds = []
    for q in test_x:
        sims = []
        for x, y in zip(train_x, train_y, strict=True):
            cos = float(q @ x) / (float(q.norm()) * float(x.norm()))
            sims.append((cos, int(y)))
        sims.sort(key=lambda s: -s[0])
        votes = {}
        for cos, label in sims[:k]:
            votes[label] = votes.get(label, 0.0) + math.exp(cos / temperature)
        preds.append(max(votes, key=votes.get))
    return torch.tensor(preds)


def test_weighted_knn_matches_brute_force():
    torch.manual_seed(0)
    train_x = torch.randn(60, 8)
    train_y = torch.randint(0, 5, (60,))
    test_x = torch.randn(25, 8)
    for k, t in ((20, 0.07), (5, 0.5), (1, 0.07)):
        expected = brute_force(train_x, train_y, test_x, k, t)
        assert torch.equal(weighted_knn_predict(train_x, train_y, test_x, k, t, chunk=7), expected)


def test_top1_on_separable_clusters_and_weighting():
    centres = torch.eye(4) * 10
    train_x = centres.repeat_interleave(5, 0) + 0.1 * torch.randn(20, 4)
    train_y = torch.arange(4).repeat_interleave(5)
    test_x = centres + 0.1 * torch.randn(4, 4)
    assert weighted_knn_top1(train_x, train_y, test_x, torch.arange(4), k=20) == 100.0
    # 2 near neighbours of class 0 outweigh 3 distant ones of class 1 at a low temperature
    train_x = torch.tensor([[1.0, 0.01], [1.0, -0.01], [0.2, 1.0], [0.2, 1.1], [0.2, 0.9]])
    train_y = torch.tensor([0, 0, 1, 1, 1])
    pred = weighted_knn_predict(train_x, train_y, torch.tensor([[1.0, 0.0]]), k=5, temperature=0.07)
    assert int(pred[0]) == 0


def write_split(root, layout):
    """layout: {split/class: [grey levels]}, one 32-px JPEG per level."""
    for folder, levels in layout.items():
        os.makedirs(root / folder, exist_ok=True)
        for level in levels:
            image = np.zeros((32, 32, 3), np.uint8)
            image[:, :16] = level  # half the image: a patch-level pattern the encoder sees
            Image.fromarray(image).save(root / folder / f'{level}.png')
    return str(root)


def normalize(images):
    return (images.float() - 128) / 64


def test_the_probe_scores_the_encoder_features_in_eval_mode(tmp_path, mae):
    root = write_split(
        tmp_path,
        {
            'train/a': [10, 20],
            'train/b': [120, 130],
            'train/c': [230, 240],
            'val/a': [15],
            'val/c': [235],
        },
    )
    encoder = mae.encoder.train()
    calls = []

    def encode(inputs):
        calls.append(encoder.training)
        return encoder(inputs)

    probe = KNNProbe(root, k=3, pool='avg', batch_size=4)
    accuracy = probe.evaluate(encoder, normalize, encode)
    train_x, train_y, val_x, val_y = probe.splits(32)
    assert train_y.tolist() == [0, 0, 1, 1, 2, 2] and val_y.tolist() == [0, 2]
    assert calls == [False] * 3  # 6 + 2 images by 4, all in eval mode
    assert encoder.training  # restored
    with torch.no_grad():
        encoder.eval()
        features = [encoder(normalize(x))[:, 1:].mean(1) for x in (train_x, val_x)]
    assert accuracy == weighted_knn_top1(features[0], train_y, features[1], val_y, k=3)
    shutil.rmtree(tmp_path / 'val')  # read once per input size
    assert probe.evaluate(encoder.train(), normalize) == accuracy


def test_the_probe_refuses_an_unknown_pool_and_a_foreign_val_class(tmp_path, mae):
    with pytest.raises(ValueError, match="pool must be one of \\('cls', 'avg'\\), got 'max'"):
        KNNProbe(str(tmp_path), pool='max')
    root = write_split(tmp_path, {'train/a': [10], 'val/b': [20]})
    with pytest.raises(ValueError, match="class 'b'"):
        KNNProbe(root).evaluate(mae.encoder, normalize)


def test_knn_folder_keeps_the_contrast(roots):
    deep_root, twin_root, _ = roots
    deep, twin = KNNProbe(deep_root).splits(64), KNNProbe(twin_root).splits(64)
    for deep_images, twin_images in ((deep[0], twin[0]), (deep[2], twin[2])):
        assert len(deep_images) == 2
        for image, twin_image in zip(deep_images, twin_images, strict=True):
            assert_close(image, twin_image)
            assert_ramp(image)
