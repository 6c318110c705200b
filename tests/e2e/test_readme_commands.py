"""Every command of the README and the docs marked runnable on CPU runs as written, and says
what the page says; every link of those pages leads somewhere.

The convention: an HTML comment on the line before a fenced block (invisible on GitHub and in
the mkdocs site), ``<!-- runnable-cpu -->`` for the whole block, or
``<!-- runnable-cpu: <command> -->`` for the one command of the block that is (the README's
first block also installs and runs the tests). Blocks are collected from the pages in the
order of ``mkdocs.yml``'s ``nav`` (the README, its home page, first), top to bottom within a
page, and run in that order in one scratch directory (so a later block finds what an earlier
one wrote, as a reader's checkout would), with a scratch cache, the shared data where it is
present, and the repo on PYTHONPATH for ``python -m experiments...``. A block whose commands
read the shared data is skipped with the reason when it is absent. Errors name the page and
the marker's line.

The fast tests check the pages themselves: the marked blocks found, every relative link and
image (a file that exists; ``page.md#anchor``: a heading of that page, as GitHub writes its
anchor), every ``docs/`` page in the nav, and the README short, with a link to the page of
every section it used to hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bailong.core.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MKDOCS = ROOT / "mkdocs.yml"
MARKER = re.compile(r"^<!-- runnable-cpu(?::\s*(?P<command>.+?))?\s*-->\s*$")
NEEDS_SHARED = ("eval=perplexity", "BAILONG_SHARED_DATA", "shared_", "refbase")
# What a page promises a command's output or files hold (regexes on stdout + stderr).
PROMISES = {
    "bailong-train": [
        r"tokenizer=sample_extended: original tokenizer the stand-in for Llama 2's tokenizer",
        r"embedding_init=zip_tie: 1000 rows kept, 512 new token rows \+ 0 padding rows "
        r"initialized \(1512 in all\) in [0-9.]+ s, [0-9.]+ original pieces per new token",
        r"validation at step 0: val/loss=[0-9.]+",  # the step-0 loss
        r"training steps: 60/60 \(100%\)",  # progress lines, not a carriage-return bar
    ],
    "bailong-eval model_path=logs/dry_run/sft eval=perplexity hydra.run.dir=logs/dry_run/eval": [
        r"zh/bits_per_char",
        r"perplexity windows: \d+/\d+ \(100%\)",
    ],
}
# The marked blocks, in run order: (page, what the block runs, in part).
EXPECTED_BLOCKS = [
    ("README.md", "bailong-train"),  # the main job of the README's first command
    ("docs/embeddings.md", "bailong-probe-init"),  # the tiny initial-loss probe
    ("docs/reproduce.md", "bailong_instruct_7b_tiny"),  # the paper's dry run, then its eval
]
# Where each section of the old, long README went (issue 30): the README links to the page.
MOVED_SECTIONS = {
    "What a run does": "docs/configuration.md#what-a-run-does",
    "Configuration": "docs/configuration.md#configuration",
    "Vocabulary extension": "docs/tokenizer.md",
    "Initialization methods": "docs/embeddings.md",
    "Your own base model": "docs/your_own_base.md",
    "Data": "docs/data.md",
    "Reproduce the paper": "docs/reproduce.md",
    "Ablations": "docs/ablations.md",
    "Clusters, GPUs, Optuna": "docs/clusters.md",
    "Evaluate and export": "docs/eval.md",
    "Failure and resume": "docs/reliability.md#failure-and-resume",
    "Everyday use: output, start-up, disk": "docs/everyday_use.md",
    "Checkpoint disk use": "docs/everyday_use.md#checkpoint-disk-use",
    "The notebook": "docs/everyday_use.md#the-notebook",
    "What commands print": "docs/everyday_use.md#what-commands-print",
    "Trust and faults": (
        "docs/reliability.md#trust-nothing-from-a-run-directory-lose-nothing-on-a-crash"
    ),
    "Benchmarks": "docs/benchmarks.md",
    "Initialization on the reference base": (
        "docs/zip_tie_study.md#initialization-on-the-reference-base"
    ),
    "The zip-tie study at tiny scale": "docs/zip_tie_study.md#the-zip-tie-study-at-tiny-scale",
    "Installing": "docs/installing.md",
    "Development": "docs/development.md",
}
README_MAX_LINES = 250


@dataclass
class Block:
    page: str  # relative to the repository root, e.g. "docs/reproduce.md"
    line: int  # of the marker in the page
    script: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def runnable_blocks(text: str, page: str = "README.md") -> list[Block]:
    """The marked blocks of ``text`` (the page ``page``), as the bash each one runs."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not (m := MARKER.match(line)):
            continue
        assert i + 1 < len(lines) and lines[i + 1].startswith("```bash"), (
            f"{page}:{i + 1}: marker not before a bash block"
        )
        end = lines.index("```", i + 2)
        body = "\n".join(lines[i + 2 : end]).replace("\\\n", " ")  # continued lines
        command = m.group("command")
        if command is not None:
            assert command in body, f"{page}:{i + 1}: {command!r} is not in the block"
            body = command
        blocks.append(Block(page, i + 1, body))
    return blocks


def nav_pages(mkdocs_yml: Path = MKDOCS) -> list[str]:
    """The pages of ``mkdocs.yml``'s nav, in its order (paths relative to the repository)."""
    config = yaml.safe_load(mkdocs_yml.read_text(encoding="utf-8"))
    docs_dir = (mkdocs_yml.parent / config.get("docs_dir", "docs")).resolve()

    def walk(item: object) -> list[str]:
        if isinstance(item, str):
            return [item] if item.endswith(".md") else []
        if isinstance(item, dict):
            return [page for value in item.values() for page in walk(value)]
        if isinstance(item, list):
            return [page for value in item for page in walk(value)]
        return []

    return [(docs_dir / p).resolve().relative_to(ROOT).as_posix() for p in walk(config["nav"])]


