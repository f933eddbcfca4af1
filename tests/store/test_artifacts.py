"""The content-addressed artifact store and safe extraction of untrusted zips."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import zipfile
from pathlib import Path

import pytest
from zips import exact, lying_bomb, make_zip

import sandbox.store.artifacts as artifacts
from sandbox.errors import InvalidParameterValueException, StoreError
from sandbox.store.artifacts import ArtifactStore, ZipReader, safe_extract
from sandbox.store.packaging import build_zip

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(parent: Path, dest: Path) -> list[str]:
    """Anything next to ``dest`` that an extraction left behind."""
    return sorted(p.name for p in parent.iterdir() if p != dest)


FILES = {
    "lambda_function.py": b"def handler(event, context):\n    return event\n",
    "pkg/__init__.py": b"",
    "pkg/data/table.csv": b"a,b\n1,2\n",
    "bin/tool": b"#!/bin/sh\necho tool\n",
}


@pytest.fixture
def package() -> bytes:
    return build_zip(FILES, executable={"bin/tool"})


# --- safe_extract ----------------------------------------------------------------------


def test_extracts_read_only_and_keeps_executable_bits(tmp_path: Path, package: bytes) -> None:
    dest = tmp_path / "out"

    size = safe_extract(package, dest)

    assert size == sum(map(len, FILES.values()))
    for name, data in FILES.items():
        assert (dest / name).read_bytes() == data
    assert mode(dest / "bin" / "tool") == 0o555
    assert mode(dest / "lambda_function.py") == 0o444
    assert mode(dest / "pkg" / "data" / "table.csv") == 0o444
    assert {mode(d) for d in [dest, dest / "pkg", dest / "pkg" / "data", dest / "bin"]} == {0o555}
    assert leftovers(tmp_path, dest) == []


def test_extracts_from_a_path(tmp_path: Path, package: bytes) -> None:
    source = tmp_path / "code.zip"
    source.write_bytes(package)

    safe_extract(source, tmp_path / "out")

    assert (tmp_path / "out" / "pkg" / "data" / "table.csv").read_bytes() == b"a,b\n1,2\n"


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_every_compression_lambda_accepts(tmp_path: Path, compression: int) -> None:
    data = bytes(range(256)) * 300
    archive = make_zip(
        [("d/", b"", stat.S_IFDIR | 0o755), ("d/x.bin", data, 0o100644)], compression
    )

    assert safe_extract(archive, tmp_path / "out") == len(data)
    assert (tmp_path / "out" / "d" / "x.bin").read_bytes() == data


def test_symlinks_inside_the_package_are_kept(tmp_path: Path) -> None:
    archive = make_zip(
        [
            ("src/app.py", b"X = 1\n", 0o100644),
            ("app.py", b"src/app.py", stat.S_IFLNK | 0o777),
            ("src/up", b"..", stat.S_IFLNK | 0o777),
        ]
    )

    safe_extract(archive, tmp_path / "out")

    assert os.readlink(tmp_path / "out" / "app.py") == "src/app.py"
    assert (tmp_path / "out" / "app.py").read_bytes() == b"X = 1\n"
    assert (tmp_path / "out" / "src" / "up").resolve() == (tmp_path / "out").resolve()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [("ok.py", b"", 0o100644), ("../../evil.py", b"x", 0o100644)],
            "Could not unzip uploaded file: member '../../evil.py' has a '..' path component.",
        ),
        (
            [("/tmp/evil.py", b"x", 0o100644)],
            "Could not unzip uploaded file: member '/tmp/evil.py' has an absolute path.",
        ),
        (
            [("ok.py", b"", 0o100644), ("link", b"../outside", stat.S_IFLNK | 0o777)],
            "Could not unzip uploaded file: symbolic link 'link' points to '../outside', "
            "outside the package.",
        ),
        (
            [("etc", b"/etc", stat.S_IFLNK | 0o777)],
            "Could not unzip uploaded file: symbolic link 'etc' points to '/etc', "
            "outside the package.",
        ),
        (
            # Each link looks inside on paper; followed for real, the second one is not.
            [
                ("d/link", b"..", stat.S_IFLNK | 0o777),
                ("d/link2", b"link/..", stat.S_IFLNK | 0o777),
            ],
            "Could not unzip uploaded file: symbolic link 'd/link2' points to 'link/..', "
            "outside the package.",
        ),
        ([("a", b"file", 0o100644), ("a/b", b"file under a file", 0o100644)], UNZIP_FAILED),
        (
            # A member under a link would be written through it: refused.
            [("lnk", b"sub", stat.S_IFLNK | 0o777), ("lnk/x", b"y", stat.S_IFLNK | 0o777)],
            UNZIP_FAILED,
        ),
        ([("lnk", b"a", stat.S_IFLNK | 0o777), ("lnk", b"b", stat.S_IFLNK | 0o777)], UNZIP_FAILED),
    ],
    ids=[
        "dotdot",
        "absolute",
        "link-up",
        "link-absolute",
        "link-chain",
        "file-vs-dir",
        "link-under-link",
        "duplicate-link",
    ],
)
@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
def test_refused_archives_leave_nothing(
    tmp_path: Path, entries: list[tuple[str, bytes, int]], message: str
) -> None:
    dest = tmp_path / "out"

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        safe_extract(make_zip(entries), dest)

    assert not dest.exists()
    assert leftovers(tmp_path, dest) == []
    assert not (tmp_path.parent / "outside").exists()


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x05\x06 nope", make_zip([("a", b"abc" * 999, 0o100644)])[:-40]],
    ids=["empty", "junk", "truncated"],
)
def test_not_a_zip_leaves_nothing(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)):
        safe_extract(data, tmp_path / "out")

    assert list(tmp_path.iterdir()) == []


def test_honest_compressible_member_over_quota_is_refused_from_headers(tmp_path: Path) -> None:
    archive = make_zip([("zeros.bin", bytes(5_000_000), 0o100644)])
    assert len(archive) < 10_000

    with pytest.raises(
        InvalidParameterValueException,
        match=exact("Unzipped size must be smaller than 1000000 bytes"),
    ):
        safe_extract(archive, tmp_path / "out", max_unzipped=1_000_000)

    assert list(tmp_path.iterdir()) == []


def test_bomb_with_lying_headers_stops_at_the_quota(tmp_path: Path) -> None:
    bomb = lying_bomb(real_mib=64)  # claims 10 bytes

    with ZipReader(bomb, max_unzipped=3_000_000) as reader:
        assert reader.declared_size == 10
        (member,) = reader.members
        with pytest.raises(
            InvalidParameterValueException,
            match=exact("Unzipped size must be smaller than 3000000 bytes"),
        ):
            for _ in reader.chunks(member):
                pass
        # Stopped within one step of the quota, not after 64 MiB.
        assert 3_000_000 < reader.extracted_size <= 3_000_000 + (1 << 20)

    with pytest.raises(
        InvalidParameterValueException,
        match=exact("Unzipped size must be smaller than 3000000 bytes"),
    ):
        safe_extract(bomb, tmp_path / "out", max_unzipped=3_000_000)
    assert list(tmp_path.iterdir()) == []


def test_bomb_with_lying_headers_at_the_aws_quota(tmp_path: Path) -> None:
    bomb = lying_bomb(real_mib=300)

    with pytest.raises(
        InvalidParameterValueException,
        match=exact("Unzipped size must be smaller than 262144000 bytes"),
    ):
        safe_extract(bomb, tmp_path / "out")

    assert list(tmp_path.iterdir()) == []


def test_sizes_that_differ_from_headers_are_corrupt(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)):
        safe_extract(lying_bomb(real_mib=1), tmp_path / "out")

    assert list(tmp_path.iterdir()) == []


def test_existing_destination(tmp_path: Path, package: bytes) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    empty = tmp_path / "empty"
    empty.mkdir()

    with pytest.raises(FileExistsError):
        safe_extract(package, full)
    safe_extract(package, empty)

    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    assert (empty / "lambda_function.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]


# --- ArtifactStore ---------------------------------------------------------------------


def test_put_is_content_addressed_idempotent_and_read_only(tmp_path: Path, package: bytes) -> None:
    store = ArtifactStore(tmp_path / "store")

    sha = store.put(package)

    assert sha == hashlib.sha256(package).hexdigest()
    assert store.path(sha) == tmp_path / "store" / "code" / sha[:2] / f"{sha}.zip"
    assert store.exists(sha)
    assert store.get(sha) == package
    assert mode(store.path(sha)) == 0o444
    assert store.put(package) == sha
    assert os.listdir(store.path(sha).parent) == [f"{sha}.zip"]  # no temp files left


def test_missing_and_corrupt_artifacts(tmp_path: Path, package: bytes) -> None:
    store = ArtifactStore(tmp_path)
    absent = "0" * 64

    assert not store.exists(absent)
    with pytest.raises(StoreError, match=f"code artifact {absent} is missing"):
        store.get(absent)
    with pytest.raises(StoreError, match=f"code artifact {absent} is missing"):
        store.extracted(absent)

    sha = store.put(package)
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(package + b"tampered")
    with pytest.raises(StoreError, match=f"code artifact {sha} in .* is corrupt"):
        store.get(sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "a" * 63, "A" * 64])
def test_only_hex_sha256_names(tmp_path: Path, bad: str) -> None:
    store = ArtifactStore(tmp_path)

    with pytest.raises(ValueError, match="not a lowercase hex SHA-256"):
        store.path(bad)
    with pytest.raises(ValueError, match="not a lowercase hex SHA-256"):
        store.extracted(bad)


def test_extracted_once_and_read_only(tmp_path: Path, package: bytes) -> None:
    store = ArtifactStore(tmp_path)
    sha = store.put(package)

    first = store.extracted(sha)

    assert first == tmp_path / "extracted" / sha
    assert (first / "pkg" / "data" / "table.csv").read_bytes() == b"a,b\n1,2\n"
    assert mode(first / "bin" / "tool") == 0o555
    assert mode(first / "lambda_function.py") == 0o444
    assert mode(first) == 0o555
    inode = os.stat(first).st_ino
    assert store.extracted(sha) == first
    assert os.stat(first).st_ino == inode


def test_extracted_from_many_threads(tmp_path: Path, package: bytes) -> None:
    stores = [ArtifactStore(tmp_path), ArtifactStore(tmp_path)]  # two "processes"
    sha = stores[0].put(package)
    start = threading.Barrier(8)
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker(store: ArtifactStore) -> None:
        start.wait()
        try:
            results.append(store.extracted(sha))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(stores[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert results == [tmp_path / "extracted" / sha] * 8
    assert os.listdir(tmp_path / "extracted") == [sha]  # no temp dirs left
    assert (results[0] / "lambda_function.py").read_bytes() == FILES["lambda_function.py"]


def test_extracted_uses_the_winner_when_it_loses_the_rename(
    tmp_path: Path, package: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ArtifactStore(tmp_path)
    sha = store.put(package)
    other_process = ArtifactStore(tmp_path)
    real_rename = os.rename

    def rename_after_someone_else(src: str, dst: str) -> None:
        # Another process finishes its extraction first.
        monkeypatch.setattr(artifacts.os, "rename", real_rename)
        winner = other_process.extracted(sha)
        (winner / "lambda_function.py").stat()
        real_rename(src, dst)

    monkeypatch.setattr(artifacts.os, "rename", rename_after_someone_else)

    path = store.extracted(sha)

    assert path == tmp_path / "extracted" / sha
    assert (path / "lambda_function.py").read_bytes() == FILES["lambda_function.py"]
    assert os.listdir(tmp_path / "extracted") == [sha]


def test_remove_unreferenced(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    kept, dropped, extracted_only = (
        store.put(build_zip({"n.txt": str(n).encode()})) for n in range(3)
    )
    store.extracted(kept)
    store.extracted(dropped)
    store.extracted(extracted_only)
    store.path(extracted_only).chmod(0o644)
    store.path(extracted_only).unlink()
    crashed_put = store.path(dropped).parent / f".{dropped}.abcd.tmp"
    crashed_put.write_bytes(b"half")

    removed = store.remove_unreferenced({kept})

    assert removed == 2
    assert store.exists(kept)
    assert store.extracted(kept).is_dir()
    assert not store.exists(dropped)
    assert not crashed_put.exists()
    assert sorted(os.listdir(tmp_path / "extracted")) == [kept]
    assert sorted(os.listdir(tmp_path / "code")) == [kept[:2]]
    assert store.remove_unreferenced({kept}) == 0


# --- the /opt of a list of layers --------------------------------------------------------


def test_layers_merge_in_order_and_the_later_one_wins_every_conflict(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    first = store.put(
        make_zip(
            [
                ("python/a.py", b"A = 1\n", 0o100644),
                ("same.txt", b"first", 0o100644),
                ("thing", b"a file in the first layer", 0o100644),
                ("dir/inner.txt", b"inner", 0o100644),
                ("bin/tool", b"#!/bin/sh\n", 0o100755),
            ]
        )
    )
    second = store.put(
        make_zip(
            [
                ("python/b.py", b"B = 2\n", 0o100644),
                ("same.txt", b"second", 0o100644),
                ("thing/now-a-dir.txt", b"a directory in the second layer", 0o100644),
                ("dir", b"a file replaces the directory", 0o100644),
                ("link", b"python/a.py", 0o120777),
            ]
        )
    )
    merged = store.layered([first, second])
    assert merged is not None
    assert sorted(os.listdir(merged / "python")) == ["a.py", "b.py"]  # directories merge
    assert (merged / "same.txt").read_text() == "second"
    assert (merged / "thing" / "now-a-dir.txt").is_file()
    assert (merged / "dir").read_text() == "a file replaces the directory"
    assert os.readlink(merged / "link") == "python/a.py"
    assert os.access(merged / "bin" / "tool", os.X_OK)
    assert stat.S_IMODE(os.stat(merged / "python").st_mode) == 0o555  # read-only
    reverse = store.layered([second, first])
    assert reverse is not None and reverse != merged
    assert (reverse / "same.txt").read_text() == "first"
    assert (reverse / "thing").read_text() == "a file in the first layer"
    assert (reverse / "dir" / "inner.txt").read_text() == "inner"


def test_merging_is_safe_between_threads(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    shas = [store.put(make_zip([(f"f{i}.txt", b"x", 0o100644)])) for i in range(3)]
    results: list[Path | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.layered(shas))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(set(results)) == 1 and results[0] is not None
    assert sorted(os.listdir(results[0])) == ["f0.txt", "f1.txt", "f2.txt"]
    assert [p.name for p in (tmp_path / "opt").iterdir()] == [results[0].name]  # no leftovers
