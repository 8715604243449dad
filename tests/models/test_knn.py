import math

import torch

from mae_plugin.models.knn import weighted_knn_predict, weighted_knn_top1


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
