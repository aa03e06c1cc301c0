"""Rung records of an adaptive search: created once, listed in one ``listdir``.

    <storage_dir>/rungs/bracket<b>/step<s>/      one folder per rung, made on first use (mkdir)
        <trial>              the record: its content is the value (``repr(float)``)
        <trial>=<value>      a hard link of the record, the value in its name: one listing ranks the rung
        <trial>.decision     stop mode: "continue" or "stop"
        <trial>.promoted     promote mode: the promotion of <trial> out of this rung

Every file that decides something is created by ``link(<complete temp file>, <name>)``: link(2)
fails with EEXIST when the name exists, atomically, on local filesystems and on NFSv3+ (the
server decides; an NFS retransmission that answers EEXIST for a link this process made is told
apart by the inode), so exactly one process creates each name and the losers read the winner's
content, which is complete since it was written before the link. A record is therefore made
once per trial and rung however many processes (a resumed run, a run that lost its claim, ...)
try; a decision is taken once; a promotion happens once.

A crash between the record's link and its alias's leaves a record without alias: whoever lists
the rung links the alias for it (``read_rung``). An alias is trusted only when it is the same
file as its record (same inode, given by the listing itself), so a name planted by hand ranks
nothing. Nothing here follows a symbolic link: rung folders are opened with O_NOFOLLOW, files
read with ``fsio.read_regular``, and names that are not a trial id are ignored.
"""
from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field

from alfred.protocol.fsio import RefusedFile, read_regular, stall_point, write_new
from alfred.protocol.layout import DECISION_SUFFIX, PROMOTED_SUFFIX, rung_dir

__all__ = ["Rung", "RefusedFile", "check_trial", "ensure_rung_dir", "record", "read_rung", "read_record", "decide",
           "read_decision", "promote", "is_promoted", "CONTINUE", "STOP"]

TRIAL_RE = re.compile(r"experiment\d{1,9}-seed-?\d{1,9}")
CONTINUE, STOP = "continue", "stop"
_MAX_VALUE_BYTES = 64  # a repr(float) is at most 24 characters


def check_trial(trial: str) -> str:
    """``trial`` if it is a trial id (``experiment<N>-seed<M>``); ValueError otherwise (no '/', no '=')."""
    if not isinstance(trial, str) or TRIAL_RE.fullmatch(trial) is None:
        raise ValueError(f"not a trial id (experiment<N>-seed<M>): {trial!r}")
    return trial


def ensure_rung_dir(storage_dir: str | os.PathLike, bracket: int, step: int) -> str:
    """The rung's folder, made if missing (each level by mkdir); OSError if a level is not a real folder."""
    path = rung_dir(storage_dir, bracket, step)
    try:
        _check_dir(path)
        return path
    except FileNotFoundError:
        pass
    base = os.fspath(storage_dir)
    for part in os.path.relpath(path, base).split(os.sep):
        base = os.path.join(base, part)
        try:
            os.mkdir(base)
        except FileExistsError:
            pass
        _check_dir(base)
    return path


def _check_dir(path: str) -> None:
    """FileNotFoundError if missing; NotADirectoryError/RefusedFile if it is a link or a file, never followed."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    os.close(fd)


def _link_new(folder: str, name: str, data: bytes) -> bool:
    """Create ``folder/name`` holding ``data`` by link(2) of a complete temp file: True if this call
    created it, False if it existed (then its content is another process's, complete)."""
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    write_new(tmp, data)
    try:
        os.link(tmp, os.path.join(folder, name), follow_symlinks=False)
        return True
    except FileExistsError:
        try:  # an NFS retransmission of our own link answers EEXIST: the inode says it was ours
            return os.lstat(tmp).st_nlink > 1
        except OSError:
            return False
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _read_text(path: str) -> str:
    return read_regular(path, max_bytes=_MAX_VALUE_BYTES, truncate=True).decode("ascii", "replace").strip()


def read_record(folder: str, trial: str) -> float | None:
    """The value recorded for ``trial`` in the rung folder, or None (no record, or unreadable)."""
    try:
        return float(_read_text(os.path.join(folder, check_trial(trial))))
    except (OSError, ValueError):
        return None


def record(storage_dir: str | os.PathLike, bracket: int, step: int, trial: str, value: float) -> float:
    """Record ``value`` for ``trial`` at the rung, once: THE value of the trial there is returned,
    this one if this call made the record, else the one recorded first (by a previous attempt)."""
    folder = ensure_rung_dir(storage_dir, bracket, step)
    check_trial(trial)
    text = repr(float(value))
    if not _link_new(folder, trial, text.encode()):
        found = read_record(folder, trial)
        if found is None:
            raise RefusedFile(errno.EINVAL, f"{os.path.join(folder, trial)}: a rung record that is not a value "
                                            "alfred wrote (a link, a FIFO, other text): not read")
        value, text = found, repr(found)
    stall_point("between_record_and_alias")
    _link_alias(folder, trial, text)
    return float(value)


def _link_alias(folder: str, trial: str, text: str) -> None:
    try:
        os.link(os.path.join(folder, trial), os.path.join(folder, f"{trial}={text}"), follow_symlinks=False)
    except FileExistsError:
        pass


@dataclass
class Rung:
    """One listing of a rung: its records (trial, value) and the trials promoted out of it."""

    records: list[tuple[str, float]] = field(default_factory=list)
    promoted: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)
    repaired: int = 0  # records whose alias this listing linked


