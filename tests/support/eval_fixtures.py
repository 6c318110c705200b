"""A tiny trained run for the eval/chat/export tests, built once per test session.

The corpus is written here (a few Traditional Chinese and English paragraphs) so the tests do
not depend on the bundled sample or shared data; the run is the real train path (4-bit base,
LoRA, trainable embedding/head copies), shortened to a few steps.
"""

from __future__ import annotations

from pathlib import Path

ZH = [
    "臺灣位於東亞，是一個多元文化的島嶼。臺北是最大的城市，捷運系統四通八達。",
    "夜市裡有珍珠奶茶、蚵仔煎和鹽酥雞，許多觀光客都喜歡在晚上逛街。",
    "阿里山的日出非常有名，清晨的雲海讓人印象深刻。",
    "學生們在圖書館裡安靜地讀書，準備下個月的期末考試。",
    "颱風季節來臨時，氣象局會發布警報，提醒民眾注意安全。",
]
EN = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Language models predict the next token from the tokens that came before it.",
    "A small garden behind the house grows tomatoes, basil and sweet peppers.",
    "The train to the coast leaves at nine and arrives before lunch time.",
    "Students read quietly in the library while rain falls on the windows.",
]

FAST = [
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "logger=none",
    "data.block_size=32",
    "data.batch_size=4",
    "tokenizer.sample_vocab_size=600",
]
# the unextended sample vocabulary the eval runs were built around (extended_run extends it)
UNEXTENDED = ["tokenizer=sample_bpe", "embedding_init=none"]


def write_corpus(folder: Path, repeats: int = 12) -> dict[str, Path]:
    """One text file per language, paragraphs separated by blank lines."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for lang, lines in (("zh", ZH), ("en", EN)):
        paragraphs = [f"{i}. " + " ".join(lines[i % 5 :] + lines[: i % 5]) for i in range(repeats)]
        files[lang] = folder / f"{lang}.txt"
        files[lang].write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return files


def trained_run(base_temp: Path) -> Path:
    """A real 4-step run (4-bit base, LoRA, trainable embeddings), trained once per session."""
    from bailong.training.run import RunContext, train
    from tests.support.helpers import train_settings

    root = base_temp / "eval-run"
    run = root / "run"
    if (run / "adapter" / "bailong_run.json").is_file():
        return run
    files = write_corpus(root / "corpus")
    overrides = [*FAST, *UNEXTENDED, f"data.files=[{files['zh']},{files['en']}]"]
    train(train_settings(run, overrides), RunContext(output_dir=run))
    return run


def extended_run(base_temp: Path, new_tokens: list[str], quantized: bool) -> tuple[Path, int]:
    """A run whose tokenizer is bigger than its base's vocabulary, as after vocabulary
    extension: the base is resized, the new rows initialized, LoRA weights made non-zero (a
    fresh LoRA is a no-op), then saved exactly as training saves. Returns (run, base vocab)."""
    import torch
    from transformers import AutoTokenizer

    from bailong.model.load import load_base_model
    from bailong.model.lora import wrap_with_lora
    from bailong.training.run import cache_dir
    from bailong.training.run_record import write_run_record
    from tests.support.helpers import train_settings

    source = trained_run(base_temp)
    run = base_temp / f"extended-run-{'q' if quantized else 'f'}"
    adapter = run / "adapter"
    tokenizer = AutoTokenizer.from_pretrained(str(source / "adapter"))
    base_vocab = len(tokenizer)
    if (adapter / "bailong_run.json").is_file():
        return run, base_vocab
    tokenizer.add_tokens(new_tokens)
    corpus = write_corpus(base_temp / "eval-run" / "corpus")
    overrides = [*FAST, *UNEXTENDED, f"data.files=[{corpus['zh']}]"]
    if not quantized:
        overrides.append("quantization=none")
    cfg = train_settings(run, overrides)
    base = load_base_model(cfg.model, cfg.quantization, base_vocab, cache_dir(cfg))
    base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    torch.manual_seed(0)
    with torch.no_grad():
        base.get_input_embeddings().weight[base_vocab:].normal_(0, 0.02)
        base.get_output_embeddings().weight[base_vocab:].normal_(0, 0.02)
    model = wrap_with_lora(base, cfg.lora, gradient_checkpointing=False)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    model.save_pretrained(str(adapter))
    tokenizer.save_pretrained(str(adapter))
    write_run_record(adapter, cfg, base_vocab_size=base_vocab)
    return run, base_vocab
