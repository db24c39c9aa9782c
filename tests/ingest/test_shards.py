"""An mbox read in shards reads as the whole file does, and an ingest in shards stores the same."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from emailtrack_analytics.ingest.shards import Shard, map_shard
from emailtrack_analytics.ingest.sources import InputFile
from emailtrack_analytics.ingest.sources.mbox import cut_points, read_mbox, read_mbox_range
from tests.builders import lead, mbox, outlook_forward
from tests.conftest import CORPUS, export_tables, run_cli

CUTS = (300, 2_000, 20_000)   # bytes per shard: many, some and few cuts in the corpus files


def whole_and_sharded(path: Path, every: int) -> tuple[list[tuple], list[tuple], list[int]]:
    """Every message of ``path`` read whole, and read shard by shard at its cut points."""
    def facts(raws):
        return [(raw.data, raw.from_line, raw.problem, raw.detail) for raw in raws]
    cuts = cut_points(path, every)
    bounds = [0, *cuts, None]
    sharded = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        sharded += facts(read_mbox_range(path, "x", start, end))
    return facts(read_mbox(path, "x")), sharded, cuts


def shapes(folder: Path) -> list[Path]:
    """mbox layouts whose separators are easy to misjudge from the middle of a file."""
    rng = random.Random(14)
    leads = [lead(message_id=f"<shard-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(40)]
    files = {
        "mboxrd.mbox": mbox(*leads),
        "mboxo.mbox": mbox(*leads, escape="mboxo"),
        "crlf.mbox": mbox(*leads).replace(b"\n", b"\r\n"),
        # body lines that start with "From " but are no separators, after a blank line or not
        "from-in-body.mbox": b"".join(b"From a@b Mon Jan  5 10:00:00 2026\n" + m.replace(
            b"\n\n", b"\n\nFrom time to time we call.\n\nFrom Russia with love\n", 1) + b"\n" for m in leads[:20]),
        # a separator without the blank line before it (old writers), followed by headers
        "no-blank.mbox": b"".join(b"From - Mon Jan  5 10:00:00 2026\n" + m.rstrip(b"\n") + b"\n" for m in leads[:20]),
        # a long line without a newline in the middle of a message, then more messages
        "long-line.mbox": mbox(leads[0]) + b"x" * 70_000 + b"\n\n" + mbox(*leads[1:10]),
        # blank lines of white space before separators
        "spaces.mbox": b"".join(b"From a@b Mon Jan  5 10:00:00 2026\n" + m + b" \t\n" for m in leads[:20]),
        "forwards.mbox": mbox(*(outlook_forward() for _ in range(15))),
        "random.mbox": mbox(*leads[:5]) + bytes(rng.randrange(256) for _ in range(30_000)) + b"\n\n" + mbox(*leads[5:15]),
    }
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def corpus_mboxes() -> list[Path]:
    if not (CORPUS / "mbox").is_dir():
        return []
    return sorted(path for path in (CORPUS / "mbox").rglob("*") if path.is_file())


@pytest.mark.parametrize("every", CUTS)
def test_shards_of_hand_made_layouts_read_as_the_whole_file(tmp_path, every):
    uncut = []
    for path in shapes(tmp_path):
        whole, sharded, cuts = whole_and_sharded(path, every)
        assert sharded == whole, path.name
        if not cuts and path.stat().st_size > 2 * every:
            uncut.append(path.name)
    assert uncut == []  # the comparison covered shards, not whole files only


@pytest.mark.corpus
@pytest.mark.parametrize("every", CUTS)
def test_shards_of_the_corpus_mboxes_read_as_the_whole_file(every):
    paths = corpus_mboxes()
    assert len(paths) > 10
    cut = 0
    for path in paths:
        whole, sharded, cuts = whole_and_sharded(path, every)
        assert sharded == whole, path
        cut += len(cuts)
    assert cut > 20


def test_cuts_are_at_separators_and_a_compressed_mbox_is_not_cut(tmp_path):
    import gzip
    data = mbox(*(lead(message_id=f"<c-{n}@lead.seloger.com>") for n in range(30)))
    (tmp_path / "a.mbox").write_bytes(data)
    (tmp_path / "a.mbox.gz").write_bytes(gzip.compress(data))
    cuts = cut_points(tmp_path / "a.mbox", 1000)
    assert cuts and all(data[cut:cut + 5] == b"From " and data[cut - 2:cut] == b"\n\n" for cut in cuts)
    assert cut_points(tmp_path / "a.mbox.gz", 1000) == []
    assert cut_points(tmp_path / "a.mbox", len(data)) == []


def test_a_shard_is_mapped_to_a_batch_of_its_copies_and_quarantine_items(tmp_path):
    box = tmp_path / "box.mbox"
    box.write_bytes(mbox(lead(message_id="<m-1@lead.seloger.com>"), b"no header here\nnor here\n",
                         lead(message_id="<m-2@lead.seloger.com>")))
    batch = map_shard(Shard((InputFile(box, "mbox", "box.mbox"),)))
    copies, details, quarantine, seen = batch.tables()
    assert batch.read == [3] and batch.unopened == [False]
    assert copies.column("source").to_pylist() == ["box.mbox:1", "box.mbox:3"]
    assert copies.column("message_id").to_pylist() == ["m-1@lead.seloger.com", "m-2@lead.seloger.com"]
    assert quarantine.column("reason").to_pylist() == ["not_an_email"]
    assert details.num_rows == 2 and set(details.column("seq").to_pylist()) == {0, 2}
    assert seen.num_rows == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_read_again_parses_only_its_new_messages(workspace, tmp_path, monkeypatch, workers):
    """An mbox a month longer is read again whole, but only its new messages are parsed: the
    others are keyed, found stored, and sighted."""
    import emailtrack_analytics.ingest.pipeline as pipeline
    from emailtrack_analytics.ingest.parsing.worker import parse_item
    box = tmp_path / "box.mbox"
    first = [lead(message_id=f"<r-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(300)]
    box.write_bytes(mbox(*first))
    assert pipeline.ingest(workspace, [box], workers=workers).new == 300
    box.write_bytes(mbox(*first, lead(message_id="<r-new@lead.seloger.com>"), b"no header\nhere\n"))
    parsed = []
    monkeypatch.setattr(pipeline, "_parse", lambda item: parsed.append(item) or parse_item(item))
    monkeypatch.setattr(pipeline, "LOCAL_BYTES", 10 ** 9)  # parsed here, where the calls are seen
    again = pipeline.ingest(workspace, [box], workers=workers)
    assert (again.new, again.already_stored, again.quarantined) == (1, 300, 1)
    # the new lead and the broken message (not stored: parsed again, quarantined again)
    assert len(parsed) == 2
    assert b"<r-new@lead.seloger.com>" in parsed[0][0] and parsed[1][0].startswith(b"no header")
    con = pipeline.connect(workspace.database, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM sightings").fetchone() == (301,)
        assert con.execute("SELECT items, new_items, quarantined FROM ingested_files").fetchone() == (302, 1, 1)
    finally:
        con.close()


def test_an_mbox_ingested_in_many_shards_stores_what_one_shard_stores(sample_workspace, tmp_path, monkeypatch):
    """Sources are numbered over the whole file (label:N), the first copy of a message is the
    one stored, and each file has one ledger entry, whatever the cuts."""
    import emailtrack_analytics.ingest.pipeline as pipeline
    boxes = sorted((sample_workspace / "data" / "sample").rglob("*.mbox"))
    assert boxes
    inputs = []
    for name in ("one", "many"):
        target = tmp_path / name / "in"
        target.mkdir(parents=True)
        for box in boxes[:3]:
            shutil.copy(box, target / box.name)
        # a message read twice, in two shards: stored once, sighted twice
        (target / "again.mbox").write_bytes(boxes[0].read_bytes()[:200_000] + b"\n")
        shutil.copy(sample_workspace / "emailtrack.toml", tmp_path / name / "emailtrack.toml")
        inputs.append(target)
    assert run_cli("--workspace", tmp_path / "one", "ingest", inputs[0], "--workers", "2").code == 0
    monkeypatch.setattr(pipeline, "SHARD_BYTES", 16 * 1024)
    batches = []
    real_append = pipeline.append_batch
    monkeypatch.setattr(pipeline, "append_batch",
                        lambda con, *args, **kwargs: batches.append(kwargs["numbered"]) or real_append(con, *args, **kwargs))
    from emailtrack_analytics.config.workspace import open_workspace
    summary = pipeline.ingest(open_workspace(tmp_path / "many"), [inputs[1]], workers=2)
    assert sum(numbered is not None for numbered in batches) > 10  # really cut
    assert summary.files_read == 4
    one, many = export_tables(tmp_path / "one"), export_tables(tmp_path / "many")
    assert one["messages"].count("\n") > 150
    for table in one:
        assert one[table] == many[table], table