def all_runnable_blocks() -> list[Block]:
    """Every marked block of the README and the nav's pages, in run order."""
    pages = nav_pages()
    if "README.md" in pages:
        pages.remove("README.md")
    return [
        block
        for page in ["README.md", *pages]
        for block in runnable_blocks((ROOT / page).read_text(encoding="utf-8"), page)
    ]


def test_the_marker_convention() -> None:
    text = (
        "<!-- runnable-cpu: b -->\n```bash\na && b\n```\n<!-- runnable-cpu -->\n```bash\nc\n```\n"
    )
    blocks = runnable_blocks(text, "x.md")
    assert [b.script for b in blocks] == ["b", "c"]
    assert [b.where for b in blocks] == ["x.md:1", "x.md:5"]
    with pytest.raises(AssertionError, match=r"^x\.md:2: marker not before"):
        runnable_blocks("text\n<!-- runnable-cpu -->\nnot a block\n", "x.md")


def test_the_pages_hold_the_expected_runnable_blocks_in_order() -> None:
    blocks = all_runnable_blocks()
    found = [(b.page, b.script) for b in blocks]
    assert len(blocks) == len(EXPECTED_BLOCKS), found
    for block, (page, part) in zip(blocks, EXPECTED_BLOCKS, strict=True):
        assert (block.page, part in block.script) == (page, True), found
    assert blocks[0].script == "bailong-train"  # the main job of the README's first command
    # The dry run writes logs/dry_run/... before the eval of the same block reads it.
    dry_run = blocks[-1].script
    assert dry_run.index("hydra.run.dir=logs/dry_run/sft") < dry_run.index("bailong-eval")
    for command in PROMISES:
        assert any(command in b.script.splitlines() for b in blocks), f"no block runs {command}"


# -- links ----------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code, with inline code blanked, numbered from 1."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, INLINE_CODE.sub("``", line)))
    return out


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced and (m := HEADING.match(line)):
            anchor = github_anchor(m.group(2))
            n, unique = 0, anchor
            while unique in found:  # GitHub numbers repeated headings: x, x-1, x-2
                n += 1
                unique = f"{anchor}-{n}"
            found.add(unique)
    return found


def broken_links(page: str) -> list[str]:
    """Each relative link or image of ``page`` whose file or heading is missing."""
    path = ROOT / page
    broken = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            where = f"{page}:{number}: {target}"
            if not resolved.exists():
                broken.append(f"{where}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{where}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    return broken


def test_github_anchors() -> None:
    assert github_anchor("Clusters, GPUs, Optuna") == "clusters-gpus-optuna"
    assert github_anchor("Output side (`embedding_init.output`)") == (
        "output-side-embedding_initoutput"
    )
    assert github_anchor("`piece_logprob` (ours)") == "piece_logprob-ours"
    assert github_anchor("Everyday use: output, start-up, disk") == (
        "everyday-use-output-start-up-disk"
    )


def test_every_link_of_the_readme_and_the_docs_resolves() -> None:
    pages = ["README.md", *[p for p in nav_pages() if p != "README.md"]]
    broken = [problem for page in pages for problem in broken_links(page)]
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_in_the_nav() -> None:
    pages = nav_pages()
    assert pages[0] == "README.md"  # the home page, whose blocks run first
    assert len(pages) == len(set(pages)), pages
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("**/*.md"))
    assert sorted(p for p in pages if p != "README.md") == on_disk


def test_the_readme_is_short_and_reaches_every_section_it_held() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < README_MAX_LINES
    assert text.startswith("# bailong\n\n<!-- runnable-cpu: bailong-train -->\n```bash\n")
    links = {m.group(1) for _, line in _prose_lines(text) for m in LINK.finditer(line)}
    for section, target in MOVED_SECTIONS.items():
        page, _, anchor = target.partition("#")
        assert any(link.partition("#")[0] == page for link in links), (
            f"README.md: no link to {page}, where {section!r} went"
        )
        if anchor:
            assert anchor in anchors(ROOT / page), f"{section!r}: no #{anchor} in {page}"
    # The figure users come for stays on the front page.
    assert "](experiments/ablations_tiny/ablate_embedding_init_tiny.png)" in text


@pytest.mark.slow
def test_every_runnable_command_runs(tmp_path: Path) -> None:
    shared = shared_data_dir()
    env = {
        **os.environ,
        **({"BAILONG_SHARED_DATA": str(shared)} if shared is not None else {}),
        "BAILONG_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    work = tmp_path / "checkout"
    work.mkdir()
    skipped = []
    for block in all_runnable_blocks():
        for command in block.script.splitlines():
            if not command.strip() or command.lstrip().startswith("#"):
                continue
            if shared is None and any(s in command for s in NEEDS_SHARED):
                skipped.append(f"{block.where}: {command}")
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"{block.where}: {command}\n{output[-4000:]}"
            assert "\r" not in output, f"{block.where}: {command} drew a live bar"
            for promise in PROMISES.get(command.split("#")[0].strip(), []):
                assert re.search(promise, output), (
                    f"{block.where}: {command}: no {promise!r} in\n{output[-4000:]}"
                )
    if skipped:
        pytest.skip(f"ran the rest; the shared data is absent for: {skipped}")
