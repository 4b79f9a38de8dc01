"""Fixtures shared by the unit tests of every topic."""
import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest on one thread (two threads on a busy 2-core runner were 10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