def read_rung(storage_dir: str | os.PathLike, bracket: int, step: int, *, repair: bool = True) -> Rung:
    """The rung's records, promotions and decisions from one listing (empty if the rung has no folder).

    A record without its alias (its maker died in between) is read and, unless ``repair`` is
    False (readers that write nothing: status, summaries), its alias linked here.
    """
    folder = rung_dir(storage_dir, bracket, step)
    rung = Rung()
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return rung
    except OSError as e:  # a symlink planted as a rung folder (ELOOP): nothing recorded there counts
        if e.errno in (errno.ELOOP, errno.EMLINK):
            return rung
        raise
    try:
        with os.scandir(fd) as it:  # d_type and inode come with the listing: no system call per entry
            entries = [(e.name, e.inode()) for e in it if e.is_file(follow_symlinks=False)]
    finally:
        os.close(fd)
    records: dict[str, int] = {}  # the records (names that are trial ids) and their inodes
    aliases, promoted, decided = [], [], []
    for name, inode in entries:  # one regex per record; an alias counts only beside its record
        if "=" in name:
            aliases.append((name, inode))
        elif name.endswith(PROMOTED_SUFFIX):
            promoted.append(name[:-len(PROMOTED_SUFFIX)])
        elif name.endswith(DECISION_SUFFIX):
            decided.append(name[:-len(DECISION_SUFFIX)])
        elif "." not in name and TRIAL_RE.fullmatch(name):
            records[name] = inode
    values: dict[str, float] = {}
    doubtful: set[str] = set()  # two aliases that are the record's file (a hard link planted): the record decides
    for name, inode in aliases:
        trial, _, text = name.partition("=")
        if records.get(trial) == inode:  # an alias counts only as its record's file
            value = _float(text)
            if trial in values or value is None:
                doubtful.add(trial)
            values[trial] = value
    rung.promoted = {t for t in promoted if t in records or TRIAL_RE.fullmatch(t)}  # a record's name: a trial id
    rung.decided = {t for t in decided if t in records or TRIAL_RE.fullmatch(t)}
    for name in records:  # records without alias (their maker died, or is between the two links): repaired here
        if name not in values:
            value = read_record(folder, name)
            if value is not None:
                if repair:
                    _link_alias(folder, name, repr(value))
                    rung.repaired += 1
                values[name] = value
    for trial in doubtful:
        value = read_record(folder, trial)
        if value is None:
            del values[trial]
        else:
            values[trial] = value
    rung.records = list(values.items())
    return rung


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def decide(storage_dir: str | os.PathLike, bracket: int, step: int, trial: str, decision: str) -> str:
    """Store the stop-mode decision of ``trial`` at the rung, once: THE decision is returned (this
    one, or the one stored first)."""
    if decision not in (CONTINUE, STOP):
        raise ValueError(f"a decision is {CONTINUE!r} or {STOP!r}, not {decision!r}")
    folder = ensure_rung_dir(storage_dir, bracket, step)
    if _link_new(folder, check_trial(trial) + DECISION_SUFFIX, decision.encode()):
        return decision
    found = read_decision(storage_dir, bracket, step, trial)
    return found if found is not None else decision


def read_decision(storage_dir: str | os.PathLike, bracket: int, step: int, trial: str) -> str | None:
    """The stored decision of ``trial`` at the rung, or None."""
    try:
        text = _read_text(os.path.join(rung_dir(storage_dir, bracket, step), check_trial(trial) + DECISION_SUFFIX))
    except OSError:
        return None
    return text if text in (CONTINUE, STOP) else None


def promote(storage_dir: str | os.PathLike, bracket: int, step: int, trial: str, facts: bytes = b"") -> bool:
    """Promote ``trial`` out of the rung: True if this call made THE promotion (``<trial>.promoted``
    created by link), False if it was promoted already."""
    folder = ensure_rung_dir(storage_dir, bracket, step)
    return _link_new(folder, check_trial(trial) + PROMOTED_SUFFIX, facts)


def is_promoted(storage_dir: str | os.PathLike, bracket: int, step: int, trial: str) -> bool:
    """Whether ``trial`` was promoted out of the rung (a regular ``<trial>.promoted`` exists)."""
    path = os.path.join(rung_dir(storage_dir, bracket, step), check_trial(trial) + PROMOTED_SUFFIX)
    try:
        return os.lstat(path).st_mode & 0o170000 == 0o100000
    except OSError:
        return False
