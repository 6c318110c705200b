"""Values that used to pass validation and fail late (or never) are refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from bailong.core.checks import ConfigError
from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings

BAD = [
    ("trainer.max_steps=-1", r"trainer\.max_steps=-1 .*max_epochs"),
    ("trainer.max_steps=0", r"trainer\.max_steps=0 "),
    ("optim.betas=[0.9]", r"optim\.betas=\[0\.9\] "),
    ("optim.betas=[0.9,1.5]", r"optim\.betas="),
    ("trainer.accumulate_grad_batches=0", r"trainer\.accumulate_grad_batches=0 "),
    ("model.config.hidden_size=0", r"model\.config\.hidden_size=0 "),
    ("model.config.num_attention_heads=3", r"model\.config\.num_attention_heads=3 .*divide"),
    ("data.sources=[{path:bundled,weight:inf}]", r"data\.sources\[0\]\.weight=inf "),
    ("model.name_or_path=/no/such/model", r"model\.name_or_path='/no/such/model' .*local"),
    ("tokenizer.name_or_path=./no/such/tok", r"tokenizer\.name_or_path='\./no/such/tok' "),
    ("seed=-1", r"seed=-1 "),
    ("optim.lr=nan", r"optim\.lr=nan "),
    ("optim.lr=inf", r"optim\.lr=inf "),
    ("optim.eps=0", r"optim\.eps=0\.0 "),
    ("optim.weight_decay=-0.1", r"optim\.weight_decay=-0\.1 "),
    ("data.num_workers=-1", r"data\.num_workers=-1 "),
    ("callbacks.checkpoint.keep=-5", r"callbacks\.checkpoint\.keep=-5 "),
    ("trainer.precision=banana", r"trainer\.precision='banana' .*bf16-mixed"),
    ("trainer.gradient_clip_val=-1", r"trainer\.gradient_clip_val=-1 "),
    ("lora.r=4096", r"lora\.r=4096 .*hidden_size="),
    ("lora.target_modules=[q_proj,qkv]", r"lora\.target_modules=\['qkv'\] .*gate_proj"),
    ("optimized_metric=val/accuracy", r"optimized_metric='val/accuracy' .*never logged"),
    ("data.files=['a.txt, b.txt']", r"several files are a list: data\.files=\[a\.txt,b\.txt\]"),
    # accepted and ran to exit 0 with no train/loss rows, no best.ckpt, or a meaningless seed
    ("trainer.log_every_n_steps=0", r"trainer\.log_every_n_steps=0 .*log_every_n_steps=1"),
    ("callbacks.checkpoint.best=val/nope", r"checkpoint\.best='val/nope' .*val/loss"),
    ("model.seed=-5", r"model\.seed=-5 .*must lie in \[0, "),
    # crashed after the model loaded (ZeroDivisionError, a dataclass type error, ImportError)
    ("trainer.val_check_interval=0", r"trainer\.val_check_interval=0 .*val_check_interval=1"),
    ("trainer.val_check_interval=1.5", r"trainer\.val_check_interval=1\.5 "),
    ("model.config.rms_norm_eps=-1", r"model\.config\.rms_norm_eps=-1 .*> 0"),
    (
        "model.attn_implementation=kernels-community/flash-attn",
        r"model\.attn_implementation='kernels-community/flash-attn' .*pip install kernels.*sdpa",
    ),
]


@pytest.mark.parametrize(("override", "message"), BAD, ids=[o for o, _ in BAD])
def test_bad_value_is_named_before_anything_loads(
    tmp_path: Path, override: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        train_settings(tmp_path, [override])


def test_good_targets_and_metric_pass(tmp_path: Path) -> None:
    overrides = ["lora.target_modules=[q_proj,v_proj]", "optimized_metric=val/loss"]
    overrides += ["callbacks.checkpoint.best=val/loss", "trainer.val_check_interval=0.5"]
    overrides += ["trainer.log_every_n_steps=1", "model.attn_implementation=eager"]
    assert train_settings(tmp_path, overrides).optimized_metric == "val/loss"


def test_a_directory_without_data_files_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"data\.files\[0\]=.*empty' .*holds no"):
        train_settings(tmp_path, [f"data.files=[{tmp_path / 'empty'}]"])
    train_settings(tmp_path, [f"data.files=[{Path(__file__).parents[2] / 'bailong/data/sample'}]"])


def test_a_batch_larger_than_the_data_fails_instead_of_saving_an_untrained_adapter(
    tmp_path: Path,
) -> None:
    cfg = train_settings(tmp_path, ["data.batch_size=4096", "callbacks.progress_bar=none"])
    with pytest.raises(ValueError, match=r"data\.batch_size=4096 is larger than the training"):
        train(cfg, RunContext(output_dir=tmp_path))
    assert not (tmp_path / "adapter").exists()
