"""The records of saved slot caches: one per file, validated, least recently used removed first,
files deleted (or, on a remote server, marked to be blanked) with their session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llama_tui.chat.slot_cache_files import (
    CacheEntry,
    CacheFiles,
    forget_other_sessions,
    forget_session,
    namespace_for,
    slot_filename,
)

KEY = "0123456789abcdef"


def entry(session: int, n_bytes: int = 100, used_at: float = 1.0, key: str = KEY) -> CacheEntry:
    return CacheEntry(slot_filename(session, key), session, key, "m.gguf", 10, n_bytes, f"text {session}", 1.0, used_at)


def local(tmp_path: Path) -> CacheFiles:
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    return CacheFiles.open(tmp_path / "root", files_dir=files, server_url="http://127.0.0.1:1")


def save(loc: CacheFiles, e: CacheEntry) -> CacheEntry:
    """What the server and the service do: the file, then its record."""
    assert loc.files_dir is not None
    (loc.files_dir / e.filename).write_bytes(b"k" * e.n_bytes)
    loc.put(e)
    return e


def test_records_round_trip_and_sizes_come_from_the_files(tmp_path: Path) -> None:
    loc = local(tmp_path)
    save(loc, entry(1, n_bytes=300))
    got = loc.get(1, KEY)
    assert got is not None and (got.session_id, got.n_bytes, got.text) == (1, 300, "text 1")
    assert loc.get(1, "fedcba9876543210") is None  # another model's cache is another file
    assert loc.total_bytes() == 300
    assert (loc.meta_dir / (got.filename + ".json")).stat().st_mode & 0o777 == 0o600


def test_a_record_whose_file_is_gone_or_that_does_not_parse_is_dropped(tmp_path: Path) -> None:
    loc = local(tmp_path)
    gone = save(loc, entry(1))
    save(loc, entry(2))
    assert loc.files_dir is not None
    (loc.files_dir / gone.filename).unlink()
    bad = loc.meta_dir / (slot_filename(3, KEY) + ".json")
    bad.write_text("{not json")
    (loc.files_dir / slot_filename(4, KEY)).write_bytes(b"k")  # its file exists: dropped for the bad count
    lying = loc.meta_dir / (slot_filename(4, KEY) + ".json")
    lying.write_text(json.dumps({**entry(4).__dict__, "n_tokens": -5}))
    escaping = loc.meta_dir / "x.json"
    escaping.write_text(json.dumps({**entry(5).__dict__, "filename": "../../etc/passwd"}))
    assert [e.session_id for e in loc.entries()] == [2]
    assert not bad.exists() and not lying.exists() and not escaping.exists()


def test_over_cap_removes_least_recently_used_first_and_the_new_file_last(tmp_path: Path) -> None:
    loc = local(tmp_path)
    for session, used in ((1, 30.0), (2, 10.0), (3, 20.0)):
        save(loc, entry(session, n_bytes=100, used_at=used))
    assert [e.session_id for e in loc.over_cap(250)] == [2]
    assert [e.session_id for e in loc.over_cap(100)] == [2, 3]
    newest = slot_filename(2, KEY)  # just saved, though its used_at is oldest
    assert [e.session_id for e in loc.over_cap(150, keep=newest)] == [3, 1]
    assert [e.session_id for e in loc.over_cap(50, keep=newest)] == [3, 1, 2]  # alone over the cap
    assert loc.over_cap(300) == []


def test_removing_deletes_the_file_here_or_marks_it_for_blanking_on_a_remote_server(tmp_path: Path) -> None:
    loc = local(tmp_path)
    e = save(loc, entry(1))
    loc.remove(e)
    assert loc.files_dir is not None
    assert list(loc.files_dir.iterdir()) == [] and loc.entries() == []
    remote = CacheFiles.open(tmp_path / "root", files_dir=None, server_url="http://gpu-box:8080")
    r = entry(2)
    remote.put(r)
    remote.remove(r)
    assert remote.get(2, KEY) is None
    [pending] = remote.pending_blanks()
    assert pending.filename == r.filename and pending.text == "" and remote.total_bytes() == 0
    remote.drop_record(pending)
    assert remote.entries() == []


def test_forgetting_a_session_reaches_every_location(tmp_path: Path) -> None:
    here = local(tmp_path)
    save(here, entry(1))
    save(here, entry(2))
    remote = CacheFiles.open(tmp_path / "root", files_dir=None, server_url="http://gpu-box:8080")
    remote.put(entry(1, key="fedcba9876543210"))
    assert forget_session(tmp_path / "root", 1) == 2
    assert [e.session_id for e in here.entries()] == [2]
    assert [e.session_id for e in remote.pending_blanks()] == [1]
    assert forget_session(tmp_path / "root", 1) == 0
    assert forget_session(tmp_path / "nowhere", 1) == 0


def test_caches_of_sessions_that_no_longer_exist_are_swept(tmp_path: Path) -> None:
    here = local(tmp_path)
    for session in (1, 2, 3):
        save(here, entry(session))
    assert forget_other_sessions(tmp_path / "root", {2}) == 2
    assert [e.session_id for e in here.entries()] == [2]
    assert here.files_dir is not None and [p.name for p in here.files_dir.iterdir()] == [slot_filename(2, KEY)]


def test_two_session_stores_share_a_server_folder_without_touching_each_others_caches(tmp_path: Path) -> None:
    """Session ids are per store: store B's session 1 is not store A's."""
    a_ns, b_ns = namespace_for(tmp_path / "a" / "sessions.sqlite3"), namespace_for(tmp_path / "b" / "sessions.sqlite3")
    assert a_ns != b_ns and a_ns == namespace_for(tmp_path / "a" / ".." / "a" / "sessions.sqlite3")
    files = tmp_path / "files"
    files.mkdir()
    a = CacheFiles.open(tmp_path / "root", files_dir=files, server_url="http://x:1", namespace=a_ns)
    b = CacheFiles.open(tmp_path / "root", files_dir=files, server_url="http://x:1", namespace=b_ns)
    assert a.meta_dir != b.meta_dir
    for loc, ns in ((a, a_ns), (b, b_ns)):
        e = entry(1)
        e.filename = slot_filename(1, KEY, ns)
        save(loc, e)
    assert len({p.name for p in files.iterdir()}) == 2  # one file each, same session id
    assert forget_session(tmp_path / "root", 1, a_ns) == 1
    assert a.get(1, KEY) is None and b.get(1, KEY) is not None
    assert forget_other_sessions(tmp_path / "root", set(), a_ns) == 0  # A has nothing left; B's stays
    assert [e.session_id for e in b.entries()] == [1]
    assert forget_other_sessions(tmp_path / "root", set(), b_ns) == 1
    with pytest.raises(ValueError, match="namespace"):
        slot_filename(1, KEY, "../x")
