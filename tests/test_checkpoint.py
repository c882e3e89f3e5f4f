import pytest
import torch

from tests.helpers.models import tiny_model
from threadtag.models.batching import TextLimits
from threadtag.models.checkpoint import Checkpoint, new_version_id
from threadtag.models.vocab import SPECIALS, Vocab


def test_round_trip_keeps_weights_vocab_config_and_version(tmp_path):
    model = tiny_model("post_att", vocab_size=9)
    vocab = Vocab([*SPECIALS, "a", "b", "c", "d", "e"])
    ck = Checkpoint(model, vocab, TextLimits(5, 7, 3), "en", new_version_id("post_att"), {"best_dev_loss": 1.5})
    path = ck.save(tmp_path / "m.pt")
    loaded = Checkpoint.load(path, "cpu")
    assert loaded.version == ck.version and loaded.vocab.itos == vocab.itos
    assert loaded.limits == ck.limits and loaded.model.config == model.config
    assert loaded.training == {"best_dev_loss": 1.5}
    post, conv = torch.tensor([[4, 5, 6]]), torch.tensor([[7, 8]])
    args = (post, torch.tensor([3]), conv, torch.tensor([2]), torch.tensor([[2, 4]]), torch.tensor([[4, 3]]))
    with torch.no_grad():
        assert torch.equal(model.sequence_nll(*args), loaded.model.sequence_nll(*args))
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_a_foreign_file_is_refused_clearly(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a threadtag checkpoint"):
        Checkpoint.load(bad)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="format"):
        Checkpoint.load(tmp_path / "other.pt")
