"""``bailong-data``: check a data config before training on it.

    bailong-data                                  # the default mix: shares, counts, 2 blocks
    bailong-data data=shared_zh_en                # realized token shares of a pretraining mix
    bailong-data data=sft_sample --examples 2     # rendered SFT examples with the loss mask
    bailong-data data=shared_sft data.chat.template=tokenizer tokenizer=...

A pretraining config also shows its token stores (built on first use, then reused): where
each one is, its size on disk, tokens per split and how long it took to build.

Arguments without ``--`` are Hydra overrides of the train config, so the data, tokenizer and
seed are exactly those a ``bailong-train`` run with the same overrides would use.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, cast

from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from rich.console import Console
from rich.table import Table

from bailong.cli.conf_dir import conf_dir
from bailong.core.checks import ConfigError
from bailong.core.known_noise import silence_known_noise
from bailong.training.validate import validate_train_config

if TYPE_CHECKING:
    from bailong.apps.data_report import StoreRow


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bailong-data",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=__doc__.split("\n\n", 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=sft_sample")
    parser.add_argument("--split", default="train", choices=["train", "val"])
    parser.add_argument(
        "--examples",
        type=int,
        default=2,
        help="SFT examples (or packed pretraining blocks) to show",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
        cfg = compose(config_name="train", overrides=args.overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = "."  # nothing is written; the Hydra run dir does not exist here
    try:
        settings = validate_train_config(cfg)
    except ConfigError as err:  # one line, as the Hydra apps print it
        raise SystemExit(f"bailong-data: config error: {err}") from None
    silence_known_noise()  # before the imports: some libraries warn at import
    from bailong.apps.data_report import (  # transformers: seconds
        show_loss_mask,
        store_rows,
        summarize,
    )
    from bailong.data.clean import printable
    from bailong.training.run import build_tokenizer

    tokenizer = build_tokenizer(settings)
    summary = summarize(settings, tokenizer, args.split)
    report = summary.report
    console = Console(width=120)
    unit = "examples" if settings.data.kind == "sft" else f"blocks of {settings.data.block_size}"
    console.print(f"[bold]{args.split}[/bold]: {report.items} {unit}, tokenizer {len(tokenizer)}")

    shares = Table(title="token shares (target vs realized)")
    for col in ("source", "target", "realized", "tokens", "items", "passes"):
        shares.add_column(col, justify="left" if col == "source" else "right")
    for row in report.mix.rows():
        shares.add_row(
            str(row["source"]),
            f"{row['target']:.2%}",
            f"{row['realized']:.2%}",
            f"{row['tokens']:,}",
            f"{row['items']:,}",
            str(row["passes"]),
        )
    console.print(shares)

    if report.stores:
        console.print(store_table(store_rows(report)))

    title = "cleaning and bad records (counts over what the stream read)"
    if report.stores:  # counted while the store was built: one read of the source
        title = "cleaning and bad records (counts over one read of each source, both splits)"
    removed = Table(title=title)
    for col in ("source", "step", "count"):
        removed.add_column(col, justify="right" if col == "count" else "left")
    for name, stats in report.sources.items():
        for key, count in sorted(stats.cleaning.items()):
            removed.add_row(name, key, f"{count:,}")
        for key, count in sorted(stats.bad.items()):
            removed.add_row(name, f"skipped: {key}", f"{count:,}")
    console.print(removed)

    for i, (ids, labels) in enumerate(summary.examples[: args.examples]):
        if settings.data.kind == "sft":
            trained = sum(label != -100 for label in labels)
            console.rule(f"example {i}: {len(ids)} tokens, {trained} with loss in {{+ … +}}")
            text = show_loss_mask(ids, labels, tokenizer)
        else:
            console.rule(f"block {i}: {len(ids)} tokens, all with loss")
            # typed for a batch too; one sequence decodes to one string
            text = cast(str, tokenizer.decode(ids, skip_special_tokens=False))
        console.print(printable(text), markup=False, highlight=False)


def store_table(rows: list[StoreRow]) -> Table:
    table = Table(title="token stores (one per source; memory-mapped by every run)")
    for col in ("source", "train tokens", "val tokens", "docs", "disk", "built in", "path"):
        table.add_column(col, justify="left" if col in ("source", "path") else "right")
    for row in rows:
        built = f"{row['build_seconds']:,.1f} s" + ("" if row["complete"] else ", partial")
        table.add_row(
            str(row["source"]),
            f"{row['train_tokens']:,}",
            f"{row['val_tokens']:,}",
            f"{row['docs']:,}",
            f"{int(row['disk_bytes']) / 2**20:,.1f} MiB",
            built + (" (reused)" if row["reused"] else ""),
            str(row["path"]),
        )
    return table


if __name__ == "__main__":
    main()
